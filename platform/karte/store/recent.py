"""Recent changes for the home page: the latest audit rows of records the actor may read.

The audit table holds rows of every entity; a row is shown only when its record is in the
actor's read scope (SPEC §3.4), judged in SQL by joining the entity's table. One query
per readable entity (each already limited), merged newest first — never a query per row.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity
from karte.store.actor import Actor
from karte.store.field_rights import hidden
from karte.store.permissions import rights, scope
from karte.store.records.store import Store

RECENT = 15


def _query(store: Store, entity: Entity, actor: Actor | None, limit: int) -> sa.Select[Any]:
    audit, users, table = store.audit, store.users, store.table(entity)
    title = table.c[entity.title_field] if entity.title_field in table.c else sa.null()
    who = sa.func.coalesce(sa.func.nullif(users.c.name, ""), users.c.email)
    return (sa.select(audit.c.id, audit.c.entity, audit.c.record_id, audit.c.action,
                      audit.c.at, audit.c.changes, audit.c.user_id, who.label("user"),
                      title.label("title"), table.c.deleted_at)
            .select_from(audit.join(table, table.c.id == audit.c.record_id)
                         .outerjoin(users, users.c.id == audit.c.user_id))
            .where(audit.c.entity == entity.name, scope(store, entity, actor, "read"))
            .order_by(audit.c.id.desc()).limit(limit))


def recent_changes(store: Store, actor: Actor | None, limit: int = RECENT) -> list[dict[str, Any]]:
    """The latest `limit` audit rows the actor may read, newest first: entity, record id
    and title (as it is now), action, who, when, the changed field names, and whether
    the record is deleted now."""
    found: list[dict[str, Any]] = []
    with store.engine.connect() as conn:
        for entity in store.pack.entities.values():
            if not rights(store, entity, actor).read:
                continue
            unseen = hidden(store, entity, actor)
            for row in conn.execute(_query(store, entity, actor, limit)).mappings():
                changes = {name: pair for name, pair in (row["changes"] or {}).items()
                           if name != "version" and name not in unseen}
                if row["action"] == "update" and not changes:
                    continue          # only fields hidden from the actor changed
                found.append({**row, "changes": changes,
                              "fields": [name for name in changes if name in entity.fields],
                              "deleted": row["deleted_at"] is not None})
    found.sort(key=lambda row: (row["at"], row["id"]), reverse=True)
    return found[:limit]
