"""The API's reads (SPEC §11.1): list, one record, its history — for every entity of the pack.

- `GET /api/v1/<entity>`: `{"data": [records], "next": cursor | null, "limit": n}`; the
  query parameters are `karte.api.read_params`'s. Pages are read by keyset
  (`keyset.page`): the cursor's page costs what the first one does, and rows inserted or
  deleted between two pages never make another row repeat or go missing.
- `GET /api/v1/<entity>/<id>`: the record with `ETag: "<version>"`; `If-None-Match` with
  that tag is a 304 without a body.
- `GET /api/v1/<entity>/<id>/history`: `karte.api.read_history`, newest first, `limit`
  entries a page.

A part (the lines of another entity) has no resource of its own: its lines are read in
their parent. An unknown entity or a part is a 404, an entity the caller's role may not
read a 403 — as on the list page; a record outside the caller's read scope is a 404, even
when the role may read no record of its entity — as on its card (existence not revealed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Response, abort, request

from karte.api import blueprint, read_cursor, read_history, read_params, serialize
from karte.api.auth import api_actor
from karte.meta.model import Entity
from karte.store.permissions import forbidden, rights
from karte.store.records import keyset
from karte.web import records, registry, workflows


def resource(name: str) -> Entity | None:
    """The entity `/api/v1/<name>` names: None when unknown or a part."""
    entity = registry().entities.get(name)
    return None if entity is None or entity.part_of is not None else entity


def readable(name: str) -> Entity:
    """The entity of the URL: 404 unknown or a part, 403 when the role may not read it."""
    entity = resource(name)
    if entity is None:
        abort(404)
    if not rights(records().store, entity, api_actor()).read:
        raise forbidden(entity, api_actor(), "read")
    return entity


def record_entity(name: str) -> Entity:
    """The entity of a record's URL: 404 unknown or a part; the record's own read decides
    the rest (404 outside the read scope, as the card page answers)."""
    entity = resource(name)
    if entity is None:
        abort(404)
    return entity


def _with_lines(entity: Entity, rows: list[dict[str, Any]],
                fields: frozenset[str] | None) -> None:
    """The page's lines, one query per `lines` field asked for (none when none is)."""
    wanted = [f.name for f in entity.lines_fields() if fields is None or f.name in fields]
    if not wanted or not rows:
        return
    found = records().lines_of(entity.name, [row["id"] for row in rows], actor=api_actor())
    for name in wanted:
        for row in rows:
            row[name] = found.get(name, {}).get(row["id"], [])


@blueprint.get("/<entity>")
def list_records(entity: str) -> Response:
    ent = readable(entity)
    store, actor = records().store, api_actor()
    asked = read_params.listing(store, ent, actor, request.args)
    query = asked.query
    rows, after = keyset.page(store, ent.name, query.where(), query.q or None, query.sort,
                              actor=actor, after=asked.after, size=asked.limit)
    _with_lines(ent, rows, asked.fields)
    data = serialize.to_json(store, ent, actor, rows, asked.fields, asked.expand)
    following = read_cursor.encode(after, asked.digest) if after is not None else None
    return serialize.json_response({"data": data, "next": following, "limit": asked.limit})


def etag(record: Mapping[str, Any]) -> str:
    return f'"{record["version"]}"'


@blueprint.get("/<entity>/<id>")
def read_record(entity: str, id: str) -> Response:
    ent = record_entity(entity)
    read_params.check_known(request.args, read_params.RECORD_PARAMS)
    store, actor = records().store, api_actor()
    shaped = read_params.shaping(store, ent, actor, request.args)
    record = records().get(ent.name, id, actor=actor)
    if request.if_none_match.contains_weak(str(record["version"])):
        response = Response(status=304)
    else:
        response = serialize.json_response(serialize.to_json(
            store, ent, actor, [record], shaped.fields, shaped.expand)[0])
    response.headers["ETag"] = etag(record)
    return response


@blueprint.get("/<entity>/<id>/history")
def record_history(entity: str, id: str) -> Response:
    ent = record_entity(entity)
    read_params.check_known(request.args, read_params.HISTORY_PARAMS)
    size = read_params.limit(request.args)
    actor = api_actor()
    audit = records().history(ent.name, id, actor=actor)
    moves = workflows().history(ent.name, id, actor=actor)
    found = read_history.entries(records().store, ent, actor, audit, moves)
    query = read_cursor.digest([ent.name, id, "history"])
    text = request.args.get("cursor", "").strip()
    start = read_cursor.decode_offset(text, query) if text else 0
    return _page(found, start, size, query)


def _page(found: Sequence[dict[str, Any]], start: int, size: int, query: str) -> Response:
    end = start + size
    following = read_cursor.encode_offset(end, query) if end < len(found) else None
    return serialize.json_response({"data": list(found[start:end]), "next": following,
                                    "limit": size})
