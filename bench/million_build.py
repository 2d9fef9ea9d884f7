"""Building the 1M-record demo databases of bench_million.py (cached between runs).

`karte demo` writes about 300 records a second on this machine (validation, audit, stage
history per record), so 1M records would take about an hour per database. Instead:

1. a **seed**: `karte demo --size size/copies --seed 1` once, on SQLite
   (`instance/bench-million-seed-<n>.db`, cached);
2. the seed is copied into the target (the SQLite file is copied; PostgreSQL gets the seed's
   rows table by table into a schema migrated by Karte itself);
   The PostgreSQL schema is reused when it holds `copies` times the seed's records;
3. on the target, every record table, junction, audit row, stage move and note is copied
   `copies - 1` more times by `INSERT ... SELECT` inside the database: ids are shifted by a
   multiple of the seed's largest id of their table, and so are links (each copy's deals
   link to the same copy's customers), junctions and the `record_id` of audit rows, stage
   moves and notes. Values that must be unique (`unique` fields: sku, email, the `series`
   numbers) get a prefix `c<k>.`. Users are shared by every copy (owners spread as in
   the demo). Then ANALYZE (PostgreSQL: VACUUM ANALYZE, for index-only scans).

So the data is the demo's, ten times over: the same shapes, links, stages, audit and moves,
with the demo's distributions; titles repeat once per copy.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from karte.config import REPO_ROOT

# karte_stage_totals is not copied: `replicate` rebuilds it from the copied records
SKIP = {"karte_session", "karte_schema_history", "karte_series", "karte_user",
        "karte_stage_totals"}
BY_RECORD = ("karte_audit", "karte_stage_move", "karte_note")


def _pack():
    from karte.meta.load import load_pack

    return load_pack(REPO_ROOT)


def record_count(engine: sa.Engine, pack) -> int:
    """Records of the pack's entities that are not lines (what `--size` counts)."""
    from karte.store.tables import build_metadata

    tables = build_metadata(pack).tables
    with engine.connect() as conn:
        try:
            return sum(conn.scalar(sa.select(sa.func.count()).select_from(tables[e.name]))
                       for e in pack.entities.values() if e.part_of is None)
        except sa.exc.DBAPIError:
            return -1


def _brought_up_to_date(path: Path) -> None:
    """A cached database built with an earlier pack gets the pack's new tables and columns
    (the safe part of the migration, empty): a bench never fails on a table a newer pack
    declared after the cache was made."""
    from karte.store.db import make_engine
    from karte.store.migrate import migrate

    engine = make_engine(f"sqlite:///{path}")
    migrate(engine, _pack())
    engine.dispose()


def build_seed(path: Path, size: int) -> None:
    from karte.demo import fill
    from karte.store.db import make_engine
    from karte.store.migrate import migrate

    if path.exists():
        _brought_up_to_date(path)
        return
    print(f"building the seed {path.name}: karte demo --size {size:,} (once) ...", flush=True)
    start = time.perf_counter()
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{partial}")
    pack = _pack()
    migrate(engine, pack)
    fill(engine, pack, size=size, seed=1, if_empty=False, instance=path.parent,
         echo=lambda *_: None)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    partial.rename(path)
    print(f"  seed built in {time.perf_counter() - start:,.0f} s", flush=True)


def _copy_seed_into(seed: Path, engine: sa.Engine, pack) -> None:
    """The seed's rows into `engine`'s (empty, migrated) tables, in dependency order."""
    from karte.store.tables import build_metadata

    source = sa.create_engine(f"sqlite:///{seed}")
    metadata = build_metadata(pack, engine.dialect.name)
    tables = [t for t in metadata.sorted_tables
              if t.name not in ("karte_schema_history", "karte_session")]
    with source.connect() as src, engine.begin() as dst:
        for table in reversed(tables):
            dst.execute(table.delete())
        later = []
        for table in tables:
            cyclic = _cyclic(table)
            result = src.execute(sa.select(table)).mappings()
            while batch := result.fetchmany(5000):
                rows = [dict(row) for row in batch]
                later += [(table, name, row["id"], row[name]) for row in rows
                          for name in cyclic if row[name] is not None]
                dst.execute(table.insert(), [{**r, **dict.fromkeys(cyclic)} for r in rows])
        for table, name, id, value in later:
            dst.execute(table.update().where(table.c.id == id).values({name: value}))
    source.dispose()


def _cyclic(table: sa.Table) -> list[str]:
    """Columns whose foreign key closes a cycle (customer <-> contact): written after
    every table has its rows, since PostgreSQL checks them at each statement."""
    return [c.name for c in table.c if any(fk.constraint is not None
                                           and fk.constraint.use_alter
                                           for fk in c.foreign_keys)]


def _unique_columns(table: sa.Table) -> set[str]:
    names = set()
    for index in table.indexes:
        if index.unique and len(index.columns) == 1:
            names |= {c.name for c in index.columns}
    return names


