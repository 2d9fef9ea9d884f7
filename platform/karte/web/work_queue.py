"""Home's work queue (issue 12): my to-dos, my records that need action, and what other
people changed on my records — generic over the pack, no entity is named here.

Every section is a list page filter (`f.<field>.<op>` and `late=` parameters, `list_params`):
it reads its rows with the condition those parameters make (to-dos: the same records,
read by `queue.todo_ids` from two ranges of the to-do index), and its "and N more" links
to the list page with the same parameters, so the link shows exactly the section's
records ("too long in their stage" is `late=<workflow>`). Each read is one indexed query
with a LIMIT (`workflow/queue.py`; the `__home`, `__todo` and `__changed` indexes of
`store/tables.py`), and each count stops at CAP.

"Mine" is the entity's owner field (`owner`), or else its first `user` field. Dates are
the pack's calendar days: "today" is today in the pack's timezone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import url_for
from werkzeug.datastructures import MultiDict

from karte.meta.model import Entity, Workflow
from karte.store.lookup import can_read
from karte.web import actor, records, registry
from karte.web.list_params import parse, timed_workflows
from karte.workflow import queue

TODOS = 15           # to-do rows on home
ROWS = 8             # rows per "needs action" group
CHANGED = 8          # records in "changed by others"
CAP = 100            # counts stop here ("100+")
WEEK = 7             # days ahead that "coming up" reaches
RECENT_DAYS = 14     # how far back "changed by others" looks

Params = list[tuple[str, str]]


def now() -> dt.datetime:
    """The moment (a function, so that tests can move the clock)."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today in the pack's timezone."""
    return now().astimezone(ZoneInfo(registry().timezone or "UTC")).date()


def mine_field(entity: Entity) -> str | None:
    """The field that says whose the record is: `owner`, else the first user field."""
    if entity.owner_field is not None:
        return entity.owner_field
    return next((f.name for f in entity.fields.values() if f.type == "user"), None)


def done_field(entity: Entity) -> str | None:
    """The boolean that makes the entity's records to-dos (`timeline_item.done`)."""
    item = entity.timeline_item
    name = getattr(item, "done", None) if item is not None else None
    field = entity.fields.get(name) if name else None
    return name if field is not None and field.type == "boolean" else None


def list_url(entity: Entity, params: Params) -> str:
    """The list page filtered by `params` (what a section's "and N more" opens)."""
    return url_for("lists.index", entity=entity.name) + "?" + urlencode(params)


def condition(entity: Entity, params: Params) -> dict[str, Any] | None:
    """The condition the list page makes of `params`: the same records, by construction."""
    return parse(entity, MultiDict(params)).where()


def _section(entity: Entity, params: Params, sort: str, limit: int) -> dict[str, Any]:
    where = condition(entity, params)
    rows = records().query(entity.name, where=where, sort=sort, limit=limit, actor=actor())
    count = len(rows) if len(rows) < limit else \
        records().count(entity.name, where=where, actor=actor(), cap=CAP)
    return {"entity": entity, "rows": rows, "count": count, "more": list_url(entity, params),
            "params": params}


# ---------------------------------------------------------------- to-dos


def _day_bound(entity: Entity, at: str, day: dt.date) -> tuple[str, str]:
    """(op, value) for "dated on or before `day`" on the `at` field: a date compares as
    the day, a datetime as before the next midnight in the pack's timezone."""
    field = entity.fields[at]
    if field.type == "date":
        return "lte", day.isoformat()
    zone = ZoneInfo(registry().timezone or "UTC")
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, zone)
    return "lt", midnight.astimezone(dt.UTC).isoformat()


def todo_params(entity: Entity, until: dt.date) -> Params | None:
    """Mine, open (done not set) and dated on or before `until`."""
    done, mine = done_field(entity), mine_field(entity)
    if done is None or mine is None or entity.timeline_item is None:
        return None
    at = entity.timeline_item.at
    op, value = _day_bound(entity, at, until)
    return [(f"f.{mine}", "me"), (f"f.{done}.ne", "true"), (f"f.{at}.{op}", value)]


def _local_day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        zone = ZoneInfo(registry().timezone or "UTC")
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(zone).date()
    return value if isinstance(value, dt.date) else None


def bucket(value: Any, day: dt.date) -> tuple[str, int]:
    """("overdue", days late) | ("today", 0) | ("week", days ahead) of a due value."""
    due = _local_day(value)
    if due is None:
        return "week", 0
    if due < day:
        return "overdue", (day - due).days
    return ("today", 0) if due == day else ("week", (due - day).days)


