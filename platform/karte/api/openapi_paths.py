"""The paths of the OpenAPI document: every endpoint of SPEC §11.1 for every entity.

Parts have no paths of their own (their lines travel inside the parent). An entity gets
`move` when a workflow runs on it and `actions/<name>` for each declared action. Every
operation lists the error statuses it can answer, each as `application/problem+json`.
"""

from __future__ import annotations

from typing import Any

from karte.api.openapi_filters import LANG, LIMIT, list_parameters
from karte.api.openapi_schemas import HISTORY_ENTRY, PROBLEM, Schema, ref
from karte.api.read_params import RECORD_PARAMS
from karte.fields import MAX_ID
from karte.meta.model import Entity, Pack

JSON, PROBLEM_JSON = "application/json", "application/problem+json"
ERRORS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
          409: "Conflict", 412: "PreconditionFailed", 413: "ContentTooLarge",
          415: "UnsupportedMediaType", 422: "UnprocessableContent",
          428: "PreconditionRequired", 429: "TooManyRequests"}
ERROR_TEXT = {400: "An unknown or malformed parameter, or a body that is not JSON.",
              401: "No token, or a malformed, unknown, revoked or expired one; the browser "
                   "session is accepted for reads only.",
              403: "The role may not do this, or may not write a field it sends.",
              404: "No such record (or one the role may not read).",
              409: "A refused move or action (every reason listed), or a conflict such as "
                   "a unique value or a record still linked to.",
              412: "If-Match names an older version: `current_version` is the record's.",
              413: "The body is larger than the server accepts.",
              415: "The body is not application/json (nor, where files may be sent, "
                   "multipart/form-data).",
              422: "A value is refused: `errors[].field` names it (`lines[2].quantity`).",
              428: "If-Match is missing: send the version you read as `If-Match: \"<n>\"`.",
              429: "Too many requests for this token: wait `Retry-After` seconds."}
READ_ERRORS = (400, 401, 403, 404, 429)
BODY_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 429)
RECORD_ID: Schema = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}
ID: dict[str, Any] = {"name": "id", "in": "path", "required": True,
                      "description": "The record's id.", "schema": RECORD_ID}


def responses() -> dict[str, dict[str, Any]]:
    """The shared responses: one per error status, and 304."""
    out: dict[str, dict[str, Any]] = {
        ERRORS[code]: {"description": ERROR_TEXT[code],
                       "content": {PROBLEM_JSON: {"schema": ref(PROBLEM)}}}
        for code in ERRORS}
    out["Unauthorized"]["headers"] = {"WWW-Authenticate": "WWW-Authenticate"}
    out["TooManyRequests"]["headers"] = {"Retry-After": "Retry-After"}
    out["NotModified"] = {"description": "The record is still at the version named in "
                                         "If-None-Match.", "headers": {"ETag": "ETag"}}
    return out


def headers() -> dict[str, dict[str, Any]]:
    return {
        "ETag": {"description": "The record's version, quoted: send it back as If-Match.",
                 "schema": {"type": "string", "pattern": r'^"[0-9]+"$'}},
        "Location": {"description": "The new record's URL.",
                     "schema": {"type": "string"}},
        "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
        "WWW-Authenticate": {"description": "The Bearer challenge.",
                             "schema": {"type": "string"}},
    }


def parameters() -> dict[str, dict[str, Any]]:
    """The shared header parameters."""
    version = {"type": "string", "pattern": r'^"[0-9]{1,18}"$'}
    return {
        "IfMatch": {"name": "If-Match", "in": "header", "required": True, "schema": version,
                    "description": 'The version you read (ETag), e.g. `"3"`.'},
        "IfMatchOptional": {"name": "If-Match", "in": "header", "required": False,
                            "schema": version, "description": "Optional: the version you "
                            "read; a stale one is a 412 and nothing is done."},
        "IfNoneMatch": {"name": "If-None-Match", "in": "header", "required": False,
                        "schema": version,
                        "description": "Answer 304 while the record is at this version."},
    }


def _errors(codes: tuple[int, ...]) -> dict[str, Any]:
    return {str(code): ERRORS[code] for code in codes}


