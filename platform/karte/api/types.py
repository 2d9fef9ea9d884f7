"""The API's field-type table (SPEC §11.1 shapes): one entry per type of `karte.fields.TYPES`.

Each entry says three things about a field type, so the reading side, the writing side and
the OpenAPI document can never disagree:

- `serialize`: a stored value (never None) → its JSON value. Money and decimals as strings
  (exact: never a float), dates ISO 8601, datetimes ISO 8601 with their offset (UTC), enums
  as their keys, sets (multi_enum, links) as arrays, files as metadata objects.
- `parse`: a JSON value (never None) → the value the records service takes, refusing a value
  of the wrong JSON type (`type`), of the right type but unreadable (`format`) or not one of
  the options (`choice`); the service then applies the field's own rules (min, max, ...).
- `schema`: the OpenAPI 3.1 schema fragment of a value (type, format, enum, bounds).

A new field type is one entry in `karte.fields.TYPES` and one here; a test checks both
tables name the same types. Plain functions, not marshmallow fields: a list page of 500
records serialises ~10,000 values, and one dict lookup a column is all it costs here.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from karte.fields import MAX_ID, PHONE_LENGTH, TEXT_LIMIT
from karte.meta.model import Field
from karte.problems import Problem

DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
"""What a decimal, money or percent value looks like in a response (a string, exact)."""
INT64 = {"type": "integer", "format": "int64"}
ID = {**INT64, "minimum": 1, "maximum": MAX_ID}
EXPANDED = {"type": "object", "required": ["id", "title"],
            "properties": {"id": ID, "title": {"type": ["string", "null"]}}}
"""A link (or each of a links field's) with `expand=`: `{id, title}`; the title is null for
a record the caller may not read."""
FILE = {"type": "object", "required": ["id", "name", "size", "type", "url"],
        "description": "An attached file; `url` downloads it (GET), and DELETE on it removes it.",
        "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                       "size": {"type": "integer", "minimum": 0},
                       "type": {"type": "string", "description": "MIME type detected from "
                                                                 "the content"},
                       "uploaded_by": {"type": ["integer", "null"]},
                       "uploaded_at": {"type": ["string", "null"], "format": "date-time"},
                       "url": {"type": "string", "format": "uri-reference"}}}


class Unparsed(ValueError):
    """A JSON value that does not fit its field's type: `.problem` names the field (as
    given to `parse`), the code (`type`, `format`, `choice`, `read_only`) and the message."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


