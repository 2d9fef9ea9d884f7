"""`karte dump DIR`: every table Karte owns, streamed to JSON Lines (docs/dump.md).

All tables are read in one snapshot (`db.snapshot`: a REPEATABLE READ transaction on
PostgreSQL, a read transaction on SQLite), so the dump is one moment of the database
even while the app writes. Each table is read in primary-key order with a streaming
cursor (`yield_per`: a server-side cursor on PostgreSQL), never whole. The files are
written into a hidden folder next to DIR, renamed to DIR only once the manifest is
written: a failed dump leaves no folder that looks complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Pack
from karte.store.db import snapshot
from karte.store.dump.format import (
    DERIVED,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SKIPPED,
    SUFFIX,
    DumpError,
    dumped_tables,
    encoder,
    karte_version,
    line,
    ordering,
    pack_fingerprint,
)
from karte.store.records.files_audit import shas
from karte.store.tables import metadata_for

BATCH = 2000
Echo = Callable[[str], Any]
Files = Callable[[Path, set[str]], list[dict[str, Any]]]
"""Copies the stored files a dump references into its folder; their manifest entries."""
FILE_MARK = b'"sha256"'


def dump(engine: sa.Engine, pack: Pack, folder: Path, echo: Echo = lambda _: None,
         copy_files: Files | None = None) -> dict[str, Any]:
    """Write the dump into `folder` (which must not exist, or be empty); the manifest.
    `copy_files` (karte.files.transfer) is given the sha256 of every file the dumped rows
    reference, before the manifest is written, and copies them in: the store knows
    tables, not where file content is kept."""
    folder = folder.absolute()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise DumpError(f"{folder} already exists and is not an empty folder: "
                        "dump into a new folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    try:
        manifest = _write(engine, pack, temporary, echo, copy_files)
        if folder.exists():
            folder.rmdir()
        os.replace(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return manifest


def _write(engine: sa.Engine, pack: Pack, folder: Path, echo: Echo,
           copy_files: Files | None) -> dict[str, Any]:
    tables = []
    referenced: set[str] = set()
    scanned = _file_columns(pack)
    with snapshot(engine) as conn:
        existing = set(sa.inspect(conn).get_table_names())
        left_out = _left_out(conn, pack, existing)
        for warning in _warnings(left_out):
            echo(warning)
        for table in dumped_tables(pack):
            if table.name not in existing:
                raise DumpError(f"table {table.name} is missing: run `karte migrate` first")
            try:
                rows, digest = _table(conn, table, folder / f"{table.name}{SUFFIX}",
                                      scanned.get(table.name, ()), referenced)
            except sa.exc.DBAPIError as error:
                raise DumpError(f"table {table.name} cannot be read ({error.orig}): the "
                                "database does not match the pack; run `karte migrate` "
                                "first") from None
            echo(f"{table.name}: {rows} rows")
            tables.append({"name": table.name, "file": f"{table.name}{SUFFIX}", "rows": rows,
                           "sha256": digest, "columns": [c.name for c in table.columns]})
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "karte_version": karte_version(),
        "pack": {"name": pack.name, "fingerprint": pack_fingerprint(pack)},
        "database": engine.dialect.name,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tables": tables,
        "not_dumped": {**SKIPPED, **DERIVED},
        "left_out": left_out,
    }
    if copy_files is not None:
        manifest["files"] = copy_files(folder, referenced)
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                   encoding="utf-8")
    return manifest


def _file_columns(pack: Pack) -> dict[str, tuple[str, ...]]:
    """Per table, the columns that may hold file references: file fields, audit changes."""
    found: dict[str, tuple[str, ...]] = {"karte_audit": ("changes",)}
    for entity in pack.entities.values():
        names = tuple(f.name for f in entity.file_fields())
        if names:
            found[entity.table_name] = names
    return found


def _table(conn: sa.Connection, table: sa.Table, path: Path, scanned: Sequence[str] = (),
           referenced: set[str] | None = None) -> tuple[int, str]:
    """Stream one table into `path`; its row count and sha256. The file references in the
    `scanned` columns go into `referenced`."""
    encoders = [(c.name, encoder(c)) for c in table.columns]
    query = (sa.select(table).order_by(*ordering(table, conn.dialect.name))
             .execution_options(yield_per=BATCH))
    digest, rows = hashlib.sha256(), 0
    with path.open("wb") as out:
        for row in conn.execute(query):
            values = {name: value if code is None else code(value)
                      for (name, code), value in zip(encoders, row, strict=True)}
            data = line(values)
            if scanned and referenced is not None and FILE_MARK in data:
                for name in scanned:
                    referenced.update(shas(values.get(name)))
            digest.update(data)
            out.write(data)
            rows += 1
    return rows, digest.hexdigest()


def _left_out(conn: sa.Connection, pack: Pack, existing: set[str]) -> dict[str, Any]:
    """What the database holds beyond the pack's tables: tables of removed entities and
    columns of removed fields (kept by the migration until `karte migrate --purge`)."""
    metadata = metadata_for(pack)
    inspector = sa.inspect(conn)
    tables = sorted(name for name in existing if name not in metadata.tables
                    and not name.startswith(("kx_", "sqlite_")))
    columns: dict[str, list[str]] = {}
    for table in dumped_tables(pack):
        if table.name in existing:
            extra = [c["name"] for c in inspector.get_columns(table.name)
                     if c["name"] not in table.c]
            if extra:
                columns[table.name] = extra
    return {"tables": tables, "columns": columns}


def _warnings(left_out: dict[str, Any]) -> list[str]:
    lines = [f"warning: table {name} is not in the pack (a removed entity?): not dumped"
             for name in left_out["tables"]]
    lines += [f"warning: {table}.{column} is a retired column (its field was removed): not "
              f"dumped; `karte migrate --purge {table}.{column}` backs it up to CSV"
              for table, columns in left_out["columns"].items() for column in columns]
    return lines
