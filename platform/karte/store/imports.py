"""Import batches as stored (tables in store/import_tables.py): open one, keep its
progress and counts, record what each row did, read it all back for the report, the
failed-rows file and a revert, and find an entity's last successful plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from karte.store.records.store import chunks
from karte.store.tables import engine_table

COUNTS = ("total", "done", "created", "updated", "unchanged", "failed")
ITEM_CHUNK = 2000
ITEM_KEYS = frozenset({"line", "record_id", "action", "version", "before", "cells",
                       "problems"})


def batches() -> sa.Table:
    return engine_table("karte_import")


def items() -> sa.Table:
    return engine_table("karte_import_item")


def open_batch(conn: sa.Connection, entity: str, user_id: int | None, file_name: str,
               plan: Mapping[str, Any], columns: Sequence[str], at: dt.datetime,
               state: str = "running") -> int:
    """A new batch; its id."""
    table = batches()
    return int(conn.execute(table.insert().returning(table.c.id).values(
        entity=entity, user_id=user_id, file_name=file_name[:255], plan=dict(plan),
        columns=list(columns), state=state, problems=[], duplicates=[], created_at=at,
        updated_at=at,
    )).scalar_one())


def update_batch(conn: sa.Connection, batch: int, **values: Any) -> None:
    """Set the batch's state, counts, problems, reason or times."""
    table = batches()
    conn.execute(table.update().where(table.c.id == batch).values(**values))


def read_batch(conn: sa.Connection, batch: int) -> dict[str, Any] | None:
    table = batches()
    row = conn.execute(sa.select(table).where(table.c.id == batch)).mappings().first()
    return None if row is None else dict(row)


def add_items(conn: sa.Connection, batch: int, rows: Iterable[Mapping[str, Any]]) -> None:
    """What rows did: each {line, record_id, action, version, before, cells, problems}
    (missing keys empty), inserted by executemany."""
    table = items()
    for part in chunks(rows, ITEM_CHUNK):
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in part:    # rows of one shape together; columns left out stay NULL
            given = {k: v for k, v in row.items() if v is not None and k in ITEM_KEYS}
            shapes.setdefault(tuple(given), []).append({"batch_id": batch, **given})
        for same in shapes.values():
            conn.execute(table.insert(), same)


def read_items(conn: sa.Connection, batch: int,
               actions: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """The batch's items in line order (of `actions` only when given), read in chunks by
    keyset so a batch of any size streams."""
    table = items()
    last = (-1, -1)
    while True:
        query = sa.select(table).where(
            table.c.batch_id == batch,
            sa.tuple_(table.c.line, table.c.id) > sa.tuple_(*last))
        if actions is not None:
            query = query.where(table.c.action.in_(list(actions)))
        rows = conn.execute(query.order_by(table.c.line, table.c.id)
                            .limit(ITEM_CHUNK)).mappings().all()
        if not rows:
            return
        yield from (dict(row) for row in rows)
        last = (rows[-1]["line"], rows[-1]["id"])


def last_plan(conn: sa.Connection, entity: str) -> dict[str, Any] | None:
    """The plan of the entity's latest batch that imported rows (done, not reverted)."""
    table = batches()
    query = (sa.select(table.c.plan)
             .where(table.c.entity == entity, table.c.state == "done",
                    (table.c.created + table.c.updated + table.c.unchanged) > 0)
             .order_by(table.c.id.desc()).limit(1))
    found = conn.execute(query).scalar()
    return None if found is None else dict(found)
