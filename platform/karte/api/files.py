"""A record's files through the API (SPEC §13): upload, remove, download.

`POST /api/v1/<entity>/<id>/files/<field>` takes `multipart/form-data` with one part named
`file` (several for a `multiple` field) and `If-Match` as PATCH does (428 without, 412 when
stale): each file is judged from its content and stored, then all are attached in one
write → 201 with the record. A refused file is a 422 (empty, type, accept, image, name)
or a 413 (size), `errors[].code` the refusal's code. `DELETE …/<file id>` with `If-Match`
takes one file off → 200 with the record (the bytes stay until `karte files prune`).
`GET …/<file id>` streams the bytes with the pages' download headers
(`karte.web.downloads`): nosniff, a sandbox CSP, an attachment unless previewable, ETag
and ranges. A record, field or file the caller may not read is a 404, as if absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, request

from karte.api import blueprint
from karte.api.auth import api_actor
from karte.api.file_parts import require_multipart, upload_parts
from karte.api.serialize import file_url
from karte.api.writing import (
    conflict_as_412,
    entity_of,
    invalid_as_422,
    may,
    precondition,
    record_response,
)
from karte.meta.model import Entity
from karte.store.actor import Actor
from karte.web import files, records
from karte.web.downloads import file_response


def _changing(entity: str, id: str, field: str
              ) -> tuple[Entity, Actor, Mapping[str, Any], int]:
    """The record as the caller reads it (404 outside their scope), a file field of it
    (404 otherwise), their right to update it (403) and the version `If-Match` names."""
    ent = entity_of(entity)
    actor = api_actor()
    current = records().get(ent.name, id, actor=actor)
    files().field(ent.name, field)
    may(ent, actor, "update", current)
    return ent, actor, current, precondition(current)


@blueprint.post("/<entity>/<id>/files/<field>")
def upload_files(entity: str, id: str, field: str) -> Response:
    ent, actor, current, version = _changing(entity, id, field)
    require_multipart()
    refs = upload_parts(ent, field, actor)
    with invalid_as_422(ent), conflict_as_412():
        saved = files().attach(ent.name, current["id"], field, refs, version, actor)
    response = record_response(ent, saved, 201)
    if len(refs) == 1:
        response.headers["Location"] = file_url(ent.name, saved["id"], field, refs[0]["id"])
    return response


@blueprint.delete("/<entity>/<id>/files/<field>/<file_id>")
def remove_file(entity: str, id: str, field: str, file_id: str) -> Response:
    ent = entity_of(entity)
    files().find(ent.name, id, field, file_id, api_actor())       # 404 before 428
    ent, actor, current, version = _changing(entity, id, field)
    with invalid_as_422(ent), conflict_as_412():
        saved = files().remove(ent.name, current["id"], field, file_id, version, actor)
    return record_response(ent, saved)


@blueprint.get("/<entity>/<id>/files/<field>/<file_id>")
def download_file(entity: str, id: str, field: str, file_id: str) -> Response:
    ent = entity_of(entity)
    service = files()
    ref = service.find(ent.name, id, field, file_id, api_actor())
    return file_response(request, ref, lambda start, stop: service.open(ref, start, stop))

