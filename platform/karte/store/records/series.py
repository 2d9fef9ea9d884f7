"""Series numbers (SPEC §3.6): assigned on create, inside the create's transaction.

Each (entity, field, prefix) has one counter row in `karte_series`. A create takes its
numbers with one upsert — `INSERT … ON CONFLICT DO UPDATE SET last_number = last_number
+ n RETURNING last_number` — that holds the counter row until the transaction ends. On
PostgreSQL a concurrent create waits for that row lock, then counts on from the committed
value; on SQLite the upsert takes the database's single write lock (a create writes
nothing before it), which other writers wait for. A create that fails rolls its increment
back with it, so numbers never repeat and leave no gap.

A value the system brings (an import; `Records.create` with `actor=None`) is kept, and the
counter of its prefix moves up to it, so the numbers generated later never clash with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from karte.fields import is_empty
from karte.meta.model import Entity, Field
from karte.meta.series import Series
from karte.store.records.store import Store

Update = Callable[[sa.Table, Any], sa.ColumnElement[Any]]
INSERTS: dict[str, Callable[[sa.Table], Any]] = {
    "postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _added(table: sa.Table, excluded: Any) -> sa.ColumnElement[Any]:
    taken: sa.ColumnElement[Any] = excluded.last_number
    return table.c.last_number + taken


def _at_least(table: sa.Table, excluded: Any) -> sa.ColumnElement[Any]:
    return sa.case((excluded.last_number > table.c.last_number, excluded.last_number),
                   else_=table.c.last_number)


def _upsert(conn: sa.Connection, table: sa.Table, key: dict[str, str], number: int,
            update: Update) -> int:
    """The prefix's counter after setting it to `number` (a new prefix) or `update`."""
    insert = INSERTS[conn.dialect.name](table).values(**key, last_number=number)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.entity, table.c.field, table.c.prefix],
        set_={"last_number": update(table, insert.excluded)},
    ).returning(table.c.last_number)
    return int(conn.execute(statement).scalar_one())


def _keep_given(conn: sa.Connection, table: sa.Table, entity: Entity, field: Field,
                series: Series, records: Sequence[dict[str, Any]]) -> None:
    """Move each prefix's counter up to the highest number the records bring."""
    highest: dict[str, int] = {}
    for record in records:
        value = record.get(field.name)
        found = None if is_empty(value) else series.read(str(value))
        if found is not None:
            highest[found[0]] = max(found[1], highest.get(found[0], 0))
    for prefix, number in sorted(highest.items()):
        key = {"entity": entity.name, "field": field.name, "prefix": prefix}
        _upsert(conn, table, key, number, _at_least)


def assign(store: Store, conn: sa.Connection, entity: Entity,
           records: Sequence[dict[str, Any]], at: dt.datetime) -> None:
    """Number the records' empty series fields in order, dated `at` in the pack's
    timezone; values already there are kept and advance their counter."""
    day = at.astimezone(ZoneInfo(store.pack.timezone)).date()
    table = store.tables["karte_series"]
    for field in entity.fields.values():
        series: Series | None = field.series
        if series is None:
            continue
        _keep_given(conn, table, entity, field, series, records)
        wanting = [r for r in records if is_empty(r.get(field.name))]
        if not wanting:
            continue
        prefix = series.prefix(day)
        key = {"entity": entity.name, "field": field.name, "prefix": prefix}
        last = _upsert(conn, table, key, len(wanting), _added)
        for number, record in enumerate(wanting, start=last - len(wanting) + 1):
            record[field.name] = series.value(prefix, number)