def _todo_section(entity: Entity, params: Params, day: dt.date) -> dict[str, Any]:
    """Like `_section`, its page read through `queue.todo_ids` (which reads no done
    item), then the records by id; the count capped."""
    at, mine = entity.timeline_item.at, mine_field(entity)  # type: ignore[union-attr]
    ids, count = queue.todo_ids(records().store, entity, mine or "", actor(),
                                day + dt.timedelta(days=WEEK),
                                registry().timezone or "UTC", TODOS, CAP)
    rows = records().query(entity.name, where={"field": "id", "op": "in", "value": ids},
                           sort=at, limit=TODOS, actor=actor()) if ids else []
    return {"entity": entity, "rows": rows, "count": min(count, CAP),
            "more": list_url(entity, params), "params": params}


def todos() -> list[dict[str, Any]]:
    """Per readable to-do entity: my open ones due by the end of the coming week, oldest
    due first (so overdue, then today, then the week), each with its bucket."""
    store, who, day = records().store, actor(), today()
    found = []
    for entity in registry().entities.values():
        params = todo_params(entity, day + dt.timedelta(days=WEEK))
        if params is None or not can_read(store, entity.name, who):
            continue
        at = entity.timeline_item.at if entity.timeline_item else "id"
        section = _todo_section(entity, params, day)
        section["items"] = [{"row": row, "bucket": bucket(row.get(at), day)}
                            for row in section["rows"]]
        section["done"], section["at"] = done_field(entity), at
        found.append(section)
    return found


# ---------------------------------------------------------------- needs action


def waiting_params(entity: Entity, flow: Workflow) -> Params | None:
    """Mine and in an open (not final) stage: the next move is mine to make."""
    mine = mine_field(entity)
    open_ = [s.key for s in flow.stages if not s.final]
    if mine is None or not open_ or flow.field not in entity.fields:
        return None
    return [(f"f.{mine}", "me"), (f"f.{flow.field}.in", ",".join(open_))]


def late_params(entity: Entity, flow: Workflow) -> Params | None:
    """Mine and longer in their stage of `flow` than it allows (the list's `late=`)."""
    mine = mine_field(entity)
    if mine is None or flow not in timed_workflows(entity):   # what `late=` accepts
        return None
    return [(f"f.{mine}", "me"), ("late", flow.name)]


def _overdue(entity: Entity, flow: Workflow, params: Params) -> dict[str, Any]:
    """Mine and longer in their stage than its `max_days`: the list page's query, so "and
    N more" opens exactly these records."""
    section = _section(entity, params, "id", ROWS)
    return {**section, "flow": flow, "capped": section["count"] >= CAP}


def needs_action() -> dict[str, list[dict[str, Any]]]:
    """Per workflow of a readable entity with an owner: my records overdue in their stage
    (stages with `max_days`), and my records in open stages, untouched longest first."""
    store, who = records().store, actor()
    late, waiting = [], []
    for flow in registry().workflows.values():
        entity = registry().entities.get(flow.entity)
        if entity is None or not can_read(store, entity.name, who):
            continue
        mine, params = mine_field(entity), waiting_params(entity, flow)
        if mine is None or params is None:
            continue
        if (overdue := late_params(entity, flow)) is not None:
            found = _overdue(entity, flow, overdue)
            if found["rows"]:
                late.append(found)
        section = _section(entity, params, "updated_at", ROWS)
        if section["rows"]:
            waiting.append({**section, "flow": flow})
    return {"late": late, "waiting": waiting}


# ---------------------------------------------------------------- others' changes


def changed_params(entity: Entity, since: dt.date) -> Params | None:
    """Mine, last changed by someone else (a signed-in user: the demo loader's records
    name nobody), since `since`."""
    mine = mine_field(entity)
    if mine is None:
        return None
    return [(f"f.{mine}", "me"), ("f.updated_by.empty", "0"), ("f.updated_by.ne", "me"),
            ("f.updated_at.gte", since.isoformat())]


def changed_by_others() -> list[dict[str, Any]]:
    """Per readable entity with an owner: my records someone else changed last, newest
    first, each with that person's latest changes (from the audit log, by record)."""
    store, who = records().store, actor()
    since = today() - dt.timedelta(days=RECENT_DAYS)
    asked = {}
    for entity in registry().entities.values():
        params = changed_params(entity, since)
        if params is None or not can_read(store, entity.name, who) or entity.part_of:
            continue
        asked[entity.name] = (entity, params)
    hits = records().nonempty({name: condition(entity, params)
                               for name, (entity, params) in asked.items()}, actor=who)
    found = []
    for name, (entity, params) in asked.items():
        if name not in hits:
            continue                  # nobody else changed my records of this entity
        section = _section(entity, params, "-updated_at", CHANGED)
        if section["rows"]:
            section["changes"] = _audit_of(entity, [r["id"] for r in section["rows"]], since)
            found.append(section)
    return found


def _audit_of(entity: Entity, ids: Sequence[int], since: dt.date) -> dict[int, list[dict]]:
    cutoff = dt.datetime.combine(since, dt.time.min, dt.UTC)
    return queue.changes_by(records().store, entity, ids, actor(), cutoff)


def names(ids: set[int]) -> dict[int, str]:
    """Users' names (or e-mail addresses) by id."""
    return queue.names(records().store, ids)
