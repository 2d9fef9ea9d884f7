"""Kanban boards and moves (SPEC §4, §11): `/board/<workflow>`, a column page, and
`/<entity>/<id>/move` — the one page every move of the UI goes through.

A board is one service call (`Workflows.board`): per stage its count, money total and
first cards, limited to what the signed-in user may read and to the board's filters
(`owner`, `q` in the URL). Dragging a card posts to the move endpoint with
`?board=1&owner=…&q=…` as an htmx-style request (static/js/board.js): an accepted move
answers with the re-rendered card plus every column head as out-of-band swaps; a refused
one answers 409 with every reason, and — when every reason is a field of the record, empty
or refused by a rule (web/move_fix.py) — a form asking for exactly those fields, which
completes the move with them in one step. Without
JavaScript each card carries a small "Move to" form posting to the same endpoint: 303 back
to the board, or the move page (409) saying why and asking for what is missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from karte.fields import is_empty
from karte.meta.model import Entity, Field, Workflow
from karte.store import stage_times
from karte.store.errors import Conflict, ValidationFailed
from karte.store.lookup import pick
from karte.store.permissions import rights
from karte.web import (
    active_users,
    actor,
    entity_or_404,
    is_fragment,
    records,
    registry,
    render,
    text,
    timezone,
    workflows,
)
from karte.web.board_cards import (
    closed,
    days,
    initials,
    layout,
    owner_field,
    plan,
    value,
)
from karte.web.display import colour_class, references
from karte.web.field_access import unseen
from karte.web.move_fix import fixable, hints
from karte.workflow.board import Column
from karte.workflow.errors import MoveRefused
from karte.workflow.reports import money_field_of

blueprint = Blueprint("boards", __name__)

PER_COLUMN = 20      # cards per column on the board and per "Load more"
PER_PAGE = 50        # cards per page of the full column page (no JavaScript)
CONTROL = frozenset({"to", "workflow", "version", "csrf_token", "back", "ask"})
NOT_ASKED = frozenset({"formula", "rollup"})
MANY = frozenset({"multi_enum", "links"})
CHOICES = 200        # options offered for a link field in the move form
MAX_OFFSET = 10**9


# ---------------------------------------------------------------- what a board shows

def _workflow_or_404(name: str) -> tuple[Workflow, Entity]:
    flow = registry().workflows.get(name)
    if flow is None:
        abort(404)
    entity = registry().entities[flow.entity]
    if not rights(records().store, entity, actor()).read:
        abort(403)
    return flow, entity


def _filters(entity: Entity) -> tuple[dict | None, str | None, dict[str, str]]:
    """The board's filters from the URL: a condition on the owner field (`owner=me` or a
    user id), the search text, and the query arguments that keep them in links."""
    owner, q = request.args.get("owner", "").strip(), request.args.get("q", "").strip()
    field = owner_field(entity)
    value: Any = "$me" if owner == "me" else int(owner) if _user_id(owner) else None
    where = None
    if field is not None and value is not None:
        where = {"field": field, "op": "=", "value": value}
    kept = {k: v for k, v in (("owner", owner if where else ""), ("q", q)) if v}
    return where, q or None, kept


def _user_id(text: str) -> bool:
    """A user id as the URL may carry it (digits that fit a BIGINT column)."""
    return text.isdigit() and len(text) <= 18


def _users() -> list[tuple[int, str]]:
    return active_users()


def _board_context(flow: Workflow, entity: Entity, columns: list[Column],
                   kept: Mapping[str, str]) -> dict[str, Any]:
    """Everything the board templates read; link titles and user names for every card
    are looked up once for the page, as are the cards' days in their stage."""
    shows, owner = plan(entity, flow), owner_field(entity)
    shown = [card for column in columns for card in column.cards]
    money = money_field_of(entity, None, unseen(entity))
    refs = references(entity, shown, shows.names)
    return {
        "workflow": flow, "entity": entity, "columns": columns, "shows": shows,
        "labels": {n: text(entity.fields[n].label) for n in shows.names},
        "owner_field": owner, "money": entity.fields[money] if money else None,
        "refs": refs, "initials": {id: initials(name) for id, name in refs.users.items()},
        "days": days(columns, dt.datetime.now(dt.UTC)), "filled": _filled, "value": value,
        "entered": {id: at for col in columns for id, at in col.entered.items()},
        "colours": {s.key: f"c-{colour_class(s.color)}" for s in flow.stages if s.color},
        "kept": dict(kept),
        "back": url_for("boards.show", workflow=flow.name, owner=kept.get("owner"),
                        q=kept.get("q")),
        "users": _users() if owner else [], "searchable": bool(entity.list.search),
        "may_move": bool(rights(records().store, entity, actor()).update),
        **layout(flow, columns, kept),
    }


