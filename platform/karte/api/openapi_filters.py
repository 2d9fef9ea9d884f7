"""The query parameters of a list in the OpenAPI document: `q`, `sort`, `limit`, `cursor`,
`fields`, `expand` and one `f.<field>.<op>` parameter per filterable field and operator
that fits its type (`f.<field>` for equals), exactly what `karte.web.list_params` parses.

Each filter's schema is the value as typed in a URL: numbers, ISO dates, enum keys, record
ids (`me` for a user field), `true`/`false` for `empty`, a comma-separated list for `in`.
"""

from __future__ import annotations

from typing import Any

from karte.api.openapi_schemas import Schema
from karte.api.read_params import DEFAULT_LIMIT, LANGUAGE, MAX_LIMIT
from karte.api.serialize import EXPANDABLE
from karte.fields import MAX_ID, TYPES
from karte.meta.model import SYSTEM_FIELD_DEFS, Entity, Field, Pack
from karte.web import LOCALES
from karte.web.list_params import PREFIX, SYSTEM_FILTERS, fitting_ops

INT64 = {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1}
NUMBER_TEXT = r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$"
OP_TEXT = {"eq": "equals", "ne": "is not", "gt": "is above", "gte": "is at least",
           "lt": "is below", "lte": "is at most", "contains": "contains",
           "in": "is one of (comma-separated)", "empty": "is empty (true) or not (false)"}


def _value(field: Field) -> Schema:
    """One filter value of the field, as typed in a URL."""
    kind = field.as_value().type
    if kind == "integer":
        return dict(INT64)
    if TYPES[kind].numeric:
        return {"type": "string", "pattern": NUMBER_TEXT}
    if kind in ("date", "datetime"):
        return {"type": "string", "format": "date"}
    if kind in ("enum", "multi_enum"):
        return {"type": "string", "enum": list(field.option_keys)}
    if kind == "boolean":
        return {"type": "boolean"}
    if kind in ("link", "links"):
        return {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}
    if kind == "user":
        return {"type": "string", "pattern": r"^(me|[1-9][0-9]{0,17})$"}
    return {"type": "string", "maxLength": 200}


def _filter(field: Field, op: str, label: str) -> dict[str, Any]:
    name = f"{PREFIX}{field.name}" if op == "eq" else f"{PREFIX}{field.name}.{op}"
    value = _value(field)
    if op == "empty":
        schema: Schema = {"type": "boolean"}
    elif op == "in":
        schema = {"type": "array", "items": value, "minItems": 1, "maxItems": 20}
    else:
        schema = value
    param = {"name": name, "in": "query", "required": False, "schema": schema,
             "description": f"{label} {OP_TEXT[op]}."}
    if op == "in":
        param.update(style="form", explode=False)
    return param


def filter_parameters(entity: Entity, pack: Pack) -> list[dict[str, Any]]:
    """`f.<field>[.<op>]` for every field a list may filter on."""
    fields = [*entity.fields.values(), *(SYSTEM_FIELD_DEFS[n] for n in SYSTEM_FILTERS)]
    return [_filter(field, op, field.label.get("en", pack.locale))
            for field in fields for op in fitting_ops(field)]


LIMIT = {"name": "limit", "in": "query", "required": False, "description": "Page size.",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                    "default": DEFAULT_LIMIT}}
LANG = {"name": LANGUAGE, "in": "query", "required": False,
        "description": "The language of the answer's messages and labels.",
        "schema": {"type": "string", "enum": list(LOCALES)}}


def _names(entity: Entity) -> list[str]:
    return ["id", "version", "created_at", "updated_at", "created_by", "updated_by",
            *entity.fields]


def _sortable(entity: Entity) -> list[str]:
    names = ["id", "created_at", "updated_at",
             *(n for n, f in entity.fields.items() if TYPES[f.as_value().type].orderable
               and f.type not in ("lines", "links"))]
    return [key for name in names for key in (name, f"-{name}")]


def _listed(name: str, items: Schema, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "style": "form",
            "explode": False, "description": description,
            "schema": {"type": "array", "items": items, "uniqueItems": True}}


def list_parameters(entity: Entity, pack: Pack) -> list[dict[str, Any]]:
    """Every query parameter of `GET /<entity>` (the read of one record takes `fields`
    and `expand`)."""
    links = [n for n, f in entity.fields.items() if f.type in EXPANDABLE]
    listed = [
        _listed("fields", {"type": "string", "enum": _names(entity)},
                "Only these fields (and `id`, `version`), comma-separated."),
    ]
    if links:
        listed.append(_listed("expand", {"type": "string", "enum": links},
                              "Return these links as `{id, title}`, comma-separated."))
    return [
        {"name": "q", "in": "query", "required": False, "description": "Search text.",
         "schema": {"type": "string", "maxLength": 200}},
        {"name": "sort", "in": "query", "required": False,
         "description": "A field, `-field` for descending.",
         "schema": {"type": "string", "enum": _sortable(entity)}},
        LIMIT,
        LANG,
        {"name": "cursor", "in": "query", "required": False,
         "description": "`next` of the previous page (opaque).",
         "schema": {"type": "string", "maxLength": 2000}},
        *listed,
        *filter_parameters(entity, pack),
    ]
