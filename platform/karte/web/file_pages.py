"""Files on pages (SPEC §13): download, thumbnail, and attaching or removing from the card.

A file is only ever reached through its record: `Files.find` answers with the reference
only when the user may read the record and the field, and raises NotFound otherwise, so a
file of a record out of reach is the same 404 page as a record that does not exist. The
download itself (headers, ranges, ETag) is `karte.web.downloads`.

The card attaches a file without opening the form: a small multipart form per file field
posts here, and the answer is 303 back to the card with a message; a refused file shows
the card again (422) with the reason next to the field, and a record changed meanwhile
shows it as it is now (409) with the received files kept pending, one click to attach.

(This module is `file_pages`, not `files`: `karte.web.files()` is the service accessor,
and a submodule of the same name would replace it on the package.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _

from karte.meta.model import Entity, Field
from karte.store.errors import Conflict, ValidationFailed
from karte.store.permissions import allows
from karte.web import actor, entity_or_404, files, records, registry, text
from karte.web.cards import card_again
from karte.web.downloads import file_response, thumbnail_response
from karte.web.field_access import fixed
from karte.web.form_files import Posted, Upload, posted, receive, saved, upload
from karte.web.form_model import Conditions
from karte.web.messages import field_errors

blueprint = Blueprint("files", __name__)


def _file_field(entity: Entity, name: str) -> Field:
    f = entity.fields.get(name)
    if f is None or f.type != "file":
        abort(404)
    return f


def _found(entity: str, id: int, field: str, file_id: str) -> dict[str, Any]:
    ent = entity_or_404(entity)
    _file_field(ent, field)
    return files().find(ent.name, id, field, file_id, actor())


@blueprint.get("/<entity>/<int:id>/files/<field>/<file_id>")
def download(entity: str, id: int, field: str, file_id: str):
    """The file's bytes, streamed (`?download=1` saves even an image or PDF)."""
    ref = _found(entity, id, field, file_id)
    service = files()
    return file_response(request, ref, lambda start, stop: service.open(ref, start, stop))


@blueprint.get("/<entity>/<int:id>/files/<field>/<file_id>/thumb")
def thumbnail(entity: str, id: int, field: str, file_id: str):
    """A small WebP of an image (404 for a file that has none)."""
    ref = _found(entity, id, field, file_id)
    webp = files().thumbnail(ref)
    if webp is None:
        abort(404)
    return thumbnail_response(request, ref, webp)


# ---------------------------------------------------------------- attach and remove on the card


@blueprint.app_template_global("changeable_files")
def changeable(entity: Entity, record: Mapping[str, Any]) -> list[str]:
    """The file fields of `record` the signed-in user may attach to and remove from: the
    record is theirs to update, and the field is neither read-only (declared, by role, or
    by a `read_only_if` that holds now)."""
    if not allows(records().store, entity, actor(), "update", record):
        return []
    locked, judge = fixed(entity), Conditions(actor(), registry().timezone)
    return [f.name for f in entity.fields.values() if f.type == "file"
            and not f.read_only and f.name not in locked
            and not judge.holds(f.read_only_if, record)]


@blueprint.app_template_global("file_input")
def file_input(entity: Entity, f: Field) -> Upload:
    """What the card's "Add file" input accepts, in its attribute and in words."""
    return upload(entity, f, None, None)


@blueprint.post("/<entity>/<int:id>/files/<field>")
def attach(entity: str, id: int, field: str):
    """Receive the chosen files (and any kept pending) and attach them at `version`."""
    ent = entity_or_404(entity)
    f = _file_field(ent, field)
    state = posted(ent, [f], request.form)[f.name]
    problems = receive(ent, f, request.files.getlist("file"), state)
    if problems:
        return card_again(ent, id, 422, file_errors={f.name: problems},
                          file_pending={f.name: state.pending})
    if not state.pending:
        return card_again(ent, id, 422, file_errors={f.name: [_("Choose a file to attach.")]})
    try:
        files().attach(ent.name, id, f.name, [ref for _t, ref in state.pending],
                       request.form.get("version"), actor())
    except ValidationFailed as error:
        return card_again(ent, id, 422, file_errors=_messages(ent, f, error),
                          file_pending={f.name: state.pending})
    except Conflict:
        return _changed_meanwhile(ent, id, f, state)
    names = ", ".join(ref["name"] for _t, ref in state.pending)
    flash(_("Uploaded %(name)s", name=names))
    return saved(url_for("cards.show", entity=ent.name, id=id, _anchor=f"files-{f.name}"))


def _messages(entity: Entity, f: Field, error: ValidationFailed) -> dict[str, list[str]]:
    """Every problem of a refused attach, shown at the field (another field's problem —
    a required one empty on an old record — names that field)."""
    found = field_errors(error, entity)
    mine = found.pop(f.name, [])
    others = [f"{text(entity.fields[n].label) if n in entity.fields else n}: {m}"
              for n, ms in found.items() for m in ms]
    return {f.name: mine + others}


def _changed_meanwhile(entity: Entity, id: int, f: Field, state: Posted):
    return card_again(entity, id, 409, file_pending={f.name: state.pending}, file_errors={
        f.name: [_("Someone else changed this record meanwhile, so nothing was attached. "
                   "The card now shows it as it is; attach the kept file again.")]})


@blueprint.post("/<entity>/<int:id>/files/<field>/<file_id>/remove")
def remove(entity: str, id: int, field: str, file_id: str):
    """Take the file off the record (it stays in storage for history until pruned)."""
    ref = _found(entity, id, field, file_id)
    ent = entity_or_404(entity)
    try:
        files().remove(ent.name, id, field, file_id, request.form.get("version"), actor())
    except Conflict:
        return card_again(ent, id, 409, file_errors={field: [
            _("Someone else changed this record meanwhile, so nothing was removed. The "
              "card now shows it as it is; remove the file again if you still want to.")]})
    except ValidationFailed as error:
        return card_again(ent, id, 422, file_errors=_messages(ent, ent.fields[field], error))
    flash(_("Removed %(name)s", name=ref["name"]))
    return saved(url_for("cards.show", entity=ent.name, id=id, _anchor=f"files-{field}"))