def _json(schema: Schema | str, description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def _body(schema: Schema | str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}


def _op(entity: Entity, op_id: str, summary: str, ok: dict[str, Any],
        errors: tuple[int, ...], **more: Any) -> dict[str, Any]:
    return {"operationId": f"{op_id}_{entity.name}", "summary": summary,
            "tags": [entity.name], "responses": {**ok, **_errors(tuple(sorted(errors)))},
            **more}


def _links(entity: Entity) -> dict[str, Any]:
    """What a client (or a stateful fuzzer) does next with the record it created."""
    the_id = {"id": "$response.body#/id"}
    version = {**the_id, "header.If-Match": "$response.header.ETag"}
    return {f"{verb.title()}Created": {"operationId": f"{verb}_{entity.name}",
                                       "parameters": parameters}
            for verb, parameters in (("get", the_id), ("update", version),
                                     ("history", the_id), ("delete", version))}


def collection(entity: Entity, pack: Pack) -> dict[str, Any]:
    """`/<entity>`: list and create."""
    plural = entity.plural.get("en", pack.locale)
    page = {"type": "object", "required": ["data", "next", "limit"],
            "properties": {"data": {"type": "array", "items": ref(entity.name)},
                           "next": {"type": ["string", "null"], "description":
                                    "The cursor of the next page; null on the last."},
                           "limit": {"type": "integer"}}}
    created = _json(entity.name, "Created.", headers={"Location": "Location",
                                                      "ETag": "ETag"},
                    links=_links(entity))
    return {
        "get": _op(entity, "list", f"List {plural}", {"200": _json(page, "A page.")},
                   (400, 401, 403, 429), parameters=list_parameters(entity, pack)),
        "post": _op(entity, "create", f"Create {entity.label.get('en', pack.locale)}",
                    {"201": created}, BODY_ERRORS,
                    requestBody=_body(f"{entity.name}.write")),
    }


def item(entity: Entity, pack: Pack) -> dict[str, Any]:
    """`/<entity>/{id}`: read, change, delete."""
    one = entity.label.get("en", pack.locale)
    fields = [p for p in list_parameters(entity, pack)
              if p["name"] in (*RECORD_PARAMS, LANG["name"])]
    return {
        "parameters": [ID],
        "get": _op(entity, "get", f"Read a {one}",
                   {"200": _json(entity.name, "The record.", headers={"ETag": "ETag"}),
                    "304": "NotModified"}, READ_ERRORS,
                   parameters=["IfNoneMatch", *fields]),
        "patch": _op(entity, "update", f"Change a {one}",
                     {"200": _json(entity.name, "The record as saved.",
                                   headers={"ETag": "ETag"})},
                     (*BODY_ERRORS, 412, 428), parameters=["IfMatch"],
                     requestBody=_body(f"{entity.name}.patch")),
        "delete": _op(entity, "delete", f"Delete a {one}", {"204": {"description":
                                                                    "Deleted."}},
                      (400, 401, 403, 404, 409, 412, 428, 429), parameters=["IfMatch"]),
    }


def move(entity: Entity, pack: Pack) -> dict[str, Any] | None:
    """`/<entity>/{id}/move`, when a workflow runs on the entity."""
    flows = pack.workflows_of(entity.name)
    if not flows:
        return None
    stages = list(dict.fromkeys(key for flow in flows for key in flow.stage_keys))
    body: Schema = {"type": "object", "additionalProperties": False, "required": ["to"],
                    "properties": {"to": {"type": "string", "enum": stages},
                                   "workflow": {"type": "string",
                                                "enum": [f.name for f in flows]},
                                   "values": ref(f"{entity.name}.patch")}}
    if len(flows) > 1:
        body["required"] = ["to", "workflow"]
    return {"parameters": [ID], "post": _op(
        entity, "move", "Move to a stage (with values saved in the same step)",
        {"200": _json(entity.name, "The record in its new stage.", headers={"ETag": "ETag"})},
        (*BODY_ERRORS, 412), parameters=["IfMatchOptional"], requestBody=_body(body))}


def action(entity: Entity, name: str, label: str) -> dict[str, Any]:
    """`/<entity>/{id}/actions/<name>`: run a declared action (no body, or `{}`)."""
    made: Schema = {"type": "object", "required": ["entity", "id", "location"],
                    "properties": {"entity": {"type": "string"}, "id": RECORD_ID,
                                   "location": {"type": "string"}}}
    result = {"type": "object", "required": ["record", "created", "open"],
              "properties": {"record": ref(entity.name),
                             "created": {"type": "array", "items": made,
                                         "description": "Each record the action made."},
                             "open": {**made, "description": "Where the card would land: "
                                      "this record or the one created."}}}
    empty = {"type": "object", "additionalProperties": False, "maxProperties": 0}
    return {"parameters": [ID], "post": {
        **_op(entity, f"action_{name}", label,
              {"200": _json(result, "Done.", headers={"ETag": "ETag"})},
              (400, 401, 403, 404, 412, 413, 415, 422, 429),
              parameters=["IfMatchOptional"],
              requestBody={"required": False, "content": {JSON: {"schema": empty}}}),
        "operationId": f"action_{entity.name}_{name}"}}


def history(entity: Entity) -> dict[str, Any]:
    """`/<entity>/{id}/history`: the record's changes, newest first."""
    page = {"type": "object", "required": ["data", "next", "limit"],
            "properties": {"data": {"type": "array", "items": ref(HISTORY_ENTRY)},
                           "next": {"type": ["string", "null"]}, "limit": {"type": "integer"}}}
    return {"parameters": [ID], "get": _op(
        entity, "history", "The record's history, newest first",
        {"200": _json(page, "Its changes.")}, READ_ERRORS,
        parameters=[LIMIT, LANG, {"name": "cursor", "in": "query", "required": False,
                            "schema": {"type": "string", "maxLength": 2000}}])}


def merge(entity: Entity) -> dict[str, Any]:
    """`/<entity>/{id}/merge`: merge another record into this one."""
    body = {"type": "object", "additionalProperties": False, "required": ["other"],
            "properties": {"other": {**RECORD_ID, "description": "The record merged "
                                     "into this one (then deleted as merged)."},
                           "other_version": {"type": "integer", "description": "Optional: "
                                             "the other record's version you read."},
                           "values": ref(f"{entity.name}.patch")}}
    return {"parameters": [ID], "post": _op(
        entity, "merge", "Merge another record into this one",
        {"200": _json(entity.name, "The survivor.", headers={"ETag": "ETag"})},
        (*BODY_ERRORS, 412), parameters=["IfMatchOptional"], requestBody=_body(body))}


def entity_paths(entity: Entity, pack: Pack) -> dict[str, dict[str, Any]]:
    """Every path of one entity, keyed by path."""
    base = f"/{entity.name}"
    paths = {base: collection(entity, pack), f"{base}/{{id}}": item(entity, pack),
             f"{base}/{{id}}/history": history(entity),
             f"{base}/{{id}}/merge": merge(entity)}
    moving = move(entity, pack)
    if moving is not None:
        paths[f"{base}/{{id}}/move"] = moving
    for declared in entity.actions:
        paths[f"{base}/{{id}}/actions/{declared.name}"] = action(
            entity, declared.name, declared.label.get("en", pack.locale))
    return paths