class _Bad(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


Serialize = Callable[[Field, Any], Any]
Parse = Callable[[Field, Any], Any]
Schema = Callable[[Field, str | None], dict[str, Any]]


@dataclass(frozen=True)
class ApiType:
    name: str
    serialize: Serialize
    parse: Parse
    schema: Schema
    writable: bool = True        # False: computed or attached elsewhere; a write refuses it
    many: bool = False           # an array: empty is [] (never null)
    nested: bool = False         # `lines`: objects of the part entity (karte.api.serialize)


# ---------------------------------------------------------------- serialize

def _same(field: Field, value: Any) -> Any:
    return value


def _number_text(field: Field, value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return format(Decimal(str(value)), "f")


def _iso(field: Field, value: Any) -> str:
    return str(value.isoformat())


def _moment(field: Field, value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _listed(field: Field, value: Any) -> list[Any]:
    return list(value)


def _files_out(field: Field, value: Any) -> list[dict[str, Any]]:
    """A file field's references without their content address; the serializer adds
    each file's download `url` (it knows the record)."""
    return [{"id": str(item.get("id")), "name": str(item.get("name", "")),
             "size": item.get("size"), "type": item.get("type"),
             "uploaded_by": item.get("uploaded_by"), "uploaded_at": item.get("uploaded_at"),
             "url": ""} for item in value if isinstance(item, Mapping)]


def _computed_out(field: Field, value: Any) -> Any:
    """A formula or rollup as a value of its `result` type."""
    plain = field.as_value()
    return TABLE[plain.type].serialize(plain, value)


# ---------------------------------------------------------------- parse

def _wrong(expected: str) -> _Bad:
    return _Bad("type", _("Send %(expected)s.", expected=expected))


def _text_in(field: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise _wrong(_("a JSON string"))
    return value


def _integer_in(field: Field, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(_("a whole number"))
    if isinstance(value, float) and not value.is_integer():
        raise _Bad("format", _("Send a whole number, without decimals."))
    return int(value)


def _decimal_in(field: Field, value: Any) -> Decimal:
    """A number as a string ("1234.50", exact) or a JSON number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _wrong(_("a number as a string, such as \"1234.50\""))
    text = value.strip() if isinstance(value, str) else repr(value)
    if isinstance(value, str) and not DECIMAL.fullmatch(text):
        raise _Bad("format", _("“%(value)s” is not a number; send digits with an optional "
                               "decimal point, such as \"1234.50\".", value=value[:40]))
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _Bad("format", _("Send a finite number.")) from None
    if not number.is_finite():
        raise _Bad("format", _("Send a finite number."))
    return number


def _boolean_in(field: Field, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _wrong(_("true or false"))
    return value


def _date_in(field: Field, value: Any) -> dt.date:
    text = _text_in(field, value)
    try:
        if len(text) != 10:
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _Bad("format", _("Send a date as YYYY-MM-DD.")) from None


def _datetime_in(field: Field, value: Any) -> dt.datetime:
    """ISO 8601 with an offset ("2026-12-01T09:30:00+09:00", or Z); without one, UTC."""
    text = _text_in(field, value)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _Bad("format", _("Send a date and time in ISO 8601, such as "
                               "2026-12-01T09:30:00+09:00.")) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _choice_in(field: Field, value: Any) -> str:
    key = _text_in(field, value)
    if key not in field.option_keys:
        raise _Bad("choice", _("“%(value)s” is not one of the options: %(allowed)s.",
                               value=key[:40], allowed=", ".join(field.option_keys)))
    return key


def _choices_in(field: Field, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise _wrong(_("an array of option keys"))
    return [_choice_in(field, item) for item in value]


def _id_in(field: Field, value: Any) -> int:
    """A record's id, or the `{"id": …}` object an expanded link reads as."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(_("a record's id (a whole number)"))
    if not 0 < value <= MAX_ID:
        raise _Bad("format", _("%(value)s is not a record's id.", value=value))
    return value


def _ids_in(field: Field, value: Any) -> list[int]:
    if not isinstance(value, list):
        raise _wrong(_("an array of record ids"))
    return [_id_in(field, item) for item in value]


def _lines_in(field: Field, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(line, Mapping) for line in value):
        raise _wrong(_("an array of line objects"))
    return [dict(line) for line in value]


def _computed_in(field: Field, value: Any) -> Any:
    raise _Bad("read_only", _("This value is computed and cannot be set."))


def _file_in(field: Field, value: Any) -> Any:
    raise _Bad("read_only", _("Files are attached by upload, not in the record's body."))


# ---------------------------------------------------------------- schema

def _string_schema(field: Field, locale: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "string", "maxLength": field.max_length or 255}
    if field.min_length:
        found["minLength"] = field.min_length
    if field.pattern:
        found["pattern"] = field.pattern
    return found


def _text_schema(field: Field, locale: str | None) -> dict[str, Any]:
    return {"type": "string", "maxLength": field.max_length or TEXT_LIMIT}


def _fixed(fragment: Mapping[str, Any]) -> Schema:
    return lambda field, locale: dict(fragment)


def _bounds(field: Field) -> dict[str, Any]:
    found = {}
    if field.min is not None:
        found["minimum"] = field.min
    if field.max is not None:
        found["maximum"] = field.max
    return found


def _integer_schema(field: Field, locale: str | None) -> dict[str, Any]:
    return {**INT64, **_bounds(field)}


def _decimal_schema(field: Field, locale: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN}
    bounds = {f"x-{name}": str(value) for name, value in _bounds(field).items()}
    currency = {"x-currency": field.currency} if field.currency else {}
    return {**found, **bounds, **currency}


def _date_schema(field: Field, locale: str | None) -> dict[str, Any]:
    bounds = {f"x-{name}": str(value) for name, value in _bounds(field).items()}
    return {"type": "string", "format": "date", **bounds}


def labels(field: Field, locale: str | None) -> dict[str, str]:
    """{option key: label} in `locale` (else the pack's first language): `x-enum-labels`."""
    return {option.key: option.label.get(locale) for option in field.options}


def _enum_schema(field: Field, locale: str | None) -> dict[str, Any]:
    return {"type": "string", "enum": list(field.option_keys),
            "x-enum-labels": labels(field, locale)}


def _multi_enum_schema(field: Field, locale: str | None) -> dict[str, Any]:
    return {"type": "array", "uniqueItems": True, "items": _enum_schema(field, locale)}


def _link_schema(field: Field, locale: str | None) -> dict[str, Any]:
    return {**ID, "x-link": field.to}


def _links_schema(field: Field, locale: str | None) -> dict[str, Any]:
    return {"type": "array", "uniqueItems": True, "items": dict(ID), "x-link": field.to}


def _computed_schema(field: Field, locale: str | None) -> dict[str, Any]:
    plain = field.as_value()
    return {**TABLE[plain.type].schema(plain, locale), "readOnly": True}


def _lines_schema(field: Field, locale: str | None) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "object"}, "x-part": field.of}


TEXT_TYPES = ("string", "text", "email", "phone", "url")
TABLE: dict[str, ApiType] = {t.name: t for t in (
    ApiType("string", _same, _text_in, _string_schema),
    ApiType("text", _same, _text_in, _text_schema),
    ApiType("integer", _same, _integer_in, _integer_schema),
    ApiType("decimal", _number_text, _decimal_in, _decimal_schema),
    ApiType("money", _number_text, _decimal_in, _decimal_schema),
    ApiType("percent", _number_text, _decimal_in, _decimal_schema),
    ApiType("boolean", _same, _boolean_in, _fixed({"type": "boolean"})),
    ApiType("date", _iso, _date_in, _date_schema),
    ApiType("datetime", _moment, _datetime_in,
            _fixed({"type": "string", "format": "date-time"})),
    ApiType("email", _same, _text_in,
            _fixed({"type": "string", "format": "email", "maxLength": 254})),
    ApiType("phone", _same, _text_in,
            _fixed({"type": "string", "maxLength": PHONE_LENGTH})),
    ApiType("url", _same, _text_in,
            _fixed({"type": "string", "format": "uri", "maxLength": 2048})),
    ApiType("enum", _same, _choice_in, _enum_schema),
    ApiType("multi_enum", _listed, _choices_in, _multi_enum_schema, many=True),
    ApiType("link", _same, _id_in, _link_schema),
    ApiType("links", _listed, _ids_in, _links_schema, many=True),
    ApiType("user", _same, _id_in, _fixed({**ID, "x-user": True})),
    ApiType("formula", _computed_out, _computed_in, _computed_schema, writable=False),
    ApiType("rollup", _computed_out, _computed_in, _computed_schema, writable=False),
    ApiType("file", _files_out, _file_in,
            _fixed({"type": "array", "items": FILE, "readOnly": True}),
            writable=False, many=True),
    ApiType("lines", _listed, _lines_in, _lines_schema, many=True, nested=True),
)}


def api_type(field: Field) -> ApiType:
    return TABLE[field.type]


def serializer(field: Field) -> Callable[[Any], Any]:
    """The JSON value of a stored value of `field`, looked up once per field: None is null,
    or [] for an array type. A formula or rollup is its `result` type's."""
    if field.derived:
        return serializer(field.as_value())
    kind = TABLE[field.type]
    convert, many = kind.serialize, kind.many

    def serialize(value: Any) -> Any:
        if value is None:
            return [] if many else None
        return convert(field, value)
    return serialize


def converter(field: Field) -> Callable[[Any], Any] | None:
    """`serializer` for a value that is not None, or None when the JSON value is the stored
    value as it is (text, whole numbers, booleans, keys, ids): a page of records copies
    those without a call per value."""
    if field.derived:
        return converter(field.as_value())
    convert = TABLE[field.type].serialize
    return None if convert is _same else functools.partial(convert, field)


def to_json(field: Field, value: Any) -> Any:
    return serializer(field)(value)


def parse(field: Field, value: Any, where: str | None = None) -> Any:
    """The service value of a JSON value for `field` (null stays None: it empties the
    field), or Unparsed naming `where` (default the field's name)."""
    kind = TABLE[field.type]
    if value is None and kind.writable:
        return None
    try:
        return kind.parse(field, value)
    except _Bad as bad:
        raise Unparsed(Problem(field.name if where is None else where, bad.message,
                               bad.code)) from None


def schema(field: Field, *, nullable: bool = False, locale: str | None = None
           ) -> dict[str, Any]:
    """The OpenAPI 3.1 schema of `field`'s value; `nullable` adds null (an array type is
    [] when empty, never null)."""
    kind = TABLE[field.type]
    found = kind.schema(field, locale)
    if nullable and not kind.many and isinstance(found.get("type"), str):
        found["type"] = [found["type"], "null"]
        if "enum" in found:
            found["enum"] = [*found["enum"], None]
    if field.read_only or not kind.writable:
        found["readOnly"] = True
    return found
