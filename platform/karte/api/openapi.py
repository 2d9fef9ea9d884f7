"""The OpenAPI 3.1 document of the API, generated from the Registry (docs/api-openapi.md).

`document(pack)` builds it with apispec: the schemas of every entity (openapi_schemas), the
paths of every entity that is not a part (openapi_paths), the problem+json responses, the
ETag/If-Match/If-None-Match and Location headers, and the bearer security scheme.
`GET /api/v1/openapi.json` serves it, built once per app, with an ETag (304 on
If-None-Match); like every read of the API it takes a token or the signed-in session.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from apispec import APISpec
from flask import Response, current_app, request

from karte.api import blueprint
from karte.api.openapi_files import file_headers, file_paths
from karte.api.openapi_paths import entity_paths, headers, parameters, responses
from karte.api.openapi_schemas import common_schemas, entity_schemas
from karte.meta.model import Pack

VERSION = "1"
DESCRIPTION = (
    "The REST API of this Karte instance: every entity of the pack, generated from its "
    "definitions. Authenticate with a personal token (`Authorization: Bearer <token>`, "
    "created on your account page or with `karte token add`); a signed-in browser session "
    "may read. Errors are `application/problem+json` with `errors[]` of "
    "`{field, code, message}`. Extensions: `x-enum-labels` (an enum's labels per locale), "
    "`x-link` (the entity a link id points to), `x-labels` (an entity's label per locale), "
    "`x-decimal`, `x-minimum`/`x-maximum` and `x-currency` (exact numbers, sent as strings)."
)
BEARER = {"type": "http", "scheme": "bearer",
          "description": "A personal token: `Authorization: Bearer <token>`."}


def document(pack: Pack) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the pack's API."""
    spec = APISpec(title=f"{pack.label.get('en', pack.locale)} — Karte API", version=VERSION,
                   openapi_version="3.1.0", info={"description": DESCRIPTION},
                   servers=[{"url": "/api/v1"}], security=[{"bearer": []}])
    spec.components.security_scheme("bearer", BEARER)
    for name, header in {**headers(), **file_headers()}.items():
        spec.components.header(name, header)
    for name, parameter in parameters().items():
        spec.components.parameter(name, parameter["in"], parameter)
    for name, response in responses().items():
        spec.components.response(name, response)
    for name, schema in {**common_schemas(), **entity_schemas(pack)}.items():
        spec.components.schema(name, schema)
    for entity in pack.entities.values():
        if entity.part_of is not None:
            continue
        spec.tag({"name": entity.name, "description": entity.plural.get("en", pack.locale)})
        for path, operations in file_paths(entity, entity_paths(entity, pack)).items():
            shared = operations.pop("parameters", None)
            spec.path(path=path, operations=operations, parameters=shared)
    return spec.to_dict()


def _cached() -> tuple[bytes, str]:
    """The document as JSON and its ETag, made once per app."""
    services = current_app.extensions["karte"]
    if "openapi" not in services:
        body = json.dumps(document(services["pack"]), ensure_ascii=False,
                          separators=(",", ":")).encode()
        services["openapi"] = (body, hashlib.sha256(body).hexdigest()[:32])
    return services["openapi"]


@blueprint.get("/openapi.json")
def openapi_json() -> Response:
    body, tag = _cached()
    if tag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(body, mimetype="application/json")
    response.set_etag(tag)
    response.headers["Cache-Control"] = "no-cache"
    return response
