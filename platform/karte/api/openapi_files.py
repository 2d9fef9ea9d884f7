"""The OpenAPI paths of a record's files (karte.api.files): per file field, upload
(multipart), and per file, download and remove.

The upload's body is `multipart/form-data` with a binary part `file` (an array of them for a
`multiple` field); the download's body is the file itself, of the types the field accepts.
Every error an operation can answer is listed, as problem+json, with what it means here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from karte.api.openapi_paths import ERRORS, ID, PROBLEM_JSON
from karte.api.openapi_schemas import PROBLEM, Schema, ref
from karte.meta.model import Entity, Field

BINARY: Schema = {"type": "string", "contentMediaType": "application/octet-stream",
                  "format": "binary"}
FILE_ID: dict[str, Any] = {"name": "file_id", "in": "path", "required": True,
                           "description": "The file's id (`id` of an item of the field).",
                           "schema": {"type": "string", "minLength": 1, "maxLength": 64}}
SAID = {
    413: "A file is larger than the field takes (`code` size), or the request is larger "
         "than the server accepts (`too_large`).",
    415: "The body is not multipart/form-data.",
    422: "A file is refused: `errors[].code` is empty, type, accept (not a type the field "
         "takes), image (too large to decode, or broken) or name; or no `file` part.",
    404: "No such record, file field or file — or one the role may not read.",
}


def _problem(code: int) -> dict[str, Any] | str:
    """The shared response of an error status, or one worded for files."""
    if code not in SAID:
        return ERRORS[code]
    return {"description": SAID[code], "content": {PROBLEM_JSON: {"schema": ref(PROBLEM)}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _problem(code) for code in sorted(codes)}


def _record(entity: Entity, description: str, **headers: Any) -> dict[str, Any]:
    return {"description": description, "headers": {"ETag": "ETag", **headers},
            "content": {"application/json": {"schema": ref(entity.name)}}}


def _op(entity: Entity, field: Field, verb: str, summary: str, **more: Any) -> dict[str, Any]:
    return {"operationId": f"{verb}_{entity.name}_{field.name}", "summary": summary,
            "tags": [entity.name], **more}


def upload(entity: Entity, field: Field) -> dict[str, Any]:
    """`/<entity>/{id}/files/<field>`: POST one file (or several, for `multiple`)."""
    part: Schema = {**BINARY, "description": "The file; its type is judged from its "
                                              "content" + _accepted(field)}
    body: Schema = {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "array", "items": part, "minItems": 1} if field.multiple else part}}
    adds = "added to the field's files" if field.multiple else "replacing the field's file"
    return {"parameters": [ID], "post": _op(
        entity, field, "upload", f"Upload to {field.name} ({adds})",
        parameters=["IfMatch"],
        requestBody={"required": True, "content": {"multipart/form-data": {"schema": body}}},
        responses={"201": _record(entity, "The record with the file attached; Location "
                                  "downloads the file (one file sent).",
                                  Location="FileLocation"),
                   **_errors(401, 403, 404, 409, 412, 413, 415, 422, 428, 429)})}


def _accepted(field: Field) -> str:
    return f" (accepted: {', '.join(field.accept)})." if field.accept else "."


def one_file(entity: Entity, field: Field) -> dict[str, Any]:
    """`/<entity>/{id}/files/<field>/{file_id}`: download, remove."""
    types = list(field.accept or ["*/*"])
    body = {kind: {"schema": BINARY} for kind in types if not kind.endswith("/*")} or {
        "*/*": {"schema": BINARY}}
    if any(kind.endswith("/*") for kind in types) and "*/*" not in body:
        body["*/*"] = {"schema": BINARY}
    safe = {"X-Content-Type-Options": "Nosniff", "Content-Security-Policy": "FileCsp",
            "Content-Disposition": "ContentDisposition", "ETag": "FileETag"}
    return {"parameters": [ID, FILE_ID], "get": _op(
        entity, field, "download", f"Download a file of {field.name}",
        parameters=[{"name": "download", "in": "query", "required": False,
                     "description": "`1`: always as an attachment, never shown in place.",
                     "schema": {"type": "string", "enum": ["1"]}},
                    {"name": "Range", "in": "header", "required": False,
                     "description": "One byte range, e.g. `bytes=0-1023`.",
                     "schema": {"type": "string"}}],
        responses={"200": {"description": "The file's bytes.", "headers": safe,
                           "content": body},
                   "206": {"description": "The range asked for.", "content": body,
                           "headers": {**safe, "Content-Range": "ContentRange"}},
                   "304": {"description": "Unchanged (If-None-Match named its ETag)."},
                   "416": {"description": "The range is outside the file.",
                           "headers": {"Content-Range": "ContentRange"}},
                   **_errors(401, 403, 404, 429)}), "delete": _op(
        entity, field, "remove", f"Remove a file from {field.name}",
        parameters=["IfMatch"],
        responses={"200": _record(entity, "The record without the file (its bytes stay "
                                  "until `karte files prune`)."),
                   **_errors(401, 403, 404, 409, 412, 428, 429)})}


def file_paths(entity: Entity, paths: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`paths` (the entity's, karte.api.openapi_paths) with the files paths of every file
    field of `entity`, and the create taking a multipart body with the record's files."""
    fields = entity.file_fields()
    for field in fields:
        base = f"/{entity.name}/{{id}}/files/{field.name}"
        paths[base] = upload(entity, field)
        paths[f"{base}/{{file_id}}"] = one_file(entity, field)
    create = paths.get(f"/{entity.name}", {}).get("post")
    if fields and create is not None:
        create["requestBody"]["content"]["multipart/form-data"] = _create_body(entity, fields)
    return paths


def _create_body(entity: Entity, fields: Sequence[Field]) -> dict[str, Any]:
    """A create with files: the record's JSON in the part `record`, each file field's
    file(s) in parts named after it (a `required` file field needs its part)."""
    properties: Schema = {"record": ref(f"{entity.name}.write")}
    for field in fields:
        part = {**BINARY, "description": f"A file for {field.name}{_accepted(field)}"}
        properties[field.name] = ({"type": "array", "items": part, "minItems": 1}
                                  if field.multiple else part)
    schema: Schema = {"type": "object", "properties": properties,
                      "additionalProperties": False}
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    return {"schema": schema, "encoding": {"record": {"contentType": "application/json"}}}


def file_headers() -> dict[str, dict[str, Any]]:
    """The headers of file responses."""
    text: Schema = {"type": "string"}
    return {
        "FileLocation": {"description": "Where the uploaded file is downloaded.",
                         "schema": text},
        "FileETag": {"description": "The file's sha256, quoted: it never changes.",
                     "schema": {"type": "string", "pattern": '^"[0-9a-f]{64}"$'}},
        "Nosniff": {"description": "Always `nosniff`.", "schema": {"const": "nosniff"}},
        "FileCsp": {"description": "A sandbox: nothing in the file runs.", "schema": text},
        "ContentDisposition": {"description": "`attachment` (or `inline` for an image or "
                               "PDF shown in place) with the file's name (RFC 6266).",
                               "schema": text},
        "ContentRange": {"description": "The bytes sent, or `bytes */<size>`.",
                         "schema": text},
    }

