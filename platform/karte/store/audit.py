"""The change log: one `karte_audit` row per write, read back as history and for conflicts.

A row's `changes` maps each changed field to `[old, new]` in JSON form (Decimal as a
string, dates ISO 8601), and always includes `version: [old, new]`, so a stale edit can
be told exactly which fields changed after the version it started from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from karte.store.bulk_insert import insert_rows

VERSION = "version"
ACTION_RUN = "karte_action"   # a record action's run: {ACTION_RUN: [None, {name, created}]}


def jsonable(value: Any) -> Any:
    """A value as the JSON column keeps it: exact numbers as text, dates in ISO 8601."""
    if value is None or type(value) is str or type(value) is int:
        return value          # most values, first: an audit row per record of a bulk write
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def changes(before: Mapping[str, Any], after: Mapping[str, Any],
            names: Iterable[str]) -> dict[str, list[Any]]:
    """`{field: [old, new]}` in JSON form for `names`, plus the version step."""
    found = {name: [jsonable(before.get(name)), jsonable(after.get(name))] for name in names}
    found[VERSION] = [before.get(VERSION), after.get(VERSION)]
    return found


def row(entity: str, record_id: int, action: str, user_id: int | None, at: dt.datetime,
        found: Mapping[str, list[Any]]) -> dict[str, Any]:
    """Parameters of one audit row (many of them go to one executemany)."""
    return {"entity": entity, "record_id": record_id, "action": action, "user_id": user_id,
            "at": at, "changes": dict(found)}


def write(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    insert_rows(conn, table, rows)


def _rows(conn: sa.Connection, table: sa.Table, entity: str, record_id: int) -> list[sa.RowMapping]:
    query = (sa.select(table).where(table.c.entity == entity, table.c.record_id == record_id)
             .order_by(table.c.id))
    return list(conn.execute(query).mappings())


def changed_since(conn: sa.Connection, table: sa.Table, entity: str, record_id: int,
                  version: int) -> dict[str, Any]:
    """Fields changed after `version`, each with its value at that version (JSON form)."""
    seen: dict[str, Any] = {}
    for audit in _rows(conn, table, entity, record_id):
        step = audit["changes"].get(VERSION) or [None, None]
        if step[1] is None or step[1] <= version:
            continue
        for name, (old, _new) in audit["changes"].items():
            if name != VERSION:
                seen.setdefault(name, old)
    return seen


def history(conn: sa.Connection, tables: Mapping[str, sa.Table], entity: str,
            record_id: int) -> list[dict[str, Any]]:
    """The record's audit rows, newest first: who, when, action, changes, version."""
    audit, user = tables["karte_audit"], tables["karte_user"]
    query = (sa.select(audit, user.c.name.label("user_name"), user.c.email.label("user_email"))
             .select_from(audit.outerjoin(user, user.c.id == audit.c.user_id))
             .where(audit.c.entity == entity, audit.c.record_id == record_id)
             .order_by(audit.c.id.desc()))
    return [_entry(found) for found in conn.execute(query).mappings()]


def _entry(found: sa.RowMapping) -> dict[str, Any]:
    changed = dict(found["changes"])
    step = changed.pop(VERSION, [None, None])
    return {"id": found["id"], "at": found["at"], "action": found["action"],
            "user_id": found["user_id"],
            "user": found["user_name"] or found["user_email"],
            "changes": changed, "version": step[1]}
