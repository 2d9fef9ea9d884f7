"""Create, edit and delete forms: one generic form for every entity (SPEC §3, §5, §11).

A view parses the POST (`form_values`), asks the records service, and shows the answer:
303 to the card on success, the form again with each message next to its field (422; a
unique value another record holds among them, before any duplicate warning), a
duplicate warning with "Save anyway" (200), or the conflict page when someone else saved
first (409). Conditions (`visible_if`, `required_if`, `read_only_if`) are judged here with
the same Python evaluator the service uses; `live` re-renders the fields while the user
types, and the same URL is a whole page for a browser without JavaScript.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from karte.fields import is_empty
from karte.meta.model import Entity, Field
from karte.store.errors import Conflict, ValidationFailed
from karte.store.permissions import allows, check_create, forbidden, rights
from karte.store.validation import differs
from karte.web import (
    actor,
    entity_or_404,
    records,
    registry,
    render,
    signed_in_actor,
    text,
    timezone,
    typeahead,
)
from karte.web.display import references, show
from karte.web.form_fetch import Fetching, fetched_fields, fetched_values, links
from karte.web.form_files import Posted, posted, receive
from karte.web.form_files import saved as after_save
from karte.web.form_files import values as file_values
from karte.web.form_model import Conditions, FormModel, Lookup
from karte.web.form_values import (
    QUERY,
    Parsed,
    as_text,
    from_query,
    parse,
    stored_form,
)
from karte.web.lines_errors import errors_of, is_line_error, summary
from karte.web.lines_form import act, parse_grids
from karte.web.messages import field_errors

blueprint = Blueprint("forms", __name__)
CONFIRM = "_confirm_duplicates"
RECORD_ID = "_id"


def _zone() -> ZoneInfo:
    return ZoneInfo(timezone())


def _templates(entity: Entity, page: str) -> list[str]:
    """A pack's `entities/<entity>/<page>` first, then the generic page."""
    return [f"entities/{entity.name}/{page}", page]


def _check_update(entity: Entity, record: Mapping[str, Any]) -> None:
    if not allows(records().store, entity, actor(), "update", record):
        level = rights(records().store, entity, actor()).update
        raise forbidden(entity, signed_in_actor(), "update", own=level == "own")


def _base_text(model: FormModel) -> dict[str, Any]:
    """The form's text before anything is posted: the stored record, or the defaults."""
    zone = _zone()
    return {f.name: as_text(f, model.base.get(f.name), zone) for f in model.inputs}


def _page(model: FormModel, parsed: Parsed, *, errors: Mapping[str, list[str]] | None = None,
          status: int = 200, version: Any = None, duplicates: list | None = None,
          page: str = "form.html", fetching: Fetching | None = None, **extra: Any):
    """The form (or `page`) for `model` with the posted text laid over the base text."""
    raw = {**_base_text(model), **parsed.raw}
    errors = dict(errors or {})
    sections = model.sections(raw, parsed.values, errors)
    shown = {w.name for section in sections for w in section.widgets}
    top = [(text(model.entity.fields[name].label) if name in model.entity.fields else name,
            message) for name, messages in errors.items()
           if name not in shown and not is_line_error(name)
           for message in messages] + summary(model.entity, errors)
    record = model.record
    return render(_templates(model.entity, page), "_partials/form_fields.html", status,
                  entity=model.entity, record=record, sections=sections, top_errors=top,
                  has_errors=any(errors.values()),
                  version=version if version is not None else (record or {}).get("version"),
                  duplicates=duplicates or [], live=model.live_url,
                  action=(url_for("forms.edit", entity=model.entity.name, id=record["id"])
                          if record else url_for("forms.new", entity=model.entity.name)),
                  can_delete=record is not None and allows(records().store, model.entity,
                                                           actor(), "delete", record),
                  has_conditions=model.has_conditions, CONFIRM=CONFIRM, RECORD_ID=RECORD_ID,
                  zone=timezone(), fetch_marks=(fetching or _fetching(model)).hidden(),
                  multipart=bool(model.entity.file_fields()),
                  **extra)


def _model(entity: Entity, record: dict[str, Any] | None) -> FormModel:
    return FormModel(entity, record, Conditions(actor(), registry().timezone), Lookup())


def _parse(model: FormModel) -> Parsed:
    parsed = parse(model.inputs, request.form, _zone(), model.lookup)
    parse_grids(model.entity, request.form, _zone(), model.lookup, parsed)
    act(model.entity, request.form, parsed)
    uploads = [f for f in model.inputs if f.type == "file"]
    parsed.raw.update(posted(model.entity, uploads, request.form))
    return parsed


