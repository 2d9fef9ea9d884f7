"""Soft delete with each link's `on_delete`, and restore.

Deleting first plans the whole effect — records deleted along by `cascade` (recursively),
links cleared by `set_null`, live records that `restrict` it — and refuses before writing
anything if a restrict link remains. Only live rows count: a deleted deal does not keep its
customer alive. `links` (many-to-many) rows are kept, so a restore brings them back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity, Field
from karte.problems import Problem
from karte.store import audit
from karte.store.errors import Refused
from karte.store.records.store import Store, chunks
from karte.store.validation import noun

Key = tuple[str, str]   # (entity, link field)


@dataclass
class Plan:
    deletes: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    """entity → {id: version} of records to soft-delete"""
    nulls: dict[Key, dict[int, tuple[int, int]]] = field(
        default_factory=lambda: defaultdict(dict))
    """(entity, field) → {id: (version, old target)} of links to clear"""
    blockers: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    """entity → ids of live records whose restrict link points into the deletion"""


Pointing = sa.Row[Any, Any, Any]     # a pointing record's (id, version, link value)


def referrers(store: Store, target: str) -> list[tuple[Entity, Field]]:
    """Every link field of the pack that points at `target`."""
    return [(entity, f) for entity in store.pack.entities.values()
            for f in entity.fields.values() if f.type == "link" and f.to == target]


def _pointing(store: Store, conn: sa.Connection, source: Entity, link: Field,
              ids: list[int]) -> list[Pointing]:
    table = store.table(source)
    column = table.c[link.name]
    rows: list[Pointing] = []
    for batch in chunks(ids):
        rows += conn.execute(sa.select(table.c.id, table.c.version, column)
                             .where(column.in_(batch), table.c.deleted_at.is_(None))).all()
    return rows


def _cascade(plan: Plan, source: Entity, link: Field, row: Pointing) -> bool:
    id, version, _target = row
    if id in plan.deletes[source.name]:
        return False
    plan.deletes[source.name][id] = version
    return True


def _set_null(plan: Plan, source: Entity, link: Field, row: Pointing) -> bool:
    id, version, target = row
    plan.nulls[(source.name, link.name)][id] = (version, target)
    return False


def _restrict(plan: Plan, source: Entity, link: Field, row: Pointing) -> bool:
    plan.blockers[source.name].add(row[0])
    return False


ON_DELETE: dict[str, Callable[[Plan, Entity, Field, Pointing], bool]] = {
    "cascade": _cascade, "set_null": _set_null, "restrict": _restrict}
"""Per `on_delete`: record what a pointing row needs; True when it is newly deleted."""


def _follow(plan: Plan, source: Entity, link: Field, rows: list[Pointing]) -> list[int]:
    """Apply the link's on_delete to each pointing row; return the rows deleted along."""
    act = ON_DELETE.get(link.on_delete, _restrict)
    return [row[0] for row in rows if act(plan, source, link, row)]


def plan_delete(store: Store, conn: sa.Connection, entity: Entity, id: int,
                version: int) -> Plan:
    """Everything deleting the record touches, level by level (one query per link)."""
    plan = Plan()
    plan.deletes[entity.name][id] = version
    frontier: dict[str, list[int]] = {entity.name: [id]}
    while frontier:
        following: dict[str, list[int]] = defaultdict(list)
        for target, ids in frontier.items():
            for source, link in referrers(store, target):
                rows = _pointing(store, conn, source, link, ids)
                following[source.name] += _follow(plan, source, link, rows)
        frontier = {name: ids for name, ids in following.items() if ids}
    for name, blocked in plan.blockers.items():
        blocked.difference_update(plan.deletes[name])
    for (name, _link), nulled in plan.nulls.items():
        for gone in set(nulled) & set(plan.deletes[name]):
            del nulled[gone]
    return plan


def _count_of(store: Store, name: str, count: int) -> str:
    words = noun(store.entity(name), plural=count != 1)
    return f"{count} {words} still {'points' if count == 1 else 'point'}"


def refusal(store: Store, entity: Entity, plan: Plan) -> Refused | None:
    """The restrict links blocking the delete, counted per entity ("3 deals still …")."""
    this = noun(entity)
    problems = [Problem("", f"{_count_of(store, name, len(ids))} at this {this}; delete "
                            "or move them first.", "restrict")
                for name, ids in sorted(plan.blockers.items()) if ids]
    return Refused(problems) if problems else None


def apply_delete(store: Store, conn: sa.Connection, plan: Plan, at: dt.datetime,
                 user_id: int | None) -> None:
    """Clear set_null links, then soft-delete every planned record; all audited."""
    rows: list[dict[str, Any]] = []
    for (name, link), targets in plan.nulls.items():
        table = store.table(name)
        for id, (version, target) in targets.items():
            conn.execute(table.update().where(table.c.id == id).values(
                {link: None, "version": version + 1, "updated_at": at, "updated_by": user_id}))
            change: dict[str, list[Any]] = {link: [target, None],
                                            audit.VERSION: [version, version + 1]}
            rows.append(audit.row(name, id, "update", user_id, at, change))
    for name, versions in plan.deletes.items():
        table = store.table(name)
        for id, version in versions.items():
            conn.execute(table.update().where(table.c.id == id).values(
                deleted_at=at, version=version + 1, updated_at=at, updated_by=user_id))
            change = {"deleted_at": [None, at.isoformat()],
                      audit.VERSION: [version, version + 1]}
            rows.append(audit.row(name, id, "delete", user_id, at, change))
    audit.write(conn, store.audit, rows)


def dead_links(store: Store, conn: sa.Connection, entity: Entity,
               record: dict[str, Any]) -> list[Problem]:
    """Links of a record being restored that point at deleted records."""
    problems = []
    for f in entity.fields.values():
        target_id = record.get(f.name) if f.type == "link" else None
        if target_id is None:
            continue
        target = store.table(f.to_entity)
        alive = conn.scalar(sa.select(target.c.id).where(target.c.id == target_id,
                                                         target.c.deleted_at.is_(None)))
        if alive is None:
            problems.append(Problem(f.name, f"Restore {noun(store.entity(f.to_entity))} "
                                            f"{target_id} first: this {noun(entity)} points "
                                            "at it.",
                                    "restrict"))
    return problems
