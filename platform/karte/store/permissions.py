"""SPEC §3.4 inside the records service: which records an actor may read, update, delete.

Rights become SQL, never a Python filter over loaded rows (house rule: filters are SQL), so
a page, a count and a single read all see the same records. `scope` is the one place the
clause is built. `None` as the actor is the system (CLI, demo, migrations): unrestricted.

A record outside the actor's read scope does not exist for them (NotFound, never a 403
that would reveal it); a readable record they may not change is `Forbidden`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from karte.meta.model import ALL_RIGHTS, Entity, Permission
from karte.problems import Problem
from karte.store.actor import Actor
from karte.store.errors import Forbidden
from karte.store.records.store import Store
from karte.store.validation import noun

SCOPED = ("read", "update", "delete")


def rights(store: Store, entity: Entity, actor: Actor | None) -> Permission:
    """The actor's rights on the entity; the system has them all. A part is read as its
    parent is and never written on its own (its lines are saved with the parent); its
    field-level `hidden` / `read_only` are its own (SPEC §3.4). Worked out once per
    (entity, role)."""
    if actor is None:
        return ALL_RIGHTS
    role = actor.role
    return store.remember(("rights", entity.name, role),
                          lambda: _rights(store, entity, role))


def _rights(store: Store, entity: Entity, role: str) -> Permission:
    if entity.part_of is not None and entity.part_of in store.pack.entities:
        own = store.pack.permission(role, entity.name)
        return Permission(store.pack.permission(role, entity.part_of).read, False,
                          False, False, hidden=own.hidden, read_only=own.read_only)
    return store.pack.permission(role, entity.name)


def own_column(entity: Entity) -> str:
    """Whose a record is: its `owner` user field, else who created it."""
    return entity.owner_field or "created_by"


def allows(store: Store, entity: Entity, actor: Actor | None, action: str,
           record: Mapping[str, Any]) -> bool:
    """Whether `actor` may `action` ("update", "delete") the record as read: what a page
    offers. Writes are judged again on the stored row (check_record)."""
    level = getattr(rights(store, entity, actor), action)
    if level == "own":
        return actor is not None and record.get(own_column(entity)) == actor.id
    return bool(level)


def scope_key(store: Store, entity: Entity, actor: Actor | None,
              action: str) -> tuple[Any, ...]:
    """What `scope` depends on: the role, and the actor's id when the role's level is
    "own" (a part's: its parent's level). Equal keys, equal clauses."""
    if actor is None:
        return (None, None)
    parent = store.pack.entities.get(entity.part_of) if entity.part_of else None
    level = getattr(rights(store, parent or entity, actor), action)
    return (actor.role, actor.id if level == "own" else None)


def scope(store: Store, entity: Entity, actor: Actor | None,
          action: str) -> sa.ColumnElement[bool]:
    """SQL: the entity's rows `actor` may `action` ("read", "update" or "delete"). A
    part's rows are those whose parent the actor may `action` (SPEC §3.5). Built once
    per entity, action and `scope_key`."""
    return store.remember(("scope", entity.name, action, *scope_key(store, entity, actor,
                                                                      action)),
                          lambda: _scope(store, entity, actor, action))


def _scope(store: Store, entity: Entity, actor: Actor | None,
           action: str) -> sa.ColumnElement[bool]:
    if entity.part_of is not None and entity.part_of in store.pack.entities:
        return _part_scope(store, entity, store.pack.entities[entity.part_of], actor, action)
    level = getattr(rights(store, entity, actor), action)
    if level == "all":
        return sa.true()
    if level == "own" and actor is not None:
        return store.table(entity).c[own_column(entity)] == actor.id
    return sa.false()


def _part_scope(store: Store, part: Entity, parent: Entity, actor: Actor | None,
                action: str) -> sa.ColumnElement[bool]:
    within = scope(store, parent, actor, action)
    if isinstance(within, sa.sql.elements.True_ | sa.sql.elements.False_):
        return within
    table = store.table(parent)
    return sa.exists(sa.select(1).select_from(table).where(
        table.c.id == store.table(part).c[parent.name], within))


JA_VERBS = {"read": "閲覧", "create": "作成", "update": "変更", "delete": "削除",
            "restore": "復元", "move": "移動", "add notes to": "メモ追加"}


def forbidden(entity: Entity, actor: Actor, verb: str, own: bool = False) -> Forbidden:
    """"Your role (viewer) may not create deals." — the role and the entity in words, in
    the actor's language (English or Japanese)."""
    if actor.locale == "ja" and verb in JA_VERBS:
        label = entity.label.get("ja")
        message = (f"ロール（{actor.role}）は自分の{label}のみ{JA_VERBS[verb]}できます。" if own
                   else f"ロール（{actor.role}）は{label}を{JA_VERBS[verb]}できません。")
        return Forbidden([Problem("", message, "forbidden")])
    nouns = noun(entity, plural=True)
    message = (f"Your role ({actor.role}) may only {verb} your own {nouns}." if own
               else f"Your role ({actor.role}) may not {verb} {nouns}.")
    return Forbidden([Problem("", message, "forbidden")])


def check_create(store: Store, entity: Entity, actor: Actor | None) -> None:
    if actor is not None and not rights(store, entity, actor).create:
        raise forbidden(entity, actor, "create")


def check_record(store: Store, conn: sa.Connection, entity: Entity, actor: Actor | None,
                 action: str, id: Any, verb: str | None = None) -> None:
    """Forbidden unless `action` is allowed on the stored record `id` (the caller has
    already read it within the read scope). "own" is judged by the database, on the row
    as stored, not on values the caller sent."""
    level = getattr(rights(store, entity, actor), action)
    if actor is None or level == "all":
        return
    if level == "own":
        table = store.table(entity)
        query = sa.select(table.c.id).where(table.c.id == id,
                                            scope(store, entity, actor, action))
        if conn.scalar(query) is not None:
            return
    raise forbidden(entity, actor, verb or action, own=level == "own")


def read_for(store: Store, conn: sa.Connection, entity: Entity, id: Any,
             actor: Actor | None, action: str, *, include_deleted: bool = False,
             lock: bool = False, verb: str | None = None) -> dict[str, Any]:
    """The stored record the actor is about to change: NotFound outside the read scope,
    Forbidden when `action` is not theirs on it."""
    record = store.read_one(conn, entity, id, include_deleted, lock,
                            scope=scope(store, entity, actor, "read"))
    check_record(store, conn, entity, actor, action, record["id"], verb)
    return record