def _filled(value: Any) -> bool:
    """A value worth a line on a card (no "Field: —" for empty ones)."""
    return value is not None and not is_empty(value)


@blueprint.route("/board/<workflow>", methods=["GET"])
def show(workflow: str):
    """The whole board: every stage with its numbers and first cards."""
    flow, entity = _workflow_or_404(workflow)
    where, search, kept = _filters(entity)
    columns = workflows().board(flow, actor=actor(), where=where, search=search,
                                limit=PER_COLUMN, closed=closed(flow))
    return render("board.html", **_board_context(flow, entity, columns, kept))


@blueprint.route("/board/<workflow>/<stage>", methods=["GET"])
def column(workflow: str, stage: str):
    """One stage's cards from `offset` on: for htmx the next cards and a new "Load more"
    (it replaces the button); otherwise the stage as a page of its own, paged."""
    flow, entity = _workflow_or_404(workflow)
    if stage not in flow.stage_keys:
        abort(404)
    offset = min(max(0, request.args.get("offset", 0, type=int)), MAX_OFFSET)
    where, search, kept = _filters(entity)
    found = workflows().column(flow, stage, actor=actor(), where=where, search=search,
                               limit=PER_COLUMN if is_fragment() else PER_PAGE,
                               offset=offset)
    context = _board_context(flow, entity, [found], kept)
    return render("board.html", "_partials/board_column.html", single=True,
                  part="cards", col=found, **context)


# ---------------------------------------------------------------- moves

def _back(entity: Entity, id: int) -> str:
    """Where to go after a move: a same-site path the form names, else the card."""
    back = request.values.get("back", "")
    if back.startswith("/") and not back.startswith("//") and "\\" not in back:
        return back
    return url_for("cards.show", entity=entity.name, id=id)


def _datetime(value: str) -> str:
    """A datetime typed in a form is in the user's timezone."""
    try:
        typed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if typed.tzinfo is None:
        typed = typed.replace(tzinfo=ZoneInfo(timezone()))
    return typed.isoformat()


def _values(entity: Entity, form: MultiDict) -> dict[str, Any]:
    """Values carried by the move: declared, non-stage fields only; empty is None. The
    service validates and converts them (marshmallow), all or nothing."""
    asked = set(form.getlist("ask"))
    values: dict[str, Any] = {}
    for name, f in entity.fields.items():
        if name in CONTROL or f.workflow or f.type in NOT_ASKED:
            continue
        if f.type in MANY and (name in form or name in asked):
            values[name] = [v for v in form.getlist(name) if v.strip()]
        elif name in form:
            typed = form.get(name, "").strip()
            values[name] = _datetime(typed) if typed and f.type == "datetime" else typed or None
        elif name in asked:
            values[name] = None
    return values


def _choices(fields: Iterable[Field]) -> dict[str, list[tuple[Any, str]]]:
    """Options of the link and user fields a move form asks for."""
    store, found = records().store, {}
    for f in fields:
        if f.type in ("link", "links"):
            found[f.name] = pick(store, f.to_entity, "", actor(), limit=CHOICES)
        elif f.type == "user":
            found[f.name] = _users()
    return found


def _prompt(entity: Entity, id: int, to: str, workflow: str | None, problems: list,
            ask: list[str] | None, status: int, **extra: Any):
    """The move page (or its fragment): every reason, and a form for the fields asked."""
    record = records().get(entity.name, id, actor=actor())
    flow = workflows().workflow_for(entity, to, workflow, actor())
    fields = [entity.fields[n] for n in ask or () if n in entity.fields]
    empty = {p.where for p in problems if p.code == "required"}
    errors: dict[str, list[str]] = {}
    found: dict[str, list[str]] = {}
    for p in problems:      # an empty field's rule is what to type, not a second error
        kept = found if p.code == "rule" and p.where in empty else errors
        kept.setdefault(p.where, []).append(p.message)
    for name, later in hints(flow, to, [f.name for f in fields]).items():
        found.setdefault(name, []).extend(later)
    extra.setdefault("hints", found)
    context = {"entity": entity, "record": record, "workflow": flow, "stage": flow.stage(to),
               "problems": problems, "ask": None if ask is None else fields,
               "choices": _choices(fields), "errors": errors,
               "typed": request.form if request.method == "POST" else MultiDict(),
               "version": request.values.get("version") or record["version"],
               "back": _back(entity, id),
               "card": url_for("cards.show", entity=entity.name, id=id), **extra}
    return render("move.html", "_partials/move_prompt.html", status, **context)


