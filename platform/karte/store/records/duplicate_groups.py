"""The groups of records a duplicate rule finds across a whole table (SPEC §14: data
cleansing), in SQL: `GROUP BY` the rule's normalised keys (`karte.store.duplicate_keys`)
`HAVING count(*) > 1`, over the live records the actor may read, ordered by the keys (the
order of the rule's index, so a page of groups is read from the index and stops there),
paged by limit and offset. A second query reads the page's members, at most `MEMBERS` per
group (a window over the same keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity
from karte.store.actor import Actor
from karte.store.duplicate_keys import rule_keys, usable
from karte.store.field_rights import hidden
from karte.store.permissions import scope
from karte.store.records.store import Store

MEMBERS = 10          # records shown per group (the count says how many there are)
MAX_GROUPS = 100


@dataclass
class Group:
    key: tuple[Any, ...]
    count: int
    ids: list[int] = field(default_factory=list)


def rules(store: Store, entity: Entity, actor: Actor | None) -> list[tuple[str, ...]]:
    """The entity's duplicate rules the actor can use: every field stored and visible to
    them (a group must not reveal a value they cannot see)."""
    unseen = hidden(store, entity, actor)
    return [rule for rule in entity.duplicates
            if usable(entity, rule) and not set(rule) & unseen]


def _live(store: Store, entity: Entity, actor: Actor | None,
          keys: Sequence[sa.ColumnElement[Any]]) -> list[sa.ColumnElement[bool]]:
    table = store.table(entity)
    return [table.c.deleted_at.is_(None), scope(store, entity, actor, "read"),
            *(key.is_not(None) for key in keys)]


def groups(store: Store, conn: sa.Connection, entity: Entity, rule: tuple[str, ...],
           actor: Actor | None, limit: int, offset: int) -> tuple[list[Group], bool]:
    """One page of the rule's groups, each with its first members' ids, and whether more
    groups follow."""
    table = store.table(entity)
    keys = rule_keys(entity, table, rule)
    count = sa.func.count().label("n")
    query = (sa.select(*keys, count).where(*_live(store, entity, actor, keys))
             .group_by(*keys).having(sa.func.count() > 1).order_by(*keys)
             .limit(limit + 1).offset(offset))
    rows = conn.execute(query).all()
    found = [Group(tuple(row[:-1]), row[-1]) for row in rows[:limit]]
    if found:
        _members(store, conn, entity, rule, actor, found)
    return found, len(rows) > limit


def _members(store: Store, conn: sa.Connection, entity: Entity, rule: tuple[str, ...],
             actor: Actor | None, found: list[Group]) -> None:
    """The first MEMBERS ids of each group (newest change first), one query."""
    table = store.table(entity)
    keys = rule_keys(entity, table, rule)
    match = sa.or_(*(sa.and_(*(k == v for k, v in zip(keys, g.key, strict=True)))
                     for g in found))
    rank = sa.func.row_number().over(partition_by=keys,
                                     order_by=(table.c.updated_at.desc(), table.c.id.desc()))
    inner = (sa.select(table.c.id, rank.label("rank"), *(k.label(f"k{i}")
                                                         for i, k in enumerate(keys)))
             .where(match, *_live(store, entity, actor, keys)).subquery())
    query = (sa.select(inner.c.id, *(inner.c[f"k{i}"] for i in range(len(keys))))
             .where(inner.c.rank <= MEMBERS).order_by(inner.c.rank))
    by_key = {g.key: g for g in found}
    for row in conn.execute(query):
        group = by_key.get(tuple(row[1:]))
        if group is not None:
            group.ids.append(row[0])