def _received(model: FormModel, parsed: Parsed) -> dict[str, Any]:
    """Receive the files chosen in the form (a refused one is its field's problem) and
    the file fields' new values: kept, minus the removed, plus the received."""
    states = {name: state for name, state in parsed.raw.items() if isinstance(state, Posted)}
    for name, state in states.items():
        problems = receive(model.entity, model.entity.fields[name],
                           request.files.getlist(name), state)
        if problems:
            parsed.problems.setdefault(name, []).extend(problems)
    return file_values(model.entity, model.record, states)


def _fetching(model: FormModel) -> Fetching:
    return Fetching(model.entity, {f.name for f in model.inputs}, model.base, request.form,
                    _zone())


# ---------------------------------------------------------------- create / edit

@blueprint.route("/<entity>/new", methods=["GET", "POST"])
def new(entity: str):
    ent = entity_or_404(entity)
    check_create(records().store, ent, actor())
    model = _model(ent, None)
    if request.method == "GET":
        asked = from_query(model.inputs, request.args)
        return _page(model, Parsed(values=dict(asked), raw=asked))
    return _save(model)


@blueprint.route("/<entity>/<int:id>/edit", methods=["GET", "POST"])
def edit(entity: str, id: int):
    ent = entity_or_404(entity)
    record = records().get(ent.name, id, actor=actor())
    _check_update(ent, record)
    model = _model(ent, record)
    if request.method == "GET":
        return _page(model, Parsed())
    return _save(model)


