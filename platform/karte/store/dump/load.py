"""`karte load DIR`: a dump back into a database, all or nothing (docs/dump.md).

Before anything is written, `check` (store/dump/check.py) reads the manifest, checks every
file's sha256 and row count, and refuses a dump of other definitions unless `force`.
Then the schema is migrated for the current pack, and in ONE transaction: a non-empty
database is refused (unless `replace`, which empties Karte's tables first), every table
is loaded in batches (COPY on PostgreSQL, executemany on SQLite: store/bulk_insert.py)
with its ids, the foreign keys that form cycles or point into their own table are filled
in afterwards (rows need not come in any order), the derived tables are rebuilt (the
stage counters; the stages each record reached when the dump predates that column; the
SQLite search index follows the rows through its triggers, PostgreSQL's indexes by
themselves), and PostgreSQL's id sequences are moved past the largest id, so that new
records do not collide. Then the planner's statistics are
refreshed (ANALYZE), as after any bulk load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Pack
from karte.store import stage_reached, stage_totals
from karte.store.bulk_insert import insert_rows
from karte.store.db import refresh_statistics
from karte.store.dump.check import LoadPlan, check
from karte.store.dump.format import DERIVED, HISTORY, DumpError, decoder, insert_table
from karte.store.tables import metadata_for

BATCH = 1000
Echo = Callable[[str], Any]
Files = Callable[[Path, dict[str, Any]], None]
"""Puts a dump's files (its manifest's "files") back into the storage."""


def load(engine: sa.Engine, pack: Pack, folder: Path, *, replace: bool = False,
         force: bool = False, echo: Echo = lambda _: None, put_files: Files | None = None
         ) -> LoadPlan:
    """Load the dump in `folder`; the plan it followed. `put_files` (karte.files.transfer)
    puts the dump's files into storage once the checks that need no writing have passed
    and before any table is written: a row never names a file that is not there, and
    files put before a failed load are only unreferenced ones, which a prune removes."""
    from karte.store.migrate import migrate

    manifest, found = check(folder, pack, force=force)
    for text in found.render():
        echo(text)
    files = {e["name"]: folder / e["file"] for e in manifest["tables"]}
    if not replace:  # before the migration writes anything; again in the transaction
        with engine.connect() as conn:
            there = set(sa.inspect(conn).get_table_names())
            _refuse_data(conn, [t for t in metadata_for(pack).sorted_tables
                                if t.name in files and t.name in there and t.name != HISTORY],
                         replace)
    if put_files is not None:
        put_files(folder, manifest)
    migrated = migrate(engine, pack)
    if migrated.blocking:
        raise DumpError("the database does not match the pack yet (steps wait): run "
                        "`karte migrate` first")
    metadata = metadata_for(pack, engine.dialect.name)
    loaded = [t for t in metadata.sorted_tables if t.name in files
              and not (t.name == HISTORY and not found.same_pack)]
    with engine.begin() as conn:
        _refuse_data(conn, [t for t in loaded if t.name != HISTORY], replace)
        if replace:
            _empty(conn, [t for t in metadata.sorted_tables if t.name != HISTORY
                          and t.name not in DERIVED])
        if HISTORY in {t.name for t in loaded}:
            conn.execute(metadata.tables[HISTORY].delete())
        for table in loaded:
            with _naming(files[table.name]):
                rows = _load_table(conn, table, files[table.name])
            echo(f"{table.name}: {rows} rows")
        for table in loaded:
            with _naming(files[table.name]):
                _fill_deferred(conn, table, files[table.name])
        stage_totals.rebuild(conn, pack, {e.name: metadata.tables[e.table_name]
                                          for e in pack.entities.values()})
        # a dump older than the reached-stage columns: filled from the loaded history
        stage_reached.backfill(conn, pack, metadata.tables,
                               stage_reached.missing(pack, found.missing_columns))
        if conn.dialect.name == "postgresql":
            _advance_sequences(conn, metadata)
    refresh_statistics(engine, full=True, tables=[t.name for t in loaded])
    return found


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """A row the database refuses: the file named, the whole load rolled back."""
    try:
        yield
    except sa.exc.DBAPIError as error:
        raise DumpError(f"{path}: a row could not be stored ({error.orig}); nothing was "
                        "loaded") from error
    except (ValueError, KeyError, TypeError, ArithmeticError) as error:
        raise DumpError(f"{path}: a row could not be read ({error!r}); nothing was "
                        "loaded") from error


def _refuse_data(conn: sa.Connection, tables: list[sa.Table], replace: bool) -> None:
    if replace:
        return
    full = [t.name for t in tables
            if conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first()]
    if full:
        raise DumpError(f"the database already holds data (in {', '.join(full[:5])}"
                        f"{', …' if len(full) > 5 else ''}): load into an empty database, "
                        "or pass --replace to delete what it holds first")


def deferred(table: sa.Table) -> list[str]:
    """Foreign-key columns filled after every row is in: keys of a cycle (customer ↔
    contact, marked `use_alter`) and keys into the table itself."""
    return sorted({key.parent.name for key in table.foreign_keys
                   if key.constraint is not None and key.constraint.use_alter
                   or key.column.table is table})


def _empty(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """Delete every row of `tables` (children first; cycle keys cleared before)."""
    for table in tables:
        columns = deferred(table)
        if columns:
            conn.execute(table.update().values({c: None for c in columns}))
    for table in reversed(tables):
        conn.execute(table.delete())


def _rows(path: Path, table: sa.Table) -> Iterator[dict[str, Any]]:
    """The file's rows, decoded for the table's columns (others left out)."""
    decoders = {c.name: decoder(c) for c in table.columns}
    with path.open("rb") as source:
        for text in source:
            row = json.loads(text)
            yield {name: value if (code := decoders[name]) is None else code(value)
                   for name, value in row.items() if name in decoders}


def _load_table(conn: sa.Connection, table: sa.Table, path: Path) -> int:
    later = set(deferred(table))
    target = insert_table(table)
    batch: list[dict[str, Any]] = []
    count = 0
    for row in _rows(path, table):
        for name in later:
            if name in row:
                row[name] = None
        batch.append(row)
        if len(batch) >= BATCH:
            insert_rows(conn, target, batch)
            count += len(batch)
            batch = []
    if batch:
        insert_rows(conn, target, batch)
        count += len(batch)
    return count


def _fill_deferred(conn: sa.Connection, table: sa.Table, path: Path) -> None:
    columns = deferred(table)
    keys = list(table.primary_key.columns)
    if not columns:
        return
    statement = (table.update()
                 .where(*(k == sa.bindparam(f"k_{k.name}") for k in keys))
                 .values({c: sa.bindparam(f"v_{c}") for c in columns}))
    batch: list[dict[str, Any]] = []
    for row in _rows(path, table):
        if all(row.get(c) is None for c in columns):
            continue
        batch.append({**{f"k_{k.name}": row[k.name] for k in keys},
                      **{f"v_{c}": row.get(c) for c in columns}})
        if len(batch) >= BATCH:
            conn.execute(statement, batch)
            batch = []
    if batch:
        conn.execute(statement, batch)


def _advance_sequences(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """Each serial id's sequence past the largest id loaded (or back to 1 when none)."""
    for table in metadata.sorted_tables:
        key = table.c.get("id")
        if key is None or not key.primary_key or key.autoincrement is False:
            continue
        sequence = conn.execute(sa.select(sa.func.pg_get_serial_sequence(
            conn.dialect.identifier_preparer.quote(table.name), "id"))).scalar()
        if sequence is None:
            continue
        top = conn.execute(sa.select(sa.func.max(key))).scalar()
        conn.execute(sa.text("SELECT setval(CAST(:seq AS regclass), :value, :called)"),
                     {"seq": sequence, "value": top or 1, "called": top is not None})
