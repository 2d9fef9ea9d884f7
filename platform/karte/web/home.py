"""Home and quick search (SPEC §11): generic over the pack — no entity is named here.

Home shows the signed-in user's open work: for every readable entity with a `user` field,
the records where one of those fields is the user (owner, assignee, ...) and that are not
in a final stage of any of the entity's workflows; then the boards with their per-stage
counts, and the latest changes to records the user may read. Search asks every readable
entity's list search for a few matches and how many there are.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _

from karte.meta.model import SYSTEM_FIELD_DEFS, Entity
from karte.store.audit import ACTION_RUN
from karte.store.lookup import can_read
from karte.store.recent import recent_changes
from karte.web import actor, records, registry, render, text, workflows
from karte.web.display import references
from karte.web.field_access import seen

blueprint = Blueprint("home", __name__)

MINE = 10            # records per entity on the home page
FOUND = 5            # matches per entity in quick search
CAP = 100            # counts stop here ("100+")
BOARD_CAP = 1000     # a board's stage counts stop here ("1,000+"): read no further
COLUMNS = 3          # columns shown next to a title


def _readable() -> list[Entity]:
    store, user = records().store, actor()
    return [e for e in registry().entities.values() if can_read(store, e.name, user)]


def _columns(entity: Entity) -> list[str]:
    return [n for n in seen(entity, entity.list.columns) if n != entity.title_field][:COLUMNS]


def open_condition(entity: Entity) -> dict | None:
    """Records of `entity` that are mine (any user field is me) and not closed (in no
    final stage of its workflows); None when the entity has no user field."""
    users = [f.name for f in entity.fields.values() if f.type == "user"]
    if not users:
        return None
    mine = {"any": [{"field": name, "op": "=", "value": "$me"} for name in users]}
    open_ = [{"field": w.field, "op": "not_in",
              "value": [s.key for s in w.stages if s.final]}
             for w in registry().workflows_of(entity.name) if any(s.final for s in w.stages)]
    return {"all": [mine, *open_]}


def _sort(entity: Entity) -> str:
    """Dated items (tasks, calls: a timeline `at`) soonest first, else recent first."""
    return entity.timeline_item.at if entity.timeline_item else "-updated_at"


def _group(entity: Entity, rows: list[dict], count: int) -> dict[str, Any]:
    columns = _columns(entity)
    return {"entity": entity, "rows": rows, "count": count, "columns": columns,
            "refs": references(entity, rows, columns)}


def _work_first(entity: Entity) -> int:
    """Dated items (tasks) first, then records moving through a pipeline, then the rest."""
    if entity.timeline_item is not None:
        return 0
    return 1 if registry().workflows_of(entity.name) else 2


def _my_work() -> list[dict[str, Any]]:
    groups = []
    for entity in sorted(_readable(), key=_work_first):
        where = open_condition(entity)
        if where is None:
            continue
        rows = records().query(entity.name, where=where, sort=_sort(entity), limit=MINE,
                               actor=actor())
        if rows:
            count = records().count(entity.name, where=where, actor=actor(), cap=CAP)
            groups.append(_group(entity, rows, count))
    return groups


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


def _recent(readable: list[Entity]) -> list[dict[str, Any]]:
    entities = {e.name: e for e in readable}
    return [{**row, "entity": entities[row["entity"]],
             "what": _what(entities[row["entity"]], row)}
            for row in recent_changes(records().store, actor())
            if row["entity"] in entities]


@blueprint.route("/", methods=["GET"])
def index():
    """My open work, the boards and recent changes."""
    readable = _readable()
    return render("home.html", groups=_my_work(), boards=_boards(readable),
                  recent=_recent(readable), when=SYSTEM_FIELD_DEFS["updated_at"], cap=CAP)


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
    return render("search.html", q=q, groups=groups, cap=CAP)