def replicate(engine: sa.Engine, pack, copies: int) -> None:
    """Copy the seed's rows `copies - 1` more times inside the database (see above), then
    count the boards' stages afresh."""
    from karte.store import stage_totals
    from karte.store.tables import build_metadata

    metadata = build_metadata(pack, engine.dialect.name)
    tables = [t for t in metadata.sorted_tables if t.name not in SKIP]
    with engine.connect() as conn:
        top = {t.name: conn.scalar(sa.select(sa.func.max(t.c.id))) or 0
               for t in tables if "id" in t.c}
    entities = [name for name in top if name in pack.entities]
    with engine.begin() as conn:
        for k in range(1, copies):
            for table in tables:
                conn.execute(_copy(table, k, top, entities))
            for table in tables:
                for name in _cyclic(table):
                    conn.execute(_relink(table, name, k, top))
            print(f"  copy {k + 1}/{copies} done", flush=True)
        stage_totals.rebuild(conn, pack, {e.name: metadata.tables[e.table_name]
                                          for e in pack.entities.values()})
        if engine.dialect.name == "postgresql":
            for table in tables:
                if "id" in table.c:
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                        f"(SELECT max(id) FROM \"{table.name}\"))")


def _relink(table: sa.Table, name: str, k: int, top: dict[str, int]):
    """Copy k's cyclic link `name`: the seed row's value, shifted like the other links."""
    seed = table.alias("seed")
    target = next(iter(table.c[name].foreign_keys)).column.table.name
    shift = k * top[table.name]
    value = (sa.select(seed.c[name] + k * top[target])
             .where(seed.c.id == table.c.id - shift).scalar_subquery())
    return (table.update().where(table.c.id > shift, table.c.id <= shift + top[table.name])
            .values({name: value}))


def _copy(table: sa.Table, k: int, top: dict[str, int], entities: list[str]):
    unique, cyclic = _unique_columns(table), _cyclic(table)
    columns, exprs = [], []
    for column in table.c:
        expr: sa.ColumnElement = column
        targets = {fk.column.table.name for fk in column.foreign_keys}
        if column.name == "id":
            expr = column + k * top[table.name]
        elif column.name in cyclic:
            expr = sa.null()
        elif targets and next(iter(targets)) in top and next(iter(targets)) != "karte_user":
            expr = column + k * top[next(iter(targets))]
        elif table.name in BY_RECORD and column.name == "record_id":
            expr = column + sa.case(
                *[(table.c.entity == name, k * top[name]) for name in entities], else_=0)
        elif column.name in unique and isinstance(column.type, sa.String):
            expr = sa.literal(f"c{k}.") + column
        columns.append(column.name)
        exprs.append(expr)
    source = sa.select(*exprs)
    if "id" in table.c:
        source = source.where(table.c.id <= top[table.name])
    else:   # a junction: the seed's rows are those whose source is a seed record
        src = next(c for c in table.c if c.name == "source_id")
        target = next(iter(src.foreign_keys)).column.table.name
        source = source.where(src <= top[target])
    return table.insert().from_select(columns, source)


def build_sqlite(path: Path, seed: Path, size: int, copies: int) -> float | None:
    """The 1M SQLite file (cached); the seconds it took, or None when it was there."""
    from karte.store.db import make_engine

    if path.exists():
        _brought_up_to_date(path)
        return None
    start = time.perf_counter()
    build_seed(seed, size // copies)
    partial = path.with_suffix(".partial")
    shutil.copyfile(seed, partial)
    print(f"replicating the seed {copies}× into {path.name} ...", flush=True)
    engine = make_engine(f"sqlite:///{partial}")
    pack = _pack()
    replicate(engine, pack, copies)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    partial.rename(path)
    return time.perf_counter() - start


def build_postgres(url: str, seed: Path, size: int, copies: int) -> float | None:
    """The 1M PostgreSQL schema (cached: reused when its record count is `size`)."""
    from karte.store.db import make_engine
    from karte.store.migrate import migrate

    engine = make_engine(url)
    pack = _pack()
    migrate(engine, pack, apply_risky=True)
    start = time.perf_counter()
    build_seed(seed, size // copies)
    wanted = record_count(make_engine(f"sqlite:///{seed}"), pack) * copies
    if record_count(engine, pack) == wanted:    # the cached schema is complete
        engine.dispose()
        return None
    print(f"copying the seed into PostgreSQL and replicating it {copies}× ...", flush=True)
    _copy_seed_into(seed, engine, pack)
    replicate(engine, pack, copies)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return time.perf_counter() - start


def targets(size: int, pg: str | None, only: str | None) -> dict[str, Callable[[], tuple]]:
    """The databases a bench of `size` records runs on, each built on first use: the
    cached SQLite file, and PostgreSQL (a schema of `pg`, when given and reachable);
    `only` picks one of them by name."""
    from common import pg_schema_url

    instance = REPO_ROOT / "instance"
    seed = instance / f"bench-million-seed-{size // 10}.db"
    db = instance / f"bench-million-{size}.db"
    found: dict[str, Callable[[], tuple]] = {}
    if only in (None, "sqlite"):
        found["sqlite"] = lambda: (build_sqlite(db, seed, size, 10), f"sqlite:///{db}")
    if pg and only in (None, "postgresql") and (
            url := pg_schema_url(pg, f"bench_million_{size}")):
        found["postgresql"] = lambda: (build_postgres(url, seed, size, 10), url)
    return found
