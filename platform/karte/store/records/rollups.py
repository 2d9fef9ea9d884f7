"""Rollups kept current in the transaction of every write that can change them (SPEC §3.6).

A write of child records names the parents whose rollups it may have changed (old and new
link values); `refresh` then runs one aggregate SELECT per rollup for exactly those parents
(`GROUP BY` the link, live children only, `where` compiled to SQL) — never a scan of the
whole child table — recomputes the parents' formulas, writes the parents whose values
changed, and carries on to the grandparents whose rollups read what changed.

A refresh leaves the parent's `version` and `updated_at` alone, and writes no audit row:
the value is derived, nobody edited the parent, and bumping its version would make a
colleague's open edit of the parent fail as a conflict because someone added a deal.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from karte.fields import is_empty
from karte.meta.conditions import Context
from karte.meta.model import Entity, Pack
from karte.meta.rollups import Rollup, of_entity, stored
from karte.store.records.delete import Plan
from karte.store.records.fetch import Linked
from karte.store.records.store import Store, chunks
from karte.store.records.write import compute_formulas
from karte.store.where import to_sql

Parents = dict[str, set[int]]          # link field of the child → parent ids
MAX_ROUNDS = 100                       # grandparents and up; cycles are refused by check


def over(pack: Pack, child: str) -> list[tuple[Entity, str, Rollup]]:
    """Every rollup of the pack aggregating `child` records: (parent, field, rollup),
    worked out once per pack and child (a bulk write asks per batch and line field).
    Keyed by the pack object: it is frozen, and an entry holds it, so its id is not
    reused."""
    found = _OVER.get((id(pack), child))
    if found is None or found[0] is not pack:
        if len(_OVER) > 10_000:       # packs built again and again (tests): start afresh
            _OVER.clear()
        found = _OVER[(id(pack), child)] = (pack, [
            (entity, name, rollup) for entity in pack.entities.values()
            for name, rollup in of_entity(entity) if rollup.child == child])
    return found[1]


_OVER: dict[tuple[int, str], tuple[Pack, list[tuple[Entity, str, Rollup]]]] = {}


def aggregate(store: Store, rollup: Rollup, parent_ids: Sequence[int] | None) -> sa.Select[Any]:
    """(parent id, aggregate…) of the live children, per parent; all parents when
    `parent_ids` is None (a backfill or `karte recompute`)."""
    table = store.table(rollup.child)
    link = table.c[rollup.link]
    column = table.c[rollup.field] if rollup.field else None
    values: list[sa.ColumnElement[Any]]
    if column is None:
        values = [sa.func.count()]
    elif rollup.agg == "avg":     # in Python, exactly: SQLite's avg() is a float
        values = [sa.func.sum(column), sa.func.count(column)]
    else:
        values = [getattr(sa.func, rollup.agg)(column)]
    query = sa.select(link, *values).where(table.c.deleted_at.is_(None), link.is_not(None))
    if rollup.where is not None:
        query = query.where(to_sql(rollup.where, store.tables, Context.current()))
    if parent_ids is not None:
        query = query.where(link.in_(parent_ids))
    return query.group_by(link)


def value_of(rollup: Rollup, row: Sequence[Any]) -> Any:
    """The stored value from one aggregate row (without the parent id)."""
    if rollup.agg == "count":
        return stored(Decimal(row[0]), rollup.result)
    if rollup.agg == "avg":
        total, count = row
        return None if not count else stored(_decimal(total) / count, rollup.result)
    if row[0] is None:
        return rollup.empty
    return stored(_decimal(row[0]), rollup.result)


def _decimal(value: Any) -> Any:
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value


def fresh(store: Store, conn: sa.Connection, rollup: Rollup,
          parent_ids: Iterable[int]) -> dict[int, Any]:
    """The rollup's value for each of `parent_ids` (no children: `rollup.empty`)."""
    wanted = sorted(set(parent_ids))
    values = dict.fromkeys(wanted, rollup.empty)
    for batch in chunks(wanted):
        for row in conn.execute(aggregate(store, rollup, batch)):
            values[row[0]] = value_of(rollup, row[1:])
    return values


def parents_of(store: Store, entity: Entity, records: Iterable[Mapping[str, Any] | None],
               changed: Iterable[str] | None = None,
               into: Parents | None = None) -> Parents:
    """The parents whose rollups over `entity` these records' writes may change: every
    linked parent (`changed` None: a create, delete or restore), else those whose link
    changed (old and new, pass both records) or whose rollup reads a changed field."""
    found: Parents = {} if into is None else into
    names = None if changed is None else set(changed)
    rows = [r for r in records if r is not None]
    for _parent, _name, rollup in over(store.pack, entity.name):
        if names is not None and rollup.link not in names and not rollup.reads & names:
            continue
        found.setdefault(rollup.link, set()).update(
            r[rollup.link] for r in rows if not is_empty(r.get(rollup.link)))
    return found


