"""Moves, record actions and merges through the API (SPEC §11.1, §4, §3.7, §14).

`POST /api/v1/<entity>/<id>/move` `{"to": stage, "values": {...}, "workflow": name}` goes
through `Workflows.move`, like the stage bar and the board: 200 with the record, or 409
with every reason the move is refused and, as `missing`, the fields it needs filled (send
them in `values` to complete the move in one request). `POST …/actions/<name>` runs a
declared action (`RecordActions.run`, all or nothing; refused: 422 with every reason, as
on the card). `POST …/merge` `{"other": id, "values": {...}}` merges `other` into this
record (`Records.merge`): `values` are the survivor's fields to take. `If-Match` is
optional on these three and honoured when sent (412 when stale).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, abort, request
from flask_babel import gettext as _

from karte.api import blueprint
from karte.api.auth import api_actor
from karte.api.bodies import json_object, only, record_values
from karte.api.problems import ApiProblem, entry
from karte.api.serialize import json_response
from karte.api.writing import (
    conflict_as_412,
    entity_of,
    if_match,
    invalid_as_422,
    record_response,
    said,
    shown,
)
from karte.fields import record_id
from karte.meta.model import Entity
from karte.store.actor import Actor
from karte.web import records, workflows
from karte.web.actions import actions_service
from karte.workflow import ActionRefused, MoveRefused

MOVE = ("to", "values", "workflow")
MERGE = ("other", "values", "other_version")


def _text_member(body: Mapping[str, Any], name: str, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiProblem(422, [entry(name, "required" if value is None else "type",
                                     _('Send "%(name)s" as a string.', name=name))])
    return value.strip()


def _values(entity: Entity, body: Mapping[str, Any], actor: Actor,
            stored: Mapping[str, Any]) -> dict[str, Any]:
    """The `values` member: field values as in a PATCH body (null or absent: none)."""
    given = body.get("values")
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise ApiProblem(422, [entry("values", "type", _(
            "Send \"values\" as an object of field values."))])
    return record_values(entity, given, actor, stored)


def _body() -> dict[str, Any]:
    """A JSON object, or nothing at all (an action needs no body)."""
    if not request.content_length:
        return {}
    return json_object()


# ---------------------------------------------------------------- move

def _refused(entity: Entity, refused: MoveRefused) -> ApiProblem:
    """409: every reason (in the caller's language), and the fields whose only fault is
    being empty as `missing`, in the order a form would ask for them."""
    return ApiProblem(409, [entry(p.where, p.code or "refused", p.message)
                            for p in refused.problems],
                      missing=list(refused.missing), only_missing=refused.only_missing)


@blueprint.post("/<entity>/<int:id>/move")
def move_record(entity: str, id: int) -> Response:
    ent = entity_of(entity)
    actor = api_actor()
    body = json_object()
    only(body, MOVE)
    to, flow = _text_member(body, "to", True), _text_member(body, "workflow", False)
    current = records().get(ent.name, id, actor=actor)
    version = if_match(current)
    values = _values(ent, body, actor, current)
    try:
        with invalid_as_422(ent), conflict_as_412():
            moved = workflows().move(ent.name, id, to or "", actor=actor, values=values,
                                     version=version, workflow=flow)
    except MoveRefused as refused:
        raise _refused(ent, refused) from None
    return record_response(ent, moved)


# ---------------------------------------------------------------- actions

def _created(name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    return {"entity": name, "id": record["id"],
            "location": f"{request.script_root}{blueprint.url_prefix}/{name}/{record['id']}"}


@blueprint.post("/<entity>/<int:id>/actions/<name>")
def run_action(entity: str, id: int, name: str) -> Response:
    """200 with `record` (this record as it is now), `created` (each record the action
    made) and `open` (where the card would land: this record or the one created)."""
    ent = entity_of(entity)
    if not any(a.name == name for a in ent.actions):
        abort(404)
    actor = api_actor()
    only(_body(), ())
    current = records().get(ent.name, id, actor=actor)
    version = if_match(current)
    try:
        with conflict_as_412():
            outcome = actions_service().run(ent.name, id, name, actor, version=version)
    except ActionRefused as refused:
        raise ApiProblem(422, said(ent, refused.problems, "refused")) from None
    now = records().get(ent.name, id, actor=actor)
    target, target_id = outcome.open
    response = json_response({
        "record": shown(ent, now),
        "created": [_created(made, record) for made, record in outcome.created],
        "open": _created(target, {"id": target_id})})
    response.set_etag(str(now["version"]))
    return response


# ---------------------------------------------------------------- merge

def _other(body: Mapping[str, Any]) -> int:
    other = body.get("other")
    number = record_id(other) if isinstance(other, int) else None
    if number is None:
        raise ApiProblem(422, [entry("other", "required" if other is None else "type", _(
            "Send \"other\": the id of the record to merge into this one."))])
    return number


@blueprint.post("/<entity>/<int:id>/merge")
def merge_records(entity: str, id: int) -> Response:
    """Merge `other` into this record; 200 with the survivor. `If-Match` (this record)
    and `other_version` (the other's) are checked when sent."""
    ent = entity_of(entity)
    actor = api_actor()
    body = json_object()
    only(body, MERGE)
    other = _other(body)
    current = records().get(ent.name, id, actor=actor)
    version = if_match(current)
    values = _values(ent, body, actor, current)
    theirs = body.get("other_version")
    versions = None
    if version is not None or theirs is not None:
        seen = theirs if theirs is not None else records().get(ent.name, other,
                                                                actor=actor)["version"]
        versions = (current["version"] if version is None else version, seen)
    with invalid_as_422(ent), conflict_as_412():
        survivor = records().merge(ent.name, id, other, values, actor, versions=versions)
    return record_response(ent, survivor)

