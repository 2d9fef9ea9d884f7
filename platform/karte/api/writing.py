"""Creating, changing and deleting records through the API (SPEC §11.1).

`POST /api/v1/<entity>` → 201 with `Location` and the record as GET returns it;
`PATCH /api/v1/<entity>/<id>` with `If-Match: "<version>"` changes the fields the body
names (lines: replace-with-ids, karte.api.bodies) → 200; `DELETE` with `If-Match` soft
deletes → 204. Without `If-Match`: 428; with a version that is not the record's: 412 naming
`current_version`. Everything goes through the records service, as the forms do: the
same validation, rights, audit and messages (in the caller's language).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from flask import Response, abort, request
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.http import parse_etags

from karte.api import blueprint, reading
from karte.api.auth import api_actor
from karte.api.bodies import json_object, record_values
from karte.api.file_parts import create_values, is_multipart
from karte.api.problems import ApiProblem, entry
from karte.api.serialize import json_response, to_json
from karte.meta.model import Entity
from karte.problems import Problem
from karte.store.actor import Actor
from karte.store.errors import Conflict, ValidationFailed
from karte.store.permissions import allows, check_create, forbidden, rights
from karte.web import records
from karte.web.lines_errors import errors_of


def entity_of(name: str) -> Entity:
    """The entity of a URL: 404 for a name the pack does not have, and for a part (its
    lines are read and written inside their parent, SPEC §3.5)."""
    entity = reading.resource(name)
    if entity is None:
        abort(404)
    return entity


def may(entity: Entity, actor: Actor, action: str, record: Mapping[str, Any]) -> None:
    """403 before anything else when the caller's role may not `action` this record
    (the service checks again inside its transaction)."""
    if not allows(records().store, entity, actor, action, record):
        level = getattr(rights(records().store, entity, actor), action)
        raise forbidden(entity, actor, action, own=level == "own")


def shown(entity: Entity, record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as GET returns it to the caller (karte.api.serialize)."""
    [body] = to_json(records().store, entity, api_actor(), [record])
    return body


def record_response(entity: Entity, record: Mapping[str, Any], status: int = 200) -> Response:
    """The record as GET returns it, with its version as the ETag."""
    response = json_response(shown(entity, record), status)
    response.set_etag(str(record["version"]))
    return response


# ---------------------------------------------------------------- messages

def _plain(message: Any) -> str:
    return str(message.striptags()) if isinstance(message, Markup) else str(message)


def said(entity: Entity, problems: list[Problem], default: str = "invalid") -> list[dict[str, str]]:
    """The service's problems as `errors[]`, each in the caller's language as the form
    would show it (`lines[2].quantity` said with the part's labels)."""
    found = []
    for p in problems:
        messages = errors_of(ValidationFailed([p]), entity).get(p.where) or [p.message]
        found.append(entry(p.where, p.code or default, _plain(messages[0])))
    return found


@contextmanager
def invalid_as_422(entity: Entity) -> Iterator[None]:
    """A ValidationFailed of the service as a 422 whose messages are the forms'."""
    try:
        yield
    except ValidationFailed as error:
        raise ApiProblem(422, said(entity, error.problems)) from None


# ---------------------------------------------------------------- conditional requests

def _versions(header: str) -> tuple[set[str], bool]:
    tags = parse_etags(header)
    return tags.as_set(include_weak=True), tags.star_tag


def if_match(current: Mapping[str, Any]) -> int | None:
    """The version the caller's `If-Match` names, checked against the record as stored:
    412 naming `current_version` when it is not the record's; None without the header.
    Returns the record's version, for the service's own check (which catches a write that
    lands in between)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    version = int(current["version"])
    tags, star = _versions(header)
    if not star and str(version) not in tags:
        raise stale(version, header)
    return version


def precondition(current: Mapping[str, Any]) -> int:
    """`if_match`, required: 428 without the header."""
    version = if_match(current)
    if version is None:
        raise ApiProblem(428, [entry("If-Match", "required", _(
            "Send If-Match with the version you read (the ETag of GET), e.g. "
            "If-Match: \"%(version)s\".", version=current["version"]))])
    return version


def stale(version: int, sent: str, problems: Sequence[Problem] = ()) -> ApiProblem:
    """412: the record is at `version`, not at the one the caller sent; nothing written.
    `problems`: what changed meanwhile, field by field, when the service found it."""
    named = ", ".join(sorted(_versions(sent)[0])) or sent.strip()
    errors = [entry("If-Match", "stale", _(
        "The record is at version %(version)s, not %(sent)s; nothing was saved. Read it "
        "again and send its ETag.", version=version, sent=named))]
    errors += [entry(p.where, "stale", p.message) for p in problems if p.where]
    return ApiProblem(412, errors, current_version=version)


@contextmanager
def conflict_as_412() -> Iterator[None]:
    """The service's own version check (a write that landed since the record was read)
    as a 412."""
    try:
        yield
    except Conflict as error:
        version = int(error.current["version"])
        raise stale(version, request.headers.get("If-Match", ""), error.problems) from None


# ---------------------------------------------------------------- endpoints

@blueprint.post("/<entity>")
def create_record(entity: str) -> Response:
    ent = entity_of(entity)
    actor = api_actor()
    check_create(records().store, ent, actor)
    multipart = is_multipart()     # a record with its files: karte.api.file_parts
    values = create_values(ent, actor) if multipart else record_values(ent, json_object(),
                                                                       actor)
    with invalid_as_422(ent):
        saved = records().create(ent.name, values, actor=actor, files=multipart)
    response = record_response(ent, saved, 201)
    response.headers["Location"] = f"{request.script_root}{blueprint.url_prefix}/" \
                                   f"{ent.name}/{saved['id']}"
    return response


def _changing(entity: str, id: str, action: str
              ) -> tuple[Entity, Actor, Mapping[str, Any], int]:
    """A PATCH's or DELETE's record as the caller reads it, once their role may `action`
    it, and the version its `If-Match` names (428 without, 412 when stale)."""
    ent = entity_of(entity)
    actor = api_actor()
    current = records().get(ent.name, id, actor=actor)
    may(ent, actor, action, current)
    return ent, actor, current, precondition(current)


# `<id>` as the GET route takes it (not `<int:id>`): an id that is no record's — "abc", -5,
# 2**64 — is a 404 from the records service for every method, never a 405 from the router.
@blueprint.patch("/<entity>/<id>")
def update_record(entity: str, id: str) -> Response:
    ent, actor, current, version = _changing(entity, id, "update")
    values = record_values(ent, json_object(), actor, current)
    with invalid_as_422(ent), conflict_as_412():
        saved = records().update(ent.name, current["id"], values, version, actor=actor)
    return record_response(ent, saved)


@blueprint.delete("/<entity>/<id>")
def delete_record(entity: str, id: str) -> Response:
    ent, actor, current, version = _changing(entity, id, "delete")
    with conflict_as_412():
        records().delete(ent.name, current["id"], actor=actor, version=version)
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response
