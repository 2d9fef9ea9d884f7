"""Views of a list (SPEC §3.7 `views`, §12 saved views): the bar above the filters, and
saving, renaming and deleting a user's own views.

The entity's declared views come first (`?view=<name>`: their condition narrows the list,
their columns and sort apply unless the URL chooses others), then the user's private views
and the shared ones. A saved view is a list URL kept under a name (`karte.store.list_views`):
opening it is following that URL with `saved=<id>`, so its filters show in the toolbar and
can be changed like any others. Every form here works without JavaScript (a POST, then back
to the list, 303).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from karte.meta.model import Entity
from karte.problems import Problem
from karte.store import list_views as store
from karte.store.errors import RecordError
from karte.web import actor, records, signed_in_actor, text
from karte.web.list_params import ListQuery, declared_views, parse
from karte.web.lists import _readable, blueprint

MESSAGES = {
    "required": lambda: _("Give the view a name."),
    "too_long": lambda: _("The name is too long (at most %(max)d characters).",
                          max=store.NAME_MAX),
    "duplicate": lambda: _("There is already a view with this name; choose another."),
    "forbidden": lambda: _("Only an administrator may share a view or change a shared one."),
}


@dataclass(frozen=True)
class ViewLink:
    label: str
    url: str
    current: bool
    kind: str                     # "declared", "mine" or "shared"
    id: int | None = None
    editable: bool = False
    changed: bool = False         # the saved view, its filters or columns changed since


def bar(entity: Entity, query: ListQuery) -> list[ViewLink]:
    """Declared views, then the user's own, then shared ones."""
    base = url_for("lists.index", entity=entity.name)
    links = [ViewLink(text(v.label), f"{base}?{urlencode({'view': v.name})}",
                      query.view == v.name and query.saved is None, "declared")
             for v in declared_views(entity)]
    user = actor()
    if user is None:
        return links
    for view in store.visible(records().engine, entity.name, user):
        pairs = [("saved", str(view.id)), *parse_qsl(view.state)]
        chosen = query.saved == view.id
        same = chosen and query.state() == view.state
        links.append(ViewLink(view.name, f"{base}?{urlencode(pairs)}",
                              same, "shared" if view.shared else "mine",
                              view.id, view.editable_by(user), chosen and not same))
    return links


def _message(problem: Problem) -> str:
    made = MESSAGES.get(problem.code)
    return made() if made else problem.message


def _list_url(entity: Entity, state: str, saved: int | None) -> str:
    pairs = ([("saved", str(saved))] if saved else []) + parse_qsl(state)
    base = url_for("lists.index", entity=entity.name)
    return base + (f"?{urlencode(pairs)}" if pairs else "")


def _state(entity: Entity, raw: str) -> str:
    """The list state posted back, checked as the list page checks its URL."""
    args = MultiDict(parse_qsl(raw))
    try:
        return parse(entity, args).state()
    except RecordError:
        abort(400)


@blueprint.post("/<entity>/views")
def save_view(entity: str):
    """Save the list's current state (posted as `state`) under a name."""
    ent, _allowed = _readable(entity)
    user = signed_in_actor()
    state = _state(ent, request.form.get("state", ""))
    shared = request.form.get("shared") == "1"
    try:
        view = store.create(records().engine, ent.name, user, request.form.get("name", ""),
                            state, shared)
    except RecordError as error:
        for problem in error.problems:
            flash(_message(problem))
        return redirect(_list_url(ent, state, None), 303)
    flash(_("Saved the view “%(name)s”.", name=view.name))
    return redirect(_list_url(ent, view.state, view.id), 303)


def _refused(entity: Entity, error: RecordError) -> Response:
    """A view that is not the user's to change (404), or a refused name (back to the list,
    saying why)."""
    if error.status == 404:
        abort(404)
    for problem in error.problems:
        flash(_message(problem))
    return redirect(url_for("lists.index", entity=entity.name), 303)


@blueprint.post("/<entity>/views/<int:id>/rename")
def rename_view(entity: str, id: int):
    ent, _allowed = _readable(entity)
    try:
        view = store.rename(records().engine, ent.name, id, signed_in_actor(),
                            request.form.get("name", ""))
    except RecordError as error:
        return _refused(ent, error)
    flash(_("Renamed the view to “%(name)s”.", name=view.name))
    return redirect(_list_url(ent, view.state, view.id), 303)


@blueprint.post("/<entity>/views/<int:id>/delete")
def delete_view(entity: str, id: int):
    ent, _allowed = _readable(entity)
    try:
        view = store.find(records().engine, ent.name, id, signed_in_actor())
        store.delete(records().engine, ent.name, id, signed_in_actor())
    except RecordError as error:
        return _refused(ent, error)
    flash(_("Deleted the view “%(name)s”.", name=view.name))
    return redirect(_list_url(ent, view.state, None), 303)
