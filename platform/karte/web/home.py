"""Home and quick search (SPEC §11): generic over the pack — no entity is named here.

Home is the signed-in user's work queue (`karte.web.work_queue`, docs/home.md): their
open to-dos (overdue, today, the coming week), their records that need action (overdue in
their stage, waiting in an open stage), what other people changed on their records, and
the boards with their per-stage counts — and, under that, the first dashboard their role
may open (karte.web.dashboards). Search asks every readable entity's list search
for a few matches and how many there are.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _

from karte.meta.model import SYSTEM_FIELD_DEFS, Entity
from karte.store.audit import ACTION_RUN
from karte.store.field_rights import hidden
from karte.store.lookup import can_read
from karte.web import (
    actor,
    dashboards,
    records,
    registry,
    render,
    text,
    work_queue,
    workflows,
)
from karte.web.display import references_of
from karte.web.field_access import seen

blueprint = Blueprint("home", __name__)

FOUND = 5            # matches per entity in quick search
CAP = 100            # counts stop here ("100+")
BOARD_CAP = 1000     # a board's stage counts stop here ("1,000+"): read no further
COLUMNS = 3          # columns shown next to a title


def _readable() -> list[Entity]:
    store, user = records().store, actor()
    return [e for e in registry().entities.values() if can_read(store, e.name, user)]


def _columns(entity: Entity) -> list[str]:
    return [n for n in seen(entity, entity.list.columns) if n != entity.title_field][:COLUMNS]


def _group(entity: Entity, rows: list[dict], count: int) -> dict[str, Any]:
    return {"entity": entity, "rows": rows, "count": count, "columns": _columns(entity)}


def _referenced(*lists: list[dict[str, Any]]) -> None:
    """Give every group the titles and user names its columns show, read together: one
    query per linked entity for the whole page, not one per group."""
    groups = [g for found in lists for g in found]
    refs = references_of([(g["entity"], g["rows"], g["columns"]) for g in groups])
    for g in groups:
        g["refs"] = refs


def _boards(readable: list[Entity]) -> list[dict[str, Any]]:
    names = {e.name for e in readable}
    return [{"workflow": w, "counts": workflows().stage_counts(w, actor=actor(),
                                                                    only_counts=True,
                                                                    cap=BOARD_CAP)}
            for w in registry().workflows.values() if w.entity in names]


def _what(entity: Entity, row: dict[str, Any]) -> str:
    """"created", "changed Amount, Owner", "moved to Won" — in the UI language."""
    action, changes = row["action"], row.get("changes") or {}
    if action == "move":
        for flow in registry().workflows_of(entity.name):
            new = (changes.get(flow.field) or [None, None])[1]
            if new in flow.stage_keys:
                return _("moved to %(stage)s", stage=text(flow.stage(new).label))
    if action == "action":
        run = (changes.get(ACTION_RUN) or [None, None])[1] or {}
        act = next((a for a in entity.actions if a.name == run.get("name")), None)
        return _("ran “%(action)s” on", action=text(act.label)) if act else _("ran an action")
    if action in ("update", "move"):
        names = ", ".join(text(entity.fields[n].label) for n in row["fields"][:3])
        return _("changed %(fields)s", fields=names) if names else _("changed")
    return {"create": _("created"), "delete": _("deleted"),
            "restore": _("restored")}.get(action, action)


def _changes(entity: Entity, section: dict[str, Any]) -> None:
    """Each record's latest changes by others, said as "Ana changed Amount" (fields
    hidden from the viewer left out)."""
    unseen = hidden(records().store, entity, actor())
    rows = [r for found in section["changes"].values() for r in found]
    names = work_queue.names({r["user_id"] for r in rows})
    for record in section["rows"]:
        said = []
        for row in section["changes"].get(record["id"], []):
            changes = {k: v for k, v in (row["changes"] or {}).items()
                       if k != "version" and k not in unseen}
            if row["action"] == "update" and not changes:
                continue
            fields = [n for n in changes if n in entity.fields]
            said.append({"user": names.get(row["user_id"]), "at": row["at"],
                         "what": _what(entity, {**row, "changes": changes, "fields": fields})})
        record["_said"] = said[:3]
        record["_more_said"] = max(0, len(said) - 3)


def _changed() -> list[dict[str, Any]]:
    sections = work_queue.changed_by_others()
    for section in sections:
        _changes(section["entity"], section)
    return sections


def _queue_groups(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**s, **_group(s["entity"], s["rows"], s["count"])} for s in sections]


def _todo_groups(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """To-dos show what they are about (customer, deal...), not their due date, done box
    or owner again: those are the row's bucket, tick and "mine"."""
    groups = []
    for s in sections:
        entity = s["entity"]
        skip = {entity.title_field, s["at"], s["done"], work_queue.mine_field(entity)}
        columns = [n for n in seen(entity, entity.list.columns) if n not in skip][:COLUMNS]
        groups.append({**s, "columns": columns})
    return groups


@blueprint.route("/", methods=["GET"])
def index():
    """My to-dos, my records that need action, the boards, and what others changed on
    my records."""
    readable = _readable()
    action = work_queue.needs_action()
    todos, waiting = _todo_groups(work_queue.todos()), _queue_groups(action["waiting"])
    _referenced(todos, waiting)
    first = next(iter(dashboards.visible()), None)
    return render("home.html", todos=todos,
                  late=action["late"], waiting=waiting,
                  changed=_changed(), boards=_boards(readable),
                  when=SYSTEM_FIELD_DEFS["updated_at"], cap=CAP, today=work_queue.today(),
                  dashboard=first, pending=dashboards.pending(first) if first else [])


@blueprint.route("/search", methods=["GET"])
def search():
    """A few matches per readable entity, each group linking to its full list."""
    q = request.args.get("q", "").strip()
    groups = []
    for entity in _readable() if q else []:
        if not entity.list.search:
            continue
        rows = records().query(entity.name, search=q, limit=FOUND, actor=actor())
        if rows:
            count = records().count(entity.name, search=q, actor=actor(), cap=CAP)
            groups.append(_group(entity, rows, count))
    _referenced(groups)
    return render("search.html", q=q, groups=groups, cap=CAP)
