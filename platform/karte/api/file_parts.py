"""Files sent to the API in a multipart/form-data body: received one by one through the
files service, each refusal said as the API says problems.

Two requests carry files: an upload to one field (`POST …/files/<field>`, the files in
parts named `file`) and a create (`POST /api/v1/<entity>` as multipart: the record's JSON
in a part named `record`, each file field's files in parts named after the field — how a
record with a `required` file field is created in one request). Files are checked and
stored before the record is written; a refused one is a 413 (size) or a 422.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, cast

from flask import current_app, request
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from karte.api.bodies import parse_object, record_values
from karte.api.problems import ApiProblem, entry
from karte.files.checks import FileRefused
from karte.meta.model import Entity
from karte.store.actor import Actor
from karte.web import files
from karte.web.form_files import refusal_text

PART = "file"
"""The part that carries an upload's file(s)."""
RECORD = "record"
"""The part that carries a multipart create's JSON object."""
MULTIPART = "multipart/form-data"


def is_multipart() -> bool:
    return request.mimetype == MULTIPART


def require_multipart() -> None:
    """415 unless the body is multipart/form-data; 413 for one above the request limit
    (said before it is read)."""
    if not is_multipart():
        raise ApiProblem(415, [entry("Content-Type", "unsupported_media_type", _(
            "Send the file as multipart/form-data, in a part named \"%(part)s\".",
            part=PART))])
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise too_large()


def too_large() -> ApiProblem:
    return ApiProblem(413, [entry("", "too_large", _(
        "This request is larger than Karte accepts (%(mb)s MB at most); nothing was saved.",
        mb=current_app.config["KARTE_MAX_UPLOAD_MB"]))])


def refused(field: str, error: FileRefused) -> ApiProblem:
    """A refused upload as 413 (too large) or 422, its message in the caller's language."""
    return ApiProblem(413 if error.code == "size" else 422,
                      [entry(field, error.code, refusal_text(error))])


@contextmanager
def _read() -> Iterator[None]:
    """A body werkzeug stops reading at MAX_CONTENT_LENGTH is our 413."""
    try:
        yield
    except RequestEntityTooLarge:
        raise too_large() from None


def _sent(name: str) -> list[FileStorage]:
    with _read():
        return [upload for upload in request.files.getlist(name)
                if upload.filename or upload.content_length]


def receive(entity: Entity, field: str, uploads: list[FileStorage],
            actor: Actor | None) -> list[dict[str, Any]]:
    """Each upload checked and stored for `field`: their references, not attached yet."""
    service = files()
    try:
        return [service.receive(entity.name, field, cast(BinaryIO, upload.stream),
                                upload.filename or "", actor) for upload in uploads]
    except FileRefused as error:
        raise refused(field, error) from None


def upload_parts(entity: Entity, field: str, actor: Actor | None) -> list[dict[str, Any]]:
    """The `file` parts of an upload to `field`, received; 422 when there is none."""
    sent = _sent(PART)
    if not sent:
        with _read():
            named = ", ".join(sorted({*request.files, *request.form})) or _("none")
        raise ApiProblem(422, [entry(PART, "required", _(
            "Send the file in a multipart part named \"%(part)s\" (parts sent: %(named)s).",
            part=PART, named=named))])
    return receive(entity, field, sent, actor)


def create_values(entity: Entity, actor: Actor | None) -> dict[str, Any]:
    """A multipart create's values: the `record` part's fields (checked as a JSON body's)
    and, for each file field with parts of its name, the references of its files. A part
    of another name is a 422 naming it."""
    with _read():
        form, uploads = request.form, request.files
    body = parse_object(form[RECORD], RECORD) if RECORD in form else {}
    values = record_values(entity, body, actor)
    file_fields = {f.name for f in entity.file_fields()}
    unknown = sorted({*form, *uploads} - file_fields - {RECORD})
    if unknown:
        raise ApiProblem(422, [entry(name, "unknown", _(
            "A multipart create takes the record's JSON in a part named \"%(record)s\" and "
            "files in parts named after file fields (%(fields)s); \"%(name)s\" is neither.",
            record=RECORD, fields=", ".join(sorted(file_fields)) or _("none"), name=name))
            for name in unknown])
    for name in sorted(file_fields & set(uploads)):
        sent = _sent(name)
        if len(sent) > 1 and not entity.fields[name].multiple:
            raise ApiProblem(422, [entry(name, "invalid", _(
                "This field holds one file; attach a single file."))])
        if sent:
            values[name] = receive(entity, name, sent, actor)
    return values
