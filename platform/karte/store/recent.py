"""Recent changes for the home page: the latest audit rows of records the actor may read.

The log is read newest first from its index on (at, id), a page at a time, keeping only
the rows of entities the actor may read at all; each page's records are then looked up
by id in their tables under the actor's read scope (one query per entity present in the
page, by primary key) — so the work follows the rows shown, never the log's size. A page
that leaves too few rows (records out of scope, changes only to hidden fields) is
followed by a larger one, from where the last stopped (keyset, never OFFSET).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity
from karte.store.actor import Actor
from karte.store.field_rights import hidden
from karte.store.permissions import rights, scope
from karte.store.records.store import Store

RECENT = 15
FIRST_PAGE = 50     # audit rows read first; each further page doubles, up to LARGEST_PAGE
LARGEST_PAGE = 2000


def page_query(store: Store, names: Sequence[str], size: int,
               after: tuple[Any, int] | None = None) -> sa.Select[Any]:
    """The next `size` audit rows of the entities `names`, newest first, older than
    `after` ((at, id) of the last row read), from the index on (at, id). No entity
    filter when every entity of the pack is readable; with one, the planner's statistics
    (ANALYZE at startup) may prefer the (entity, record_id, at) index for an entity with
    few rows, which then sorts only those."""
    audit = store.audit
    query = (sa.select(audit.c.id, audit.c.entity, audit.c.record_id, audit.c.action,
                       audit.c.at, audit.c.changes, audit.c.user_id)
             .order_by(audit.c.at.desc(), audit.c.id.desc()).limit(size))
    if set(names) != set(store.pack.entities):
        query = query.where(audit.c.entity.in_(list(names)))
    if after is not None:
        at, id = after
        query = query.where(sa.or_(audit.c.at < at, sa.and_(audit.c.at == at,
                                                             audit.c.id < id)))
    return query


def records_query(store: Store, entity: Entity, actor: Actor | None,
                  ids: Sequence[int]) -> sa.Select[Any]:
    """Title (as it is now) and deleted_at of the records `ids` the actor may read."""
    table = store.table(entity)
    title = table.c[entity.title_field] if entity.title_field in table.c else sa.null()
    return (sa.select(table.c.id, title.label("title"), table.c.deleted_at)
            .where(table.c.id.in_(list(ids)), scope(store, entity, actor, "read")))


def _records(conn: sa.Connection, store: Store, actor: Actor | None,
             rows: Sequence[Any]) -> dict[tuple[str, int], Any]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        wanted[row.entity].add(row.record_id)
    return {(name, found.id): found for name, ids in wanted.items()
            for found in conn.execute(records_query(store, store.entity(name), actor,
                                                    sorted(ids)))}


def _who(conn: sa.Connection, store: Store, ids: set[int]) -> dict[int, str]:
    users = store.users
    if not ids:
        return {}
    who = sa.func.coalesce(sa.func.nullif(users.c.name, ""), users.c.email)
    return dict(conn.execute(sa.select(users.c.id, who).where(users.c.id.in_(sorted(ids))))
                .all())


def recent_changes(store: Store, actor: Actor | None, limit: int = RECENT) -> list[dict[str, Any]]:
    """The latest `limit` audit rows the actor may read, newest first: entity, record id
    and title (as it is now), action, who, when, the changed field names, and whether
    the record is deleted now."""
    readable = {e.name: e for e in store.pack.entities.values()
                if rights(store, e, actor).read}
    unseen = {name: hidden(store, entity, actor) for name, entity in readable.items()}
    found: list[dict[str, Any]] = []
    size, after = FIRST_PAGE, None
    with store.engine.connect() as conn:
        while readable and len(found) < limit:
            rows = conn.execute(page_query(store, list(readable), size, after)).all()
            shown = _records(conn, store, actor, rows)
            for row in rows:
                record = shown.get((row.entity, row.record_id))
                if record is None:
                    continue          # out of the actor's scope, or no longer stored
                entity = readable[row.entity]
                changes = {name: pair for name, pair in (row.changes or {}).items()
                           if name != "version" and name not in unseen[row.entity]}
                if row.action == "update" and not changes:
                    continue          # only fields hidden from the actor changed
                found.append({**row._mapping, "changes": changes, "title": record.title,
                              "deleted_at": record.deleted_at,
                              "fields": [name for name in changes if name in entity.fields],
                              "deleted": record.deleted_at is not None})
            if len(rows) < size:
                break                 # the log's start
            size, after = min(size * 2, LARGEST_PAGE), (rows[-1].at, rows[-1].id)
        names = _who(conn, store, {r["user_id"] for r in found[:limit]
                                   if r["user_id"] is not None})
    return [{**row, "user": names.get(row["user_id"])} for row in found[:limit]]
