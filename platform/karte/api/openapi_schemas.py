"""The schemas of the OpenAPI document (docs/api-openapi.md): one per entity and purpose.

For every entity `<e>` that is not a part, and for every part `<p>`:

- `<e>` — a record as the API returns it: the system fields (read-only), every field with
  its type, format, limits, enum keys (labels in `x-enum-labels`), links as integer ids
  (`x-link` names the entity they point to; `expand=` turns one into `{id, title}`), and the
  lines of each `lines` field as an array of the part's schema. A role's hidden fields and
  `fields=` leave properties out, so only `id` and `version` are required.
- `<e>.write` — the body of a create: the fields a client may send, `required` as the
  definition says (less those the engine fills: a default, a fetched value);
  `additionalProperties: false` (an unknown or read-only field is a 422 naming it), the
  system fields allowed as read-only echoes.
- `<e>.patch` — the body of a PATCH: the same properties, none required.
- `<p>.line` — one line in a body: the part's writable fields plus an optional `id` (an
  existing line kept and changed; lines not named are removed, lines without `id` added).

Each value's schema starts from the API's field-type table (karte.api.types), the one the
reading and writing sides use too; nothing here names an entity.
"""

from __future__ import annotations

from typing import Any

from karte.api import types
from karte.meta.model import SYSTEM_FIELD_DEFS, Entity, Field, Pack, Text

Schema = dict[str, Any]
LOCALES = ("en", "ja")
SYSTEM_READ = ("id", "version", "created_at", "updated_at", "created_by", "updated_by")
LINK_TITLE = "LinkTitle"
PROBLEM, PROBLEM_ERROR = "Problem", "ProblemError"
HISTORY_ENTRY = "HistoryEntry"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def labels(text: Text | None, pack: Pack) -> dict[str, str]:
    """`{"en": ..., "ja": ...}` of a definition's text."""
    if text is None:
        return {}
    return {locale: text.get(locale, pack.locale) for locale in LOCALES}


def _exact(field: Field, schema: Schema) -> Schema:
    """A decimal, money or percent in a body: at most `precision - scale` digits before the
    point (more after it are rounded to `scale`)."""
    kind = field.as_value()
    precision = {"money": 18, "percent": 7}.get(kind.type, kind.precision or 18)
    scale = 2 if kind.scale is None or kind.type in ("money", "percent") else kind.scale
    return {**schema, "pattern": rf"^-?[0-9]{{1,{precision - scale}}}(\.[0-9]+)?$",
            "x-decimal": {"precision": precision, "scale": scale}}


def _lines(field: Field, schema: Schema) -> Schema:
    out: Schema = {**schema, "items": ref(field.of or "")}
    if field.min:
        out["minItems"] = field.min
    if field.max:
        out["maxItems"] = field.max
    return out


def _enum_labels(field: Field, pack: Pack) -> dict[str, dict[str, str]]:
    return {o.key: labels(o.label, pack) for o in field.options}


def fragment(field: Field, pack: Pack) -> Schema:
    """A field's value as a body takes it: the field-type table's schema
    (karte.api.types), with the whole-value `pattern`, the exact digits of a number, the
    enum labels in every locale, the link target and the field's title and help."""
    schema = {k: v for k, v in types.schema(field).items() if k != "readOnly"}
    kind = field.as_value().type
    if field.pattern and kind == "string":
        schema["pattern"] = f"^(?:{field.pattern})$"
    if kind in ("decimal", "money", "percent") and not field.derived:
        schema = _exact(field, schema)
    if field.type == "lines":
        schema = _lines(field, schema)
    if field.options:
        target = schema["items"] if field.type == "multi_enum" else schema
        target["x-enum-labels"] = _enum_labels(field, pack)
    if field.type in ("link", "links"):
        schema["x-link"] = field.to
    elif field.type == "user":
        schema["x-link"] = "user"
    schema["title"] = field.label.get("en", pack.locale)
    if field.help is not None:
        schema["description"] = field.help.get("en", pack.locale)
    return schema


def nullable(schema: Schema) -> Schema:
    """The schema, or null (a value not set)."""
    kind = schema.get("type")
    if kind is None:
        return {"anyOf": [schema, {"type": "null"}]}
    out = {**schema, "type": [kind, "null"]}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def read_fragment(field: Field, pack: Pack) -> Schema:
    """A field's value as the API returns it: links may be expanded, anything may be
    empty (null) but the lines (an array, maybe empty)."""
    schema = fragment(field, pack)
    an_id = dict(types.INT64)
    if field.type in ("link", "user"):
        kept = {k: v for k, v in schema.items()
                if k not in ("type", "format", "minimum", "maximum")}
        schema = {**kept, "anyOf": [an_id, ref(LINK_TITLE), {"type": "null"}]}
    elif field.type == "links":
        schema["items"] = {"anyOf": [an_id, ref(LINK_TITLE)]}
    elif types.api_type(field).many:
        schema.pop("minItems", None)      # an array, [] when empty (never null)
        schema.pop("maxItems", None)
    else:
        schema = nullable(schema)
    if not writable(field) and field.type != "lines":
        schema["readOnly"] = True
    return schema


def writable(field: Field) -> bool:
    """Whether a body may carry the field: not computed, numbered, set by a workflow or
    by the engine, nor uploaded (files go through their own endpoint)."""
    return not (field.read_only or not types.api_type(field).writable
                or field.workflow is not None)


def needed(field: Field) -> bool:
    """Required in a create body: required and not filled by the engine."""
    if field.type == "lines":
        return bool(field.required or (field.min or 0) > 0)
    return field.required and field.default is None and field.fetch is None


