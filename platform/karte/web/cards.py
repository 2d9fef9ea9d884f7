"""The card of a record (SPEC §3.3, §11): its sections, stage bars, related lists and
timeline, with the writes a card offers (a note, a quick-added timeline item), and the
record's change history.

One generic view serves every entity: what a card shows comes from the Registry, what a
user sees of it from their role (the services scope every read; buttons a role cannot use
are not offered). The timeline and related lists are fragments for htmx and pages without.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from karte.meta.model import SYSTEM_FIELD_DEFS, Entity, Field, Text, Workflow
from karte.problems import Problem
from karte.store.errors import InvalidQuery, NotFound, ValidationFailed
from karte.store.lookup import can_read
from karte.store.permissions import allows
from karte.store.records import files_audit
from karte.store.timeline import Page, Timeline, from_audit
from karte.web import (
    actor,
    card_layout,
    entity_or_404,
    is_fragment,
    records,
    registry,
    render,
    text,
    workflows,
)
from karte.web.display import Refs, Shown, references, references_of
from karte.web.field_access import seen
from karte.web.form_model import Conditions
from karte.web.list_params import MAX_PAGE
from karte.web.messages import field_errors
from karte.web.quick_add import defaults as quick_defaults
from karte.web.quick_add import quick_adds
from karte.web.quick_add import values as quick_values
from karte.web.related import finish, related_list, related_lists, relation_or_404, shown
from karte.workflow import RecordActions

blueprint = Blueprint("cards", __name__)
blueprint.add_app_template_global(files_audit.changed, "file_changes")
"""file_changes(old, new): the files an audit pair uploaded and removed, for history."""

WHEN = Field("at", "datetime", Text.of(""))
ACTIONS = {"create": _l("Created"), "update": _l("Changed"), "move": _l("Moved"),
           "delete": _l("Deleted"), "restore": _l("Restored"), "action": _l("Ran an action"),
           "merge": _l("Merged")}


def timeline_service() -> Timeline:
    """The app's one Timeline, over its records service."""
    services = current_app.extensions["karte"]
    if "timeline" not in services:
        services["timeline"] = Timeline(records())
    return services["timeline"]


def _page_number() -> int:
    try:
        return min(max(1, int(request.args.get("page", 1))), MAX_PAGE)
    except ValueError:
        return 1


def _before() -> dt.datetime | None:
    """The timeline cursor; an unreadable one starts from the newest entry, one outside
    the calendar in UTC (0001-01-01T00:00+14:00) is refused (400)."""
    raw = request.args.get("before", "")
    try:
        found = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    try:
        return found.astimezone(dt.UTC) if found.tzinfo else found.replace(tzinfo=dt.UTC)
    except OverflowError:
        raise InvalidQuery([Problem("before", _("“%(value)s” is outside the calendar.",
                                                value=raw), "before")]) from None


# ---------------------------------------------------------------- sections and stage bars


def _sections(entity: Entity, record: Mapping[str, Any]) -> list[tuple[Any, list[Field]]]:
    """Each section with its fields; a field whose `visible_if` does not hold on the record
    is hidden as the form hides it (same evaluator, links followed only to records the
    user may read), and so is a section left with nothing."""
    judge = Conditions(actor(), registry().timezone)
    shown = []
    for section in entity.card.sections:
        fields = [f for name in seen(entity, section.fields)
                  if (f := entity.lookup(name)) is not None
                  and (f.visible_if is None or judge.holds(f.visible_if, record))]
        if fields:
            shown.append((section.label, fields))
    return shown


def _entered(workflow: Workflow, record: Mapping[str, Any]) -> dt.datetime:
    current = record.get(workflow.field)
    for move in workflows().history(workflow.entity, record["id"], workflow.name, actor()):
        if move["to_stage"] == current:
            return move["at"]
    return record["created_at"]


