"""Titles of records for display and pickers: what a page shows in place of an id.

Every lookup is limited to the records the actor may read, so a link to a record outside
their scope shows no title and a picker never offers it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from karte.fields import record_id
from karte.meta.conditions import fold
from karte.store.actor import Actor
from karte.store.permissions import rights, scope
from karte.store.records.store import Store, chunks
from karte.store.where import ascii_lower

PICKER_LIMIT = 20


def _title_column(store: Store, entity_name: str) -> tuple[sa.Table, sa.ColumnElement[Any]]:
    entity = store.entity(entity_name)
    table = store.table(entity)
    return table, table.c[entity.title_field]


def titles(store: Store, entity_name: str, ids: Iterable[Any],
           actor: Actor | None) -> dict[int, str]:
    """{id: title} of the live records among `ids` that the actor may read."""
    entity = store.entity(entity_name)
    table, title = _title_column(store, entity_name)
    wanted = sorted({number for i in ids if (number := record_id(i)) is not None})
    found: dict[int, str] = {}
    with store.engine.connect() as conn:
        for batch in chunks(wanted):
            query = (sa.select(table.c.id, title)
                     .where(table.c.id.in_(batch), table.c.deleted_at.is_(None),
                            scope(store, entity, actor, "read")))
            found.update((id, "" if text is None else str(text))
                         for id, text in conn.execute(query))
    return found


def can_read(store: Store, entity_name: str, actor: Actor | None) -> bool:
    return bool(rights(store, store.entity(entity_name), actor).read)


def pick(store: Store, entity_name: str, text: str, actor: Actor | None,
         limit: int = PICKER_LIMIT) -> list[tuple[int, str]]:
    """[(id, title)] of readable live records whose title contains `text` (ASCII case
    folded), shortest titles first: what a link picker offers while the user types."""
    entity = store.entity(entity_name)
    table, title = _title_column(store, entity_name)
    query = (sa.select(table.c.id, title)
             .where(table.c.deleted_at.is_(None), scope(store, entity, actor, "read")))
    if text.strip():
        query = query.where(ascii_lower(title).contains(fold(text.strip()), autoescape=True))
    query = query.order_by(sa.func.length(title), title, table.c.id).limit(limit)
    with store.engine.connect() as conn:
        return [(id, "" if label is None else str(label)) for id, label in conn.execute(query)]
