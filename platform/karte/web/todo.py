"""Ticking a to-do done (issue 12): `POST /<entity>/<id>/done` with `done=1|0` and the
`version` the page showed, through the records service (rights, audit, version check).

One control serves home, the card's timeline and the list's rows (`tick()`): a checkbox
button in a small form. htmx posts it and swaps the control for its new state — ticked,
with an "Undo" for a few seconds (static/js/todo.js); without JavaScript the form posts and
the answer redirects back to the page it came from (`next`). In a list row, which already
sits inside the list's selection form, the control is a button with `formaction` instead
of a form of its own (forms do not nest).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, g, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from karte.meta.model import Entity
from karte.store.errors import Conflict
from karte.store.permissions import allows
from karte.web import actor, entity_or_404, is_fragment, records
from karte.web.auth import safe_next
from karte.web.work_queue import done_field

blueprint = Blueprint("todo", __name__)

YES = frozenset({"1", "true", "on", "yes"})


def _name(entity: Entity, row: dict[str, Any]) -> str:
    value = row.get(entity.title_field)
    return str(value) if value not in (None, "") else f"#{row['id']}"


def tick(entity: Entity, row: dict[str, Any], *, inside_form: bool = False,
         undo: bool = False, back: str | None = None) -> Markup:
    """The tick control of a to-do `row` (which must hold `id`, `version` and the done
    field); empty for an entity that has no to-dos. `inside_form`: no form of its own
    (a list row); `undo`: just ticked, offer "Undo"; `back`: where a post without
    JavaScript returns (default: the page showing the control)."""
    done = done_field(entity)
    if done is None or "version" not in row:
        return Markup("")
    is_done = bool(row.get(done))
    if not allows(records().store, entity, actor(), "update", row):
        label = _("Done") if is_done else _("Not done")
        return Markup(f'<span class="todo-tick" data-done="{int(is_done)}"><button '
                      f'type="button" class="tick" role="checkbox" disabled aria-checked='
                      f'"{"true" if is_done else "false"}" aria-label="{escape(label)}">'
                      f'</button></span>')
    url = _mark_url(entity.name, row["id"])
    target = back or request.full_path.rstrip("?")
    if request.path == url:                 # the answer to a tick: keep the page's `next`
        target = safe_next(request.values.get("next"))
    values = {"done": "0" if is_done else "1", "version": str(row["version"]),
              "next": target}
    if inside_form:
        values["as"] = "cell"
    name = _name(entity, row)
    label = (_("Mark “%(title)s” not done", title=name) if is_done
             else _("Mark “%(title)s” done", title=name))
    state = "true" if is_done else "false"
    hx = (f'hx-post="{escape(url)}" hx-target="closest .todo-tick" hx-swap="outerHTML" '
          f'hx-vals=\'{escape(_json(values))}\'')
    if inside_form:
        button = (f'<button type="submit" class="tick" role="checkbox" aria-checked="{state}" '
                  f'aria-label="{escape(label)}" formmethod="post" '
                  f'formaction="{escape(url)}?{escape(urlencode(values))}" {hx}></button>')
        return Markup(f'<span class="todo-tick" data-done="{int(is_done)}">{button}</span>')
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">'
                     for k, v in values.items())
    csrf = f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">'
    button = (f'<button type="submit" class="tick" role="checkbox" aria-checked="{state}" '
              f'aria-label="{escape(label)}"></button>')
    again = ""
    if undo and is_done:
        again = (f'<button type="submit" class="undo link-button">{escape(_("Undo"))}</button>'
                 f'<span class="muted todo-said" role="status">{escape(_("Done"))}</span>')
    return Markup(f'<form class="todo-tick{" just-done" if undo and is_done else ""}" '
                  f'data-done="{int(is_done)}" method="post" action="{escape(url)}" '
                  f'hx-post="{escape(url)}" hx-target="this" hx-swap="outerHTML">'
                  f'{csrf}{hidden}{button}{again}</form>')


blueprint.add_app_template_global(tick, "todo_tick")


def _mark_url(entity: str, id: int) -> str:
    """url_for("todo.mark", ...) built once per entity and request (a list of to-dos has
    a tick in every row; url_for walks the URL map on every call)."""
    prefixes = g.setdefault("karte_tick_urls", {})
    prefix = prefixes.get(entity)
    if prefix is None:
        built = url_for("todo.mark", entity=entity, id=0)         # "/task/0/done"
        prefix = prefixes[entity] = built.removesuffix("/0/done") + "/"
    return f"{prefix}{int(id)}/done"


def _json(values: dict[str, str]) -> str:
    return json.dumps(values)


@blueprint.route("/<entity>/<int:id>/done", methods=["POST"])
def mark(entity: str, id: int):
    """Tick (`done=1`) or untick (`done=0`) a to-do at the `version` the page showed."""
    ent = entity_or_404(entity)
    field = done_field(ent)
    if field is None:
        abort(404)
    wanted = request.values.get("done", "1").strip().lower() in YES
    version = request.values.get("version", "")
    try:
        row = records().update(ent.name, id, {field: wanted}, version, actor())
    except Conflict:
        if not is_fragment():
            raise
        row = records().get(ent.name, id, actor=actor())
        said = Markup('<span class="error todo-said" role="alert">{}</span>').format(
            _("Changed meanwhile by someone else: shown as it is now."))
        return _fragment(tick(ent, dict(row), inside_form=_in_list()) + said)
    if is_fragment():
        return _fragment(tick(ent, dict(row), inside_form=_in_list(), undo=wanted))
    return redirect(safe_next(request.values.get("next")), 303)


def _in_list() -> bool:
    """The post came from a list row's button (no form of its own)."""
    return request.values.get("as") == "cell"


def _fragment(html: Markup):
    response = make_response(str(html))
    response.vary.add("HX-Request")
    return response
