"""CSV export by keyset (docs/ui-lists.md, "Export"): is every 50k rows as fast as the first?

    .venv/bin/python bench/bench_export.py [--rows 250000] [--batch 500] [--sort name]
                                          [--db PATH | --url postgresql+psycopg://...]
    .venv/bin/python bench/bench_export.py --files ...   (CSV and XLSX files, peak RSS:
                                                          see export_files.py)

Builds once (cached at --db, default instance/bench-export-<rows>.db; with --url, in the
schema `bench_export_<rows>` of that PostgreSQL database) a table of N items — a name with
duplicates and empty ones, a number, a date, scattered `updated_at` (the list's default
sort, `-updated_at`; `name` and `size` are filters, so indexed as a pack would have them)
— then reads all of it through
`Records.iterate` (what `/<entity>/export.csv` reads) in the list's order, and prints the
time of every 50k rows from the first to the last, beside the same keyset query written by
hand with SQLAlchemy Core (the baseline) and, for the first and last 50k, the LIMIT/OFFSET
paging the export used before. Memory: the tracemalloc peak of each 50k (flat = constant).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from karte.config import REPO_ROOT
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.db import make_engine
from karte.store.migrate import migrate

CHUNK = 50_000
ENTITIES = {"item": {"name": "item", "title_field": "name", "fields": {
    "name": {"type": "string"}, "size": {"type": "integer"}, "due": {"type": "date"}},
    "list": {"sort": "-updated_at", "filters": ["name", "size"]}}}
WORDS = ["alpha", "beta", "gamma", "delta", "Epsilon", "zeta", "eta", "Theta", "iota"]


def _pack(root: Path) -> Any:
    (root / "entity_defs").mkdir(parents=True, exist_ok=True)
    for name, body in ENTITIES.items():
        (root / "entity_defs" / f"{name}.json").write_text(json.dumps(body), encoding="utf-8")
    return load_pack(root)


def _engine(args: argparse.Namespace) -> sa.Engine:
    if not args.url:
        db = Path(args.db or REPO_ROOT / "instance" / f"bench-export-{args.rows}.db")
        db.parent.mkdir(parents=True, exist_ok=True)
        return make_engine(f"sqlite:///{db}")
    schema = f"bench_export_{args.rows}"
    with sa.create_engine(args.url).begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    sep = "&" if "?" in args.url else "?"
    return make_engine(f"{args.url}{sep}options=-csearch_path%3D{schema}")


def build(engine: sa.Engine, records: Records, rows: int) -> None:
    table = records.store.table("item")
    with engine.connect() as conn:
        have = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    if have >= rows:
        return
    print(f"building {rows:,} items (once) ...", flush=True)
    rng = random.Random(11)
    now = records.store.clock()
    batch = []
    with engine.begin() as conn:
        for n in range(have, rows):
            word = rng.choice(WORDS)
            batch.append({"name": None if n % 17 == 0 else f"{word} {rng.randrange(rows // 3)}",
                          "size": None if n % 11 == 0 else rng.randrange(1000),
                          "due": None, "created_at": now, "version": 1,
                          "updated_at": now - dt.timedelta(seconds=rng.randrange(rows))})
            if len(batch) == 10_000:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def _hand_keyset(engine: sa.Engine, table: sa.Table, sort: str, batch: int
                 ) -> Iterator[list[Any]]:
    """The baseline: (key, id) > (last key, last id) (`<` descending), then the rows
    without a key by id."""
    column, descending = table.c[sort.lstrip("-")], sort.startswith("-")
    step: Any = (lambda c: c.desc()) if descending else (lambda c: c.asc())
    live = table.c.deleted_at.is_(None)
    base = (sa.select(table).where(live, column.is_not(None))
            .order_by(step(column), step(table.c.id)))
    last = None
    while True:
        pair, bound = sa.tuple_(column, table.c.id), sa.tuple_(*last) if last else None
        query = base if last is None else base.where(pair < bound if descending
                                                     else pair > bound)
        with engine.connect() as conn:
            rows = conn.execute(query.limit(batch)).all()
        if rows:
            last = (getattr(rows[-1], column.name), rows[-1].id)
            yield rows
        if len(rows) < batch:
            break
    empty = sa.select(table).where(live, column.is_(None)).order_by(step(table.c.id))
    after = None
    while True:
        query = empty if after is None else empty.where(
            table.c.id < after if descending else table.c.id > after)
        with engine.connect() as conn:
            rows = conn.execute(query.limit(batch)).all()
        if rows:
            after = rows[-1].id
            yield rows
        if len(rows) < batch:
            return


def _offset(records: Records, sort: str, batch: int, start: int, stop: int
            ) -> Iterator[list[Any]]:
    for offset in range(start, stop, batch):
        yield records.query("item", sort=sort, limit=batch, offset=offset)


def timed(batches: Iterator[list[Any]], memory: bool = False) -> list[tuple[float, int]]:
    """(seconds, tracemalloc peak bytes) of every CHUNK rows."""
    found, rows, mark, start = [], 0, CHUNK, time.perf_counter()
    if memory:
        tracemalloc.start()
    for batch in batches:
        rows += len(batch)
        if rows >= mark:
            peak = tracemalloc.get_traced_memory()[1] if memory else 0
            found.append((time.perf_counter() - start, peak))
            if memory:
                tracemalloc.reset_peak()
            start, mark = time.perf_counter(), mark + CHUNK
    if rows > mark - CHUNK:
        found.append((time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
                      if memory else 0))
    if memory:
        tracemalloc.stop()
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--sort", default="name", help="name, size, updated_at, with - "
                        "for descending")
    parser.add_argument("--db")
    parser.add_argument("--url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        pack = _pack(Path(folder))
        engine = _engine(args)
        migrate(engine, pack)
        records = Records(engine, pack)
        build(engine, records, args.rows)
        table = records.store.table("item")
        run: Callable[[], Iterator[list[Any]]] = lambda: records.iterate(  # noqa: E731
            "item", sort=args.sort, batch=args.batch)
        keyset = timed(run())
        memory = timed(run(), memory=True)
        hand = timed(_hand_keyset(engine, table, args.sort, args.batch))
        last = (args.rows - 1) // CHUNK * CHUNK
        old_first = timed(_offset(records, args.sort, args.batch, 0, CHUNK))[0][0]
        old_last = timed(_offset(records, args.sort, args.batch, last, args.rows))[0][0]
    print(f"{engine.dialect.name}: {args.rows:,} rows, sort {args.sort}, "
          f"batches of {args.batch}")
    print("  rows          keyset s  hand-written s  ratio  peak KiB")
    for n, (seconds, _peak) in enumerate(keyset):
        base = hand[n][0] if n < len(hand) else float("nan")
        print(f"  {n * CHUNK:>7,}-{min((n + 1) * CHUNK, args.rows):<7,} {seconds:8.2f} "
              f"{base:14.2f} {seconds / base:6.2f} {memory[n][1] / 1024:9.0f}")
    ratio = keyset[-1][0] / keyset[0][0]
    print(f"  last/first 50k: {ratio:.2f} (target: constant, ~1)")
    print(f"  old LIMIT/OFFSET: first 50k {old_first:.2f} s, last 50k {old_last:.2f} s "
          f"({old_last / old_first:.1f}x)")
    engine.dispose()


if __name__ == "__main__":
    import sys

    if {"--files", "--files-child"} & set(sys.argv):   # CSV/XLSX files: export_files.py
        import export_files
        export_files.main(sys.argv[1:])
    else:
        main()