def _asked(entity: Entity, refused: MoveRefused) -> list[str] | None:
    """The fields to ask for after a refusal: every reason is a field of the record
    (missing, refused by a rule, invalid), and the fields a form asked before (web/move_fix).
    None: no form, the reasons alone."""
    return fixable(entity, refused.problems, request.form.getlist("ask"))


def _move_form(ent: Entity, id: int):
    """GET `?to=<stage>`: what the move needs, before trying it — the stage bar's
    fallback, and the page a refused move without JavaScript ends on. Without a stage
    there is nothing to ask: the card, whose stage bar offers the moves."""
    to, workflow = request.args.get("to", "").strip(), request.args.get("workflow") or None
    stages = {key for flow in registry().workflows_of(ent.name) for key in flow.stage_keys}
    if to not in stages:  # no stage, or one from an old bookmark: the card offers the moves
        if to:
            flash(_("There is no stage “%(stage)s”; choose one on the stage bar.",
                    stage=to))
        return redirect(url_for("cards.show", entity=ent.name, id=id), 303)
    try:
        problems = workflows().can_move(ent.name, id, to, actor=actor(), workflow=workflow)
    except ValidationFailed as error:   # a workflow the address names wrongly
        flash(" ".join(p.message for p in error.problems))
        return redirect(url_for("cards.show", entity=ent.name, id=id), 303)
    ask = fixable(ent, problems) if problems else []
    return _prompt(ent, id, to, workflow, problems, ask,
                   409 if problems and ask is None else 200)


@blueprint.route("/<entity>/<int:id>/move", methods=["GET", "POST"])
def move(entity: str, id: int):
    """POST: move the record to `to`, saving the carried field values with it."""
    ent = entity_or_404(entity)
    if request.method == "GET":
        return _move_form(ent, id)
    form = request.form
    to, workflow = form.get("to", ""), form.get("workflow") or None
    try:
        moved = workflows().move(ent.name, id, to, actor=actor(), values=_values(ent, form),
                                 version=form.get("version") or None, workflow=workflow,
                                 ahead=form.getlist("ask"))
    except MoveRefused as refused:
        return _prompt(ent, id, to, workflow, refused.problems, _asked(ent, refused), 409)
    except Conflict as conflict:
        return _prompt(ent, id, to, workflow, conflict.problems, None, 409, stale=True)
    flow = workflows().workflow_for(ent, to, workflow, actor())
    return _moved(ent, flow, moved)


def _moved(entity: Entity, flow: Workflow, moved: dict):
    """After a move: on the board the card and every column head (out-of-band); for
    another htmx caller a redirect header; otherwise 303 back."""
    back = _back(entity, moved["id"])
    if is_fragment() and request.args.get("board"):
        return _card_fragment(entity, flow, moved)
    flash(_("%(title)s moved to %(stage)s.", title=moved.get(entity.title_field) or
            f"#{moved['id']}", stage=text(flow.stage(moved[flow.field]).label)))
    if is_fragment():   # the page it redirects to says so (a phone's board: the card left)
        response = make_response("", 204)
        response.headers["HX-Redirect"] = back
        return response
    return redirect(back, 303)


def _card_fragment(entity: Entity, flow: Workflow, moved: dict):
    where, search, kept = _filters(entity)
    heads = workflows().board(flow, actor=actor(), where=where, search=search, limit=0)
    context = _board_context(flow, entity, heads, kept)
    context["refs"] = refs = references(entity, [moved], context["shows"].names)
    context["initials"] = {id: initials(name) for id, name in refs.users.items()}
    context["days"] = {moved["id"]: 0}   # it has just entered the stage
    context["entered"] = {moved["id"]: moved.get(stage_times.column_name(flow.field))
                          or moved["updated_at"]}
    html = render_template("_partials/board_card.html", card=moved, late=False,
                           oob_heads=heads, **context)
    response = make_response(html, 200)
    response.vary.add("HX-Request")
    return response
