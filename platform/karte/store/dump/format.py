"""The dump format (docs/dump.md): which tables, how values are written, the manifest.

A dump is a folder: `manifest.json` and one `<table>.jsonl` per table, each line one row
as a JSON object (keys sorted, UTF-8, `\\n` after every line), rows in primary-key order
(text keys by code point), so that the same data always makes the same bytes, whichever
database it came from. Values: text, integers and booleans as JSON; decimals as strings
with the column's scale (`"1200.50"`); timestamps ISO 8601 in UTC with microseconds
(`"2026-11-30T09:00:00.000000+00:00"`); dates ISO (`"2026-11-30"`); JSON columns as JSON;
SQL NULL as `null`.

The tables are those of the MetaData the app builds for the pack (`metadata_for`), by rule:
every table, except the ones named in `SKIPPED` (not data worth moving) and `DERIVED`
(computed from the others, rebuilt by the load).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from karte.meta.model import Pack
from karte.store.migrate.schema_history import describe
from karte.store.tables import metadata_for

FORMAT = "karte-dump"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SUFFIX = ".jsonl"
HISTORY = "karte_schema_history"
SKIPPED = {"karte_session": "sign-in sessions: everyone signs in again after a load"}
DERIVED = {"karte_stage_totals": "the boards' stage counters: rebuilt from the records"}
Encoder = Callable[[Any], Any]


class DumpError(Exception):
    """A dump or load that cannot go on; the message says why and what to do."""


def karte_version() -> str:
    try:
        return importlib.metadata.version("karte")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from source
        return "unknown"


def pack_fingerprint(pack: Pack) -> str:
    """sha256 of the pack's definitions as read (the pack, entity and workflow files)."""
    raw = describe(pack)["raw"]
    text = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def dumped_tables(pack: Pack) -> list[sa.Table]:
    """Every table of the pack's MetaData a dump holds, parents before children."""
    metadata = metadata_for(pack)
    return [t for t in metadata.sorted_tables if t.name not in SKIPPED and t.name not in DERIVED]


def ordering(table: sa.Table, dialect: str) -> list[sa.ColumnElement[Any]]:
    """The primary key, text compared by code point on both databases (SQLite's BINARY
    order of UTF-8 is code point order; PostgreSQL's is its locale's unless told "C")."""
    columns: list[sa.ColumnElement[Any]] = []
    for column in table.primary_key.columns:
        text = isinstance(column.type, sa.String) and dialect == "postgresql"
        columns.append(sa.collate(column, "C") if text else column)
    return columns


def _base(column: sa.Column[Any]) -> sa.types.TypeEngine[Any]:
    kind = column.type
    return kind.impl_instance if isinstance(kind, sa.TypeDecorator) else kind


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is not dt.UTC:  # UTCDateTime reads UTC already
        value = (value.replace(tzinfo=dt.UTC) if value.tzinfo is None
                 else value.astimezone(dt.UTC))
    return value.isoformat(timespec="microseconds")


def encoder(column: sa.Column[Any]) -> Encoder | None:
    """How a column's value is written (None: as it is)."""
    kind = _base(column)
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        step = Decimal(1).scaleb(-(kind.scale or 0))
        return lambda v: None if v is None else format(Decimal(str(v)).quantize(step), "f")
    if isinstance(kind, sa.DateTime):
        return lambda v: None if v is None else _iso(v)
    if isinstance(kind, sa.Date):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(kind, sa.Boolean):
        return lambda v: None if v is None else bool(v)
    return None


def decoder(column: sa.Column[Any]) -> Encoder | None:
    """How a written value is read back for a column (None: as it is)."""
    kind = _base(column)
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return lambda v: v if v is None else Decimal(v)
    if isinstance(kind, sa.DateTime):
        return lambda v: v if v is None else dt.datetime.fromisoformat(v)
    if isinstance(kind, sa.Date):
        return lambda v: v if v is None else dt.date.fromisoformat(v)
    return None


_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def line(row: dict[str, Any]) -> bytes:
    """One row as a line of the table's file."""
    return (_ENCODE(row) + "\n").encode()


def insert_table(table: sa.Table) -> sa.Table:
    """The table for loading: a JSON column stores None as SQL NULL (the app reads SQL
    NULL and JSON null alike as empty; a dump cannot tell them apart)."""
    json_type = sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql")
    return sa.Table(table.name, sa.MetaData(), *(
        sa.Column(c.name, json_type if isinstance(_base(c), sa.JSON) else c.type,
                  primary_key=c.primary_key, autoincrement=False)
        for c in table.columns))