def _system(pack: Pack) -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for name in SYSTEM_READ:
        field = SYSTEM_FIELD_DEFS[name]
        schema = fragment(field, pack)
        if name in ("created_by", "updated_by"):
            schema = nullable(schema)
        out[name] = {**schema, "readOnly": True}
    return out


def record_schema(entity: Entity, pack: Pack) -> Schema:
    """`<entity>`: a record as the API returns it (a line: its `id` and fields)."""
    system, fields = _system(pack), dict(entity.fields)
    if entity.part_of is not None:       # not the parent link nor the position
        system = {"id": system["id"]}
        fields = {name: f for name, f in fields.items() if f.declared}
    properties = {**system, **{name: read_fragment(f, pack) for name, f in fields.items()}}
    return {"type": "object", "title": entity.label.get("en", pack.locale),
            "x-labels": labels(entity.label, pack), "x-entity": entity.name,
            "required": ["id"] if entity.part_of else ["id", "version"],
            "properties": properties}


def echoed(field: Field) -> bool:
    """A field the engine owns that a body may send back unchanged: a stage (it changes
    through a move), a line's parent link and position."""
    return field.workflow is not None or not field.declared


def _write_properties(entity: Entity, pack: Pack) -> dict[str, Schema]:
    properties: dict[str, Schema] = {}
    for name, field in entity.fields.items():
        if echoed(field):
            properties[name] = {**nullable(fragment(field, pack)), "readOnly": True}
        if not writable(field):
            continue
        schema = fragment(field, pack)
        if field.type == "lines":
            schema["items"] = ref(f"{field.of}.line")
        properties[name] = schema if needed(field) or field.type == "lines" \
            else nullable(schema)
    return properties


def write_schema(entity: Entity, pack: Pack, create: bool) -> Schema:
    """`<entity>.write` (create) or `<entity>.patch`: a body; the system fields may be
    echoed back unchanged."""
    properties = _write_properties(entity, pack)
    schema: Schema = {"type": "object", "additionalProperties": False,
                      "properties": {**properties, **_system(pack)}}
    required = [name for name in properties if needed(entity.fields[name])
                and not echoed(entity.fields[name])]
    if create and required:
        schema["required"] = required
    return schema


def line_schema(part: Entity, pack: Pack) -> Schema:
    """`<part>.line`: one line in a parent's body; `id` names an existing line."""
    properties = _write_properties(part, pack)
    required = [name for name in properties if needed(part.fields[name])
                and not echoed(part.fields[name])]
    schema: Schema = {"type": "object", "additionalProperties": False,
                      "properties": {"id": {"type": "integer", "format": "int64",
                                            "minimum": 1,
                                            "description": "An existing line to keep."},
                                     **properties}}
    if required:
        schema["required"] = required
    return schema


def history_entry() -> Schema:
    """One entry of a record's history: a change (`changes`: each field's old and new
    value), an action run (`name`, `created`) or a stage move (`workflow`, `from`, `to`)."""
    text, maybe = {"type": "string"}, {"type": ["string", "null"]}
    who = {"anyOf": [{"type": "null"}, {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"}, "name": maybe}}]}
    return {"type": "object", "required": ["kind", "at", "user"], "properties": {
        "kind": {"type": "string", "enum": ["change", "action", "move"]},
        "at": {"type": "string", "format": "date-time"}, "user": who,
        "version": {"type": ["integer", "null"]}, "action": text,
        "changes": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {"old": {}, "new": {}}}},
        "name": maybe, "created": {"type": "array"},
        "workflow": text, "from": maybe, "to": text}}


def common_schemas() -> dict[str, Schema]:
    """The schemas every document has: an expanded link and the problem+json body."""
    text = {"type": "string"}
    return {
        LINK_TITLE: {**types.EXPANDED, "description": "A link with `expand=`; the title "
                     "is null for a record the caller may not read."},
        HISTORY_ENTRY: history_entry(),
        PROBLEM_ERROR: {"type": "object", "required": ["field", "code", "message"],
                        "properties": {"field": {**text, "description":
                                                 "The field (`lines[2].quantity`), parameter "
                                                 "or header; empty for the whole request."},
                                       "code": text, "message": text}},
        PROBLEM: {"type": "object", "description": "RFC 9457 problem details.",
                  "required": ["type", "title", "status", "detail", "errors"],
                  "properties": {"type": text, "title": text, "detail": text,
                                 "status": {"type": "integer"},
                                 "errors": {"type": "array", "items": ref(PROBLEM_ERROR)},
                                 "current_version": {"type": "integer", "description":
                                                     "412: the record's version now."},
                                 "missing": {"type": "array", "items": text, "description":
                                             "409 on a move: the fields it needs filled "
                                             "(send them in `values`)."},
                                 "only_missing": {"type": "boolean", "description":
                                                  "409 on a move: filling `missing` is "
                                                  "all it takes."}}},
    }


def entity_schemas(pack: Pack) -> dict[str, Schema]:
    """Every schema named after the pack's entities."""
    out: dict[str, Schema] = {}
    for entity in pack.entities.values():
        out[entity.name] = record_schema(entity, pack)
        if entity.part_of is not None:
            out[f"{entity.name}.line"] = line_schema(entity, pack)
            continue
        out[f"{entity.name}.write"] = write_schema(entity, pack, create=True)
        out[f"{entity.name}.patch"] = write_schema(entity, pack, create=False)
    return out