def _duplicates(model: FormModel, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Records that look like this one by a duplicate rule (SPEC §3.3). On edit only when
    a rule's field changes, so an old near-twin does not nag at every save."""
    entity, record = model.entity, model.record
    ruled = {name for rule in entity.duplicates for name in rule}
    if not ruled:
        return []
    if record is not None:
        now = stored_form(entity, values, registry().country)
        if not any(differs(record.get(n), now[n]) for n in ruled if n in now):
            return []
    found = records().duplicates(entity.name, {**(record or {}), **values},
                                 record["id"] if record else None, actor=actor())
    return [{"record": match["record"], "title": match["record"].get(entity.title_field),
             "rule": ", ".join(text(entity.fields[n].label) for n in match["rule"])}
            for match in found]


def _clashes(model: FormModel, values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Unique values another record holds: refused on their field before any duplicate
    warning, whose "Save anyway" could not succeed (SPEC §3.3)."""
    record = model.record
    found = records().clashes(model.entity.name, values, record["id"] if record else None,
                              actor=actor())
    return field_errors(ValidationFailed(found), model.entity) if found else {}


def _save(model: FormModel):
    """Parse, refuse unique clashes, warn about duplicates, write; every failure shows the
    form again with what was typed."""
    parsed = _parse(model)
    _fetching(model).leave_to_service(parsed)
    version = request.form.get("version")
    attached = _received(model, parsed)
    if parsed.problems:
        return _page(model, parsed, errors=parsed.problems, status=422, version=version)
    clashes = _clashes(model, parsed.values)
    if clashes:
        return _page(model, parsed, errors=clashes, status=422, version=version)
    if request.form.get(CONFIRM) != "1":
        twins = _duplicates(model, parsed.values)
        if twins:
            return _page(model, parsed, version=version, duplicates=twins)
    try:
        saved = _write(model, {**parsed.values, **attached}, version)
    except ValidationFailed as error:
        return _page(model, parsed, errors=errors_of(error, model.entity), status=422,
                     version=version)
    except Conflict as error:
        return _conflict(model, parsed, error)
    flash(_("Saved."))
    return after_save(url_for("cards.show", entity=model.entity.name, id=saved["id"]))


def _write(model: FormModel, values: dict[str, Any], version: Any) -> dict[str, Any]:
    name = model.entity.name
    if model.record is None:
        return records().create(name, values, actor=actor(), files=True)
    return records().update(name, model.record["id"], values, version, actor=actor(),
                            files=True)


def _yours(f: Field, value: Any, parsed: Parsed, refs: Any) -> Any:
    """The user's value as the card would show it, or as typed when it does not convert."""
    typed = parsed.raw.get(QUERY + f.name) or parsed.raw.get(f.name)
    if value is not None or is_empty(typed):
        return show(f, value, refs)
    return ", ".join(typed) if isinstance(typed, list) else typed


def _seen(entity: Entity, id: int, version: int) -> dict[str, Any]:
    """Each field changed after `version` with the value it had then: what the user was
    looking at when they opened the form (from the record's history)."""
    found: dict[str, Any] = {}
    for entry in reversed(records().history(entity.name, id, actor=actor())):
        if entry["version"] is not None and entry["version"] > version:
            for name, (old, _new) in entry["changes"].items():
                found.setdefault(name, old)
    return stored_form(entity, found, registry().country)


def _touched(model: FormModel, parsed: Parsed, error: Conflict) -> set[str]:
    """The changed fields the user edited too; any other one keeps the value saved now."""
    entity = model.entity
    seen = _seen(entity, error.current["id"], int(request.form.get("version", 0)))
    mine = stored_form(entity, parsed.values, registry().country)
    return {name for name in error.changed if name in mine
            and differs(seen.get(name), mine[name])}


def _conflict(model: FormModel, parsed: Parsed, error: Conflict):
    """409: what changed since the form was opened (theirs and yours), and the form with
    the user's edits over the record as saved now and the new version, so one click
    re-applies them. A field only the other person changed keeps their value."""
    entity, current, zone = model.entity, error.current, _zone()
    touched = _touched(model, parsed, error)
    yours = stored_form(entity, {n: mine for n, (_t, mine) in error.changed.items()},
                        registry().country)
    refs = references(entity, [current, yours], names=list(error.changed))
    changes = []
    for name, (theirs, _mine) in error.changed.items():
        f = entity.fields[name]
        mine = _yours(f, yours.get(name), parsed, refs) if name in touched else None
        changes.append({"label": text(f.label), "theirs": show(f, theirs, refs),
                        "yours": mine})
        if name not in touched and name in parsed.raw and f.type != "file":
            parsed.raw[name] = as_text(f, theirs, zone)
            parsed.values[name] = theirs
            parsed.raw.pop(QUERY + name, None)
    return _page(_model(entity, current), parsed, status=409, version=current["version"],
                 page="conflict.html", changes=changes)


# ---------------------------------------------------------------- delete

@blueprint.post("/<entity>/<int:id>/delete")
def delete(entity: str, id: int):
    """Soft delete, then the list; a restrict link refuses (409 page with the reasons,
    rendered by the error handler) and nothing is deleted."""
    ent = entity_or_404(entity)
    record = records().get(ent.name, id, actor=actor())
    deleted = records().delete(ent.name, id, actor=actor(),
                               version=request.form.get("version") or None)
    more = sum(len(ids) for ids in deleted.values()) - 1
    title = record.get(ent.title_field) or f"#{id}"
    message = _('Deleted %(thing)s "%(title)s".', thing=text(ent.label), title=title)
    if more > 0:
        message += " " + _("%(count)d linked records were deleted with it.", count=more)
    flash(message)
    return redirect(url_for("lists.index", entity=ent.name), 303)


# ---------------------------------------------------------------- live form, picker

def typed_model(ent: Entity) -> FormModel:
    """The form model of the record a live request is typing (its id in the form; none:
    a new one), after checking the user may edit it, or create one."""
    id = request.form.get(RECORD_ID, "").strip()
    if id:
        record = records().get(ent.name, id, actor=actor())
        _check_update(ent, record)
    else:
        check_create(records().store, ent, actor())
        record = None
    return _model(ent, record)


@blueprint.post("/<entity>/form")
def live(entity: str):
    """The fields again with their conditions judged on what is typed now (nothing is
    written): a fragment for htmx, the whole form for the "Update form" button."""
    ent = entity_or_404(entity)
    model = typed_model(ent)
    parsed = _parse(model)
    fetching = _fetching(model)
    fetching.fill(parsed)
    return _page(model, parsed, version=request.form.get("version"), fetching=fetching)


def _typed(args: MultiDict) -> str:
    """`q`, or what a picker's own text box sent (`_q.<field>=...`)."""
    if "q" in args:
        return args.get("q", "")
    return next((value for key, value in args.items() if key.startswith(QUERY)), "")


@blueprint.get("/<entity>/pick")
def pick(entity: str):
    """Records of `entity` the user may read whose title contains the text, with their
    subtitles: options for a link picker (fragment), or a small search page."""
    ent = entity_or_404(entity)
    q = _typed(request.args)
    return render(_templates(ent, "pick.html"), "_partials/picker_options.html",
                  entity=ent, q=q, options=typeahead.options(ent, q))


@blueprint.get("/<entity>/fetch/<link>")
def fetched(entity: str, link: str):
    """What picking record `?id=` in the link field `link` would fill in, as the form's
    text ({field: text}, JSON): for a lines grid row. Empty for a record the user may not
    read; 404 for a name that is not a link with fetched fields."""
    ent = entity_or_404(entity)
    if link not in links(ent, set(ent.fields)):
        abort(404)
    fields = fetched_fields(ent)[link]
    values = fetched_values(records().store, ent, link, request.args.get("id"), actor())
    return jsonify({f.name: as_text(f, values[f.name], _zone())
                    for f in fields if f.name in values})
