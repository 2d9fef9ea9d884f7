"""Reading every record of a view in batches by keyset (for exports), never by OFFSET.

A list is ordered by (sort key, id) with empty keys last (`query.order_by`). Batches are
read in that order in two phases, each a range the database can walk in an index:

1. the rows whose key is not empty: `(key, id) > (last key, last id)` (`<` descending),
   ordered by key then id (no NULLS clause: none are left, so an index fits the order);
2. the rows whose key is empty: `id > last id` (`<` descending), ordered by id.

Each batch starts where the previous one stopped, so reading the last batch costs what
reading the first does, and a row inserted or deleted between batches never makes an
existing row appear twice or go missing (a row whose sort key changes meanwhile may).
Filters, search, read scope and hidden fields are the list's own (`query.filtered`,
`field_rights.strip`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity
from karte.store import field_rights
from karte.store.actor import Actor
from karte.store.permissions import scope_key
from karte.store.records.query import filtered, nullable, sort_key
from karte.store.records.store import Store

BATCH = 500
KEY = "karte_keyset_key"

Record = dict[str, Any]


def _after(key: sa.ColumnElement[Any], id: sa.ColumnElement[Any], last: tuple[Any, int],
           descending: bool) -> sa.ColumnElement[bool]:
    """The rows after (key, id) = `last` in the order of phase 1."""
    bound = sa.tuple_(sa.literal(last[0], key.type), sa.literal(last[1], id.type))
    pair = sa.tuple_(key, id)
    return pair < bound if descending else pair > bound


@dataclass(frozen=True)
class Keyset:
    """The two phases' queries of a view; `next_keyed` / `next_empty` continue them."""

    keyed: sa.Select[Any]              # rows with a sort value, with it as column KEY
    empty: sa.Select[Any]              # rows without one
    key: sa.ColumnElement[Any]
    id: sa.ColumnElement[Any]
    descending: bool
    nullable: bool = True              # False: a NOT NULL column, no phase 2

    def next_keyed(self, last: tuple[Any, int] | None, size: int) -> sa.Select[Any]:
        query = self.keyed if last is None else self.keyed.where(
            _after(self.key, self.id, last, self.descending))
        return query.limit(size)

    def next_empty(self, after: int | None, size: int) -> sa.Select[Any]:
        query = self.empty if after is None else self.empty.where(
            self.id < after if self.descending else self.id > after)
        return query.limit(size)


def keyset(store: Store, entity: Entity, where: Any = None, search: str | None = None,
           sort: str | None = None, actor: Actor | None = None) -> Keyset:
    """The view's two ordered statements. An unfiltered view (the API's and exports'
    usual first question) is built once per sort and read scope (the store's memo);
    filters and searches are not remembered: their values are the user's, unbounded."""
    if where is None and not search:
        return store.remember(("keyset", entity.name, sort,
                               *scope_key(store, entity, actor, "read")),
                              lambda: _keyset(store, entity, None, None, sort, actor))
    return _keyset(store, entity, where, search, sort, actor)


def _keyset(store: Store, entity: Entity, where: Any, search: str | None,
            sort: str | None, actor: Actor | None) -> Keyset:
    id = store.table(entity).c.id
    key, descending = sort_key(store, entity, sort, actor)
    base = filtered(store, entity, where, search, False, actor)
    step: Any = (lambda c: c.desc()) if descending else (lambda c: c.asc())
    keyed = (base.add_columns(key.label(KEY)).where(key.is_not(None))
             .order_by(step(key), step(id)))
    return Keyset(keyed, base.where(key.is_(None)).order_by(step(id)), key, id, descending,
                  nullable(key))


def batches(store: Store, entity: str, where: Any = None, search: str | None = None,
            sort: str | None = None, *, actor: Actor | None = None,
            size: int = BATCH) -> Iterator[list[Record]]:
    """The records of the view (as `Records.query` returns them, in its order), one list
    of at most `size` per batch; each batch is one short query on its own connection."""
    ent = store.entity(entity)
    plan = keyset(store, ent, where, search, sort, actor)
    last: tuple[Any, int] | None = None
    while True:                                      # phase 1: keys not empty
        rows = _read(store, ent, plan.next_keyed(last, size), actor)
        if rows:
            last = (rows[-1][1], rows[-1][0]["id"])
            yield [row for row, _key in rows]
        if len(rows) < size:
            break
    after: int | None = None
    while plan.nullable:                             # phase 2: empty keys, by id
        found = _read(store, ent, plan.next_empty(after, size), actor)
        if found:
            after = found[-1][0]["id"]
            yield [row for row, _key in found]
        if len(found) < size:
            return


def _read(store: Store, entity: Entity, query: sa.Select[Any],
          actor: Actor | None) -> list[tuple[Record, Any]]:
    with store.engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
        keys = [row.pop(KEY, None) for row in rows]
        store.attach_links(conn, entity, rows)
    return list(zip(field_rights.strip_all(store, entity, actor, rows), keys, strict=True))


@dataclass(frozen=True)
class Position:
    """Where a page of `page` stopped: its phase (1: rows with a sort value, 2: rows
    without one), the last row's sort value (phase 1) and its id."""

    phase: int
    key: Any
    id: int


def page(store: Store, entity: str, where: Any = None, search: str | None = None,
         sort: str | None = None, *, actor: Actor | None = None,
         after: Position | None = None, size: int = 50
         ) -> tuple[list[Record], Position | None]:
    """One page of the view after `after` (None: the first), and where the next page
    starts (None: this one is the last). At most two short range reads whatever the page's
    depth: the API's cursor pages cost what the first one does."""
    ent = store.entity(entity)
    plan = keyset(store, ent, where, search, sort, actor)
    found: list[tuple[Record, Position]] = []
    if after is None or after.phase == 1:
        last = None if after is None else (after.key, after.id)
        found += [(row, Position(1, key, row["id"]))
                  for row, key in _read(store, ent, plan.next_keyed(last, size + 1), actor)]
    if len(found) <= size and plan.nullable:
        start = after.id if after is not None and after.phase == 2 else None
        query = plan.next_empty(start, size + 1 - len(found))
        found += [(row, Position(2, None, row["id"])) for row, _key in
                  _read(store, ent, query, actor)]
    rows = [row for row, _position in found[:size]]
    return rows, (found[size - 1][1] if len(found) > size else None)