def _stage_bar(workflow: Workflow, record: Mapping[str, Any]) -> dict[str, Any]:
    """Stages in order, the current one, the moves the user may make and, for a stage
    with `max_days`, whether the record has stayed too long."""
    current = record.get(workflow.field)
    stage = next((s for s in workflow.stages if s.key == current), None)
    since = _entered(workflow, record)
    overdue = bool(stage and stage.max_days is not None and
                   dt.datetime.now(dt.UTC) - since > dt.timedelta(days=stage.max_days))
    allowed = workflows().next_stages(workflow.entity, record, actor(),
                                      workflow=workflow.name)
    return {"workflow": workflow, "current": current, "allowed": set(allowed),
            "since": since, "overdue": overdue}


# ---------------------------------------------------------------- timeline


def _timeline_shown(entity: Entity, page: Page) -> list[Shown]:
    """What the page's entries show: changed values and the items' summaries."""
    changed = [{name: value} for e in page.entries if e.kind == "change"
               for name, pair in e.details["changes"].items() for value in pair]
    parts: list[Shown] = [(entity, changed, None)]
    items: dict[str, list] = {}
    for e in page.entries:
        if e.kind == "item":
            items.setdefault(e.details["entity"], []).append(e.details["record"])
    for name, rows in items.items():
        other = registry().entities[name]
        parts.append((other, rows, [other.timeline_item.summary] if other.timeline_item
                      else []))
    return parts


def _timeline_refs(entity: Entity, page: Page, refs: Refs | None = None) -> dict[str, Refs]:
    """Titles and user names the page's entries show, by entity (one Refs for all: one
    lookup per target entity; `refs`: already looked up with the rest of a card)."""
    parts = _timeline_shown(entity, page)
    found = refs if refs is not None else references_of(parts)
    return {part[0].name: found for part in parts}


def timeline_context(entity: Entity, record: Mapping[str, Any],
                     before: dt.datetime | None = None,
                     page: Page | None = None, refs: Refs | None = None) -> dict[str, Any]:
    if page is None:
        page = timeline_service().entries(entity.name, record["id"], actor(), before=before)
    return {"timeline": page, "trefs": _timeline_refs(entity, page, refs), "before": before,
            "entities": registry().entities, "workflows": registry().workflows,
            "WHEN": WHEN, "ACTIONS": ACTIONS, "duration": _duration,
            **card_layout.split(page)}    # "upcoming" and "history"


def _duration(seconds: int | None) -> str:
    return "" if seconds is None else format_timedelta(dt.timedelta(seconds=seconds),
                                                       threshold=1.1)


# ---------------------------------------------------------------- card


def _quick(entity: Entity) -> dict[str, Any]:
    """The quick-add forms and their default text (web/quick_add.py)."""
    forms = quick_adds(entity)
    return {"quick": forms, "quick_defaults": quick_defaults(forms)}


def card_again(entity: Entity, id: int, status: int, **extra: Any):
    """The card of record `id` as it is now, answering a refused write from it with
    `status` (422, 409); `extra` carries what the card shows of the refusal."""
    record = records().get(entity.name, id, actor=actor())
    return render("card.html", status=status, **card_context(entity, record, **extra))


