"""`karte load DIR`: a dump back into a database, all or nothing (docs/dump.md).

Before anything is written: the manifest is read and every file's sha256 and row count
checked (a missing or altered file is named); a dump of another pack (its definitions'
fingerprint differs) is refused unless `force`, and then `plan` says what will not load.
Then the schema is migrated for the current pack, and in ONE transaction: a non-empty
database is refused (unless `replace`, which empties Karte's tables first), every table
is loaded in batches (COPY on PostgreSQL, executemany on SQLite: store/bulk_insert.py)
with its ids, the foreign keys that form cycles or
point into their own table are filled in afterwards (rows need not come in any order),
the derived tables are rebuilt (the stage counters; the SQLite search index follows the
rows through its triggers, PostgreSQL's indexes by themselves), and PostgreSQL's id
sequences are moved past the largest id, so that new records do not collide. Then the
planner's statistics are refreshed (ANALYZE), as after any bulk load.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Pack
from karte.store import stage_totals
from karte.store.bulk_insert import insert_rows
from karte.store.db import refresh_statistics
from karte.store.dump.format import (
    DERIVED,
    FORMAT,
    FORMAT_VERSION,
    HISTORY,
    MANIFEST,
    SKIPPED,
    DumpError,
    decoder,
    insert_table,
    pack_fingerprint,
)
from karte.store.tables import metadata_for

BATCH = 1000
Echo = Callable[[str], Any]


@dataclass
class LoadPlan:
    """What a load does with a dump: same pack, or what differs from this pack's tables."""

    same_pack: bool
    dump_pack: str
    unknown_tables: list[str] = field(default_factory=list)
    dropped_columns: dict[str, list[str]] = field(default_factory=dict)
    missing_columns: dict[str, list[str]] = field(default_factory=dict)
    missing_tables: list[str] = field(default_factory=list)

    def render(self) -> list[str]:
        if self.same_pack:
            return []
        lines = [f"The dump was made with pack {self.dump_pack!r} and other definitions:"]
        lines += [f"  table {name}: not in this pack, will not load"
                  for name in self.unknown_tables]
        lines += [f"  {table}.{column}: not in this pack, will not load"
                  for table, columns in self.dropped_columns.items() for column in columns]
        lines += [f"  {table}.{column}: not in the dump, stays empty"
                  for table, columns in self.missing_columns.items() for column in columns]
        lines += [f"  table {name}: not in the dump, stays empty"
                  for name in self.missing_tables]
        lines.append(f"  {HISTORY}: this database's own history is kept (the dump's "
                     "describes other definitions)")
        return lines


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise DumpError(f"{path}: no manifest; is {folder} a folder `karte dump` wrote?")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise DumpError(f"{path}: not valid JSON ({error})") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise DumpError(f"{path}: not a {FORMAT} version {FORMAT_VERSION} manifest "
                        f"(format {manifest.get('format')!r}, "
                        f"version {manifest.get('format_version')!r})")
    return manifest


def verify(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file of the manifest is there with its checksum and row count."""
    for entry in manifest["tables"]:
        path = folder / entry["file"]
        if Path(entry["file"]).name != entry["file"]:
            raise DumpError(f"{MANIFEST}: file name {entry['file']!r} is not a plain name")
        if not path.is_file():
            raise DumpError(f"{path}: missing (the manifest lists it); the dump is "
                            "incomplete")
        digest, lines = hashlib.sha256(), 0
        with path.open("rb") as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
                lines += chunk.count(b"\n")
        if digest.hexdigest() != entry["sha256"] or lines != entry["rows"]:
            raise DumpError(f"{path}: altered since the dump (its checksum or row count "
                            "differs from the manifest); use an intact copy")


def plan(manifest: dict[str, Any], pack: Pack) -> LoadPlan:
    """What of the dump this pack's tables take."""
    metadata = metadata_for(pack)
    dumped = manifest["pack"]
    found = LoadPlan(same_pack=dumped["fingerprint"] == pack_fingerprint(pack),
                     dump_pack=dumped["name"])
    names = set()
    for entry in manifest["tables"]:
        names.add(entry["name"])
        table = metadata.tables.get(entry["name"])
        if table is None:
            found.unknown_tables.append(entry["name"])
            continue
        dropped = [c for c in entry["columns"] if c not in table.c]
        missing = [c.name for c in table.columns if c.name not in entry["columns"]]
        if dropped:
            found.dropped_columns[table.name] = dropped
        if missing:
            found.missing_columns[table.name] = missing
    found.missing_tables = [t.name for t in metadata.sorted_tables
                            if t.name not in names and t.name not in SKIPPED
                            and t.name not in DERIVED]
    return found


def check(folder: Path, pack: Pack, *, force: bool) -> tuple[dict[str, Any], LoadPlan]:
    """The manifest and the plan, after every check that needs no database."""
    manifest = read_manifest(folder)
    verify(folder, manifest)
    found = plan(manifest, pack)
    if not found.same_pack and not force:
        raise DumpError(
            f"the dump was made with pack {found.dump_pack!r} whose definitions differ from "
            f"this pack {pack.name!r} (fingerprint {manifest['pack']['fingerprint'][:12]} ≠ "
            f"{pack_fingerprint(pack)[:12]}): load with the pack it was made with, or pass "
            "--force to see what will not load and load anyway")
    return manifest, found


def load(engine: sa.Engine, pack: Pack, folder: Path, *, replace: bool = False,
         force: bool = False, echo: Echo = lambda _: None) -> LoadPlan:
    """Load the dump in `folder`; the plan it followed."""
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
    except (ValueError, KeyError, TypeError) as error:
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
