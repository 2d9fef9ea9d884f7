"""The SQL of home's work queue (web/work_queue.py, docs/home.md): each read is one
statement with a LIMIT on an index, and each count stops at a cap.

- `todo_ids`: a user's open to-dos due by a bound, soonest first — two ordered ranges of
  the (mine, done, at, id) index (done false, done empty) merged, so no done item is read.
- `changes_by`: the latest audit rows written by others on a few records.
- `names`: users' names by id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from karte.meta.model import Entity
from karte.store.actor import Actor, actor_id
from karte.store.permissions import scope
from karte.store.records.store import Store


def open_todos(store: Store, entity: Entity, mine: str, actor: Actor | None,
               until: dt.date, zone: str, limit: int) -> sa.Select[Any]:
    """The ids of the actor's open to-dos of `entity` (`mine` is them, `done` false or
    empty) dated on or before `until` (a datetime `at`: before the next midnight in
    `zone`), soonest first, at most `limit`."""
    table, item = store.table(entity), entity.timeline_item
    assert item is not None and item.done is not None
    done, at = table.c[item.done], table.c[item.at]
    if entity.fields[item.at].type == "date":
        due = at <= until
    else:
        midnight = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min,
                                       ZoneInfo(zone))
        due = at < midnight.astimezone(dt.UTC)
    base = sa.and_(table.c[mine] == actor_id(actor), at.is_not(None), due,
                   table.c.deleted_at.is_(None), scope(store, entity, actor, "read"))
    parts = [sa.select(table.c.id, at.label("at")).where(base, state)
             .order_by(at, table.c.id).limit(limit).subquery()
             for state in (done == sa.false(), done.is_(None))]
    both = sa.union_all(*(sa.select(p.c.id, p.c.at) for p in parts)).subquery()
    return sa.select(both.c.id).order_by(both.c.at, both.c.id).limit(limit)


def todo_ids(store: Store, entity: Entity, mine: str, actor: Actor | None, until: dt.date,
             zone: str, limit: int, cap: int) -> tuple[list[int], int]:
    """The first `limit` ids of `open_todos` and how many there are (up to `cap`, then
    cap + 1)."""
    with store.engine.connect() as conn:
        ids = list(conn.scalars(open_todos(store, entity, mine, actor, until, zone, limit)))
        if len(ids) < limit:
            return ids, len(ids)
        counted = open_todos(store, entity, mine, actor, until, zone, cap + 1).subquery()
        return ids, int(conn.scalar(sa.select(sa.func.count()).select_from(counted)) or 0)


def changes_by(store: Store, entity: Entity, ids: Sequence[int], actor: Actor | None,
               since: dt.datetime, each: int = 5) -> dict[int, list[dict[str, Any]]]:
    """Per record of `ids`: the latest audit rows (about `each` per record) written since
    `since` by signed-in users other than the actor, newest first — from the audit's
    (entity, record_id, at) index."""
    audit = store.audit
    query = (sa.select(audit.c.record_id, audit.c.action, audit.c.at, audit.c.changes,
                       audit.c.user_id)
             .where(audit.c.entity == entity.name, audit.c.record_id.in_(list(ids)),
                    audit.c.at >= since, audit.c.user_id.is_not(None),
                    audit.c.user_id != actor_id(actor))
             .order_by(audit.c.at.desc(), audit.c.id.desc()).limit(len(ids) * each))
    found: dict[int, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query).mappings():
            found.setdefault(row["record_id"], []).append(dict(row))
    return found


def names(store: Store, ids: set[int]) -> dict[int, str]:
    """Users' names (or e-mail addresses) by id."""
    users = store.users
    if not ids:
        return {}
    who = sa.func.coalesce(sa.func.nullif(users.c.name, ""), users.c.email)
    with store.engine.connect() as conn:
        return {int(id): str(name) for id, name in conn.execute(
            sa.select(users.c.id, who).where(users.c.id.in_(sorted(ids))))}
