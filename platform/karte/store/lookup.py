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
from karte.store import title_index
from karte.store.actor import Actor
from karte.store.permissions import rights, scope, scope_key
from karte.store.records.store import Store, chunks
from karte.store.where import ascii_lower

PICKER_LIMIT = 20
SMALL = 1000
"""Up to this many readable records, a picker looks for the text anywhere in a title."""


def _title_column(store: Store, entity_name: str) -> tuple[sa.Table, sa.ColumnElement[Any]]:
    entity = store.entity(entity_name)
    table = store.table(entity)
    return table, table.c[entity.title_field]


def titles(store: Store, entity_name: str, ids: Iterable[Any],
           actor: Actor | None) -> dict[int, str]:
    """{id: title} of the live records among `ids` that the actor may read (one
    statement per entity and read scope, built once: `Store.remember`)."""
    entity = store.entity(entity_name)
    wanted = sorted({number for i in ids if (number := record_id(i)) is not None})
    if not wanted:
        return {}

    def make() -> sa.Select[Any]:
        table, title = _title_column(store, entity_name)
        return sa.select(table.c.id, title).where(
            store.among(table.c.id), table.c.deleted_at.is_(None),
            scope(store, entity, actor, "read"))
    query = store.remember(("titles", entity_name, *scope_key(store, entity, actor, "read")),
                           make)
    found: dict[int, str] = {}
    with store.engine.connect() as conn:
        for batch in chunks(wanted):
            found.update((id, "" if text is None else str(text))
                         for id, text in conn.execute(query, {"ids": store.ids_value(batch)}))
    return found


def can_read(store: Store, entity_name: str, actor: Actor | None) -> bool:
    return bool(rights(store, store.entity(entity_name), actor).read)


def pick(store: Store, entity_name: str, text: str, actor: Actor | None,
         limit: int = PICKER_LIMIT) -> list[tuple[int, str]]:
    """[(id, title)] of readable live records for a link picker while the user types,
    shortest titles first. A small table (at most SMALL readable records) offers every
    title containing the text; a bigger one the titles starting with it, read in the
    title index's order (`title_index`), so no request sorts or scans the whole table."""
    entity = store.entity(entity_name)
    table, title = _title_column(store, entity_name)
    readable = sa.select(table.c.id, title).where(table.c.deleted_at.is_(None),
                                                  scope(store, entity, actor, "read"))
    typed = fold(text.strip())
    with store.engine.connect() as conn:
        if _small(conn, readable):
            query = readable
            if typed:
                query = query.where(ascii_lower(title).contains(typed, autoescape=True))
            query = query.order_by(sa.func.length(title), title, table.c.id).limit(limit)
            return [(id, "" if label is None else str(label))
                    for id, label in conn.execute(query)]
        found = [(id, "" if label is None else str(label))
                 for id, label in conn.execute(prefixed(readable, title, typed, limit))]
    return sorted(found, key=lambda item: (len(item[1]), item[1], item[0]))


def prefixed(readable: sa.Select[Any], title: sa.ColumnElement[Any], typed: str,
             limit: int) -> sa.Select[Any]:
    """The first `limit` of `readable` whose folded title starts with `typed` (every
    titled one when empty), in the title index's order."""
    key = title_index.title_key(title)
    condition = title_index.starts_with(title, typed) if typed else key.is_not(None)
    return readable.where(condition).order_by(key, readable.selected_columns[0]).limit(limit)


def _small(conn: sa.Connection, readable: sa.Select[Any]) -> bool:
    """Whether the readable records number at most SMALL (reads at most SMALL + 1 ids)."""
    capped = readable.with_only_columns(readable.selected_columns[0]).limit(SMALL + 1)
    return conn.execute(sa.select(sa.func.count()).select_from(capped.subquery())
                        ).scalar_one() <= SMALL