def card_context(entity: Entity, record: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """Everything the card page shows; `extra` carries typed input and its errors. The
    titles and user names of the record, its related lists and its timeline are looked up
    together: one query per target entity for the whole card."""
    store, user = records().store, actor()
    before = extra.pop("before", None)
    lists = related_lists(entity, record)
    page = timeline_service().entries(entity.name, record["id"], user, before=before,
                                      record=record)
    refs = references_of([(entity, [record], None), *shown(lists),
                          *_timeline_shown(entity, page)])
    for rel in lists:
        finish(rel, refs)
    return {"entity": entity, "record": record, "refs": refs,
            "sections": _sections(entity, record), "system": SYSTEM_FIELD_DEFS,
            "may_edit": allows(store, entity, user, "update", record),
            "may_delete": allows(store, entity, user, "delete", record),
            "bars": [_stage_bar(w, record) for w in registry().workflows_of(entity.name)],
            "related": lists, **_quick(entity),
            "actions": RecordActions(records()).available(entity.name, record, user),
            "typed": {}, "errors": {},
            **timeline_context(entity, record, before, page, refs), **extra}


@blueprint.route("/<entity>/<int:id>", methods=["GET"])
def show(entity: str, id: int):
    ent = entity_or_404(entity)
    try:
        record = records().get(ent.name, id, actor=actor())
    except NotFound:
        into = records().merged_into(ent.name, id)     # a merged record leads to its survivor
        if into is None:
            raise
        flash(_("#%(id)d was merged into this %(thing)s.", id=id, thing=text(ent.label)))
        return redirect(url_for("cards.show", entity=ent.name, id=into), 302)
    return render("card.html", **card_context(ent, record))


@blueprint.route("/<entity>/<int:id>/timeline", methods=["GET"])
def timeline(entity: str, id: int):
    ent = entity_or_404(entity)
    record = records().get(ent.name, id, actor=actor())
    return render("card_timeline.html", "_partials/timeline.html", entity=ent,
                  record=record, **timeline_context(ent, record, _before()))


@blueprint.route("/<entity>/<int:id>/related/<child>/<field>", methods=["GET"])
def related(entity: str, id: int, child: str, field: str):
    ent = entity_or_404(entity)
    other, f = relation_or_404(ent, child, field)
    record = records().get(ent.name, id, actor=actor())
    if not can_read(records().store, other.name, actor()):
        abort(404)
    return render("card_related.html", "_partials/related.html", entity=ent, record=record,
                  rel=related_list(other, f, record, _page_number()))


@blueprint.route("/<entity>/<int:id>/notes", methods=["POST"])
def add_note(entity: str, id: int):
    ent = entity_or_404(entity)
    body = request.form.get("body", "")
    try:
        timeline_service().add_note(ent.name, id, body, actor())
    except ValidationFailed as error:
        record = records().get(ent.name, id, actor=actor())
        return render("card.html", status=422, **card_context(
            ent, record, note={"body": body, "errors": card_layout.note_errors(error, body)}))
    return redirect(url_for("cards.show", entity=ent.name, id=id, _anchor="timeline"), 303)


@blueprint.route("/<entity>/<int:id>/quick-add/<child>", methods=["POST"])
def quick_add(entity: str, id: int, child: str):
    """Create the item linked here; htmx gets the timeline panel back (422 with the typed
    text and the errors when refused), a plain post the card (303, or 422)."""
    ent = entity_or_404(entity)
    form = next((q for q in quick_adds(ent, offered=False) if q["child"].name == child), None)
    if form is None:
        abort(404)
    record = records().get(ent.name, id, actor=actor())
    try:
        added = records().create(child, quick_values(form, record), actor=actor())
    except ValidationFailed as error:
        failed = {"typed": {child: request.form},
                  "errors": {child: field_errors(error, form["child"])}}
        if is_fragment():
            return _panel(ent, record, 422, **failed)
        return render("card.html", status=422, **card_context(ent, record, **failed))
    if is_fragment():
        return _panel(ent, record, 200, added=(form["child"], added))
    return redirect(url_for("cards.show", entity=ent.name, id=id, _anchor="timeline"), 303)


def _panel(entity: Entity, record: Mapping[str, Any], status: int, **extra: Any):
    """The card's timeline panel alone: quick-add forms and the newest entries."""
    context = {"entity": entity, "record": record, "typed": {}, "errors": {},
               **_quick(entity), **timeline_context(entity, record), **extra}
    return render("card.html", "_partials/timeline_panel.html", status, **context)


# ---------------------------------------------------------------- history


def _history_rows(entity: Entity, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit entries with their values typed again, so they show like live values."""
    country = registry().country
    return [{**entry, "changes": {
        name: [from_audit(entity, name, old, country), from_audit(entity, name, new, country)]
        for name, (old, new) in entry["changes"].items()}} for entry in entries]


@blueprint.route("/<entity>/<int:id>/history", methods=["GET"])
def history(entity: str, id: int):
    ent = entity_or_404(entity)
    rows = _history_rows(ent, records().history(ent.name, id, actor=actor()))
    record = records().get(ent.name, id, include_deleted=True, actor=actor())
    values = [{name: value} for row in rows for name, pair in row["changes"].items()
              for value in pair]
    return render("history.html", entity=ent, record=record, rows=rows, WHEN=WHEN,
                  refs=references(ent, [record, *values]), ACTIONS=ACTIONS)