def refresh(store: Store, conn: sa.Connection, child: str,
            parent_ids_by_link: Mapping[str, Iterable[int | None]]) -> None:
    """Recompute the rollups over `child` records for the parents named per link field
    (pass old and new link values of re-pointed records), then their formulas, and on up
    to the grandparents while values change. Call it inside the write's transaction,
    after the child rows are written."""
    propagate(store, conn, child, {link: {i for i in ids if i is not None}
                                   for link, ids in parent_ids_by_link.items()})


def propagate(store: Store, conn: sa.Connection, child: str, parents: Parents) -> None:
    """Refresh the parents of `child` records, then theirs, while values change."""
    queue = deque([(child, parents)])
    rounds = 0
    while queue and rounds < MAX_ROUNDS:
        rounds += 1
        name, by_link = queue.popleft()
        for parent, rollups in _by_parent(store, name, by_link).items():
            written = _refresh_parent(store, conn, store.entity(parent), rollups, by_link)
            if written:
                queue.append((parent, next_parents(store, store.entity(parent), written)))


def _by_parent(store: Store, child: str,
               by_link: Mapping[str, set[int]]) -> dict[str, list[tuple[str, Rollup]]]:
    """The rollups over `child` that the named parents have, per parent entity."""
    found: dict[str, list[tuple[str, Rollup]]] = defaultdict(list)
    for parent, name, rollup in over(store.pack, child):
        if by_link.get(rollup.link):
            found[parent.name].append((name, rollup))
    return found


def _refresh_parent(store: Store, conn: sa.Connection, entity: Entity,
                    rollups: list[tuple[str, Rollup]],
                    by_link: Mapping[str, set[int]]) -> Written:
    """Lock the parents' rows, then aggregate: a concurrent write of another child of the
    same parent waits for this transaction, and aggregates after it (on PostgreSQL each
    statement sees what committed before it), so neither overwrites the other's total.
    The lock is FOR NO KEY UPDATE, in id order: the children's foreign keys hold KEY SHARE
    locks on their parents, which FOR UPDATE would deadlock with."""
    ids = sorted(set().union(*(by_link[rollup.link] for _name, rollup in rollups)))
    table = store.table(entity)
    for batch in chunks(ids):
        conn.execute(sa.select(table.c.id).where(table.c.id.in_(batch))
                     .order_by(table.c.id).with_for_update(key_share=True))
    rows = store.read(conn, entity, ids, include_deleted=True, lines=False)
    values: dict[int, dict[str, Any]] = {id: {} for id in rows}
    for name, rollup in rollups:
        for id, value in fresh(store, conn, rollup, by_link[rollup.link]).items():
            if id in values:
                values[id][name] = value
    return write(store, conn, entity, values, rows)


Written = dict[int, tuple[dict[str, Any], dict[str, Any], set[str]]]
"""id → (row before, row after, changed field names) of the records a refresh wrote"""


def write(store: Store, conn: sa.Connection, entity: Entity,
          values: Mapping[int, Mapping[str, Any]],
          rows: Mapping[int, dict[str, Any]] | None = None) -> Written:
    """Store fresh rollup values (and every formula, recomputed) of the records that
    differ — deleted ones too, so a restore finds them right — without a version bump.
    `rows` are the records as read (else they are read here)."""
    if rows is None:
        rows = store.read(conn, entity, list(values), include_deleted=True)
    derived = [n for n, f in entity.fields.items() if f.derived]
    linked = Linked(store, conn, entity, None)    # formulas reading through a link
    linked.prime(rows.values())
    written: Written = {}
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for id, row in rows.items():
        new = {**row, **values[id]}
        compute_formulas(entity, new, linked.hop_values(new))
        changed = tuple(n for n in derived if new.get(n) != row.get(n))
        if changed:
            written[id] = (row, new, set(changed))
            groups[changed].append({"_id": id, **{n: new[n] for n in changed}})
    table = store.table(entity)
    for names, params in groups.items():
        conn.execute(table.update().where(table.c.id == sa.bindparam("_id"))
                     .values({n: sa.bindparam(n) for n in names}), params)
    return written


def next_parents(store: Store, entity: Entity, written: Written) -> Parents:
    """The grandparents to refresh: those of written parents whose rollups read a changed
    value."""
    by_link: Parents = {}
    for _before, row, changed in written.values():
        parents_of(store, entity, [row], changed, by_link)
    return by_link


def after_delete(store: Store, conn: sa.Connection, plan: Plan) -> None:
    """Refresh the parents of every record a delete took away (cascades included) or
    unlinked (`set_null`: the old target)."""
    touched: dict[str, Parents] = defaultdict(dict)
    for name, versions in plan.deletes.items():
        entity = store.entity(name)
        if versions and over(store.pack, name):
            rows = store.read(conn, entity, list(versions), include_deleted=True)
            parents_of(store, entity, rows.values(), into=touched[name])
    for (name, link), nulled in plan.nulls.items():
        old = {target for _version, target in nulled.values()}
        touched[name].setdefault(link, set()).update(old)
    for name, parents in touched.items():
        refresh(store, conn, name, parents)
