"""The API's field-type table (karte.api.types): one entry per field type, each giving the
JSON value of a stored value, the service value of a JSON value, and its OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import jsonschema
import pytest

from karte.api import types
from karte.api.types import Unparsed
from karte.fields import TYPES
from karte.meta.model import Field, Option, Text


def make(kind: str, **extra) -> Field:
    return Field("value", kind, Text.of("Value"), **extra)


STAGES = (Option("new", Text.of({"en": "New", "ja": "新規"})), Option("won", Text.of("Won")))
SAMPLES = {
    "string": (make("string"), "Acme", "Acme"),
    "text": (make("text"), "two\nlines", "two\nlines"),
    "integer": (make("integer"), 42, 42),
    "decimal": (make("decimal", scale=3), Decimal("1.250"), "1.250"),
    "money": (make("money"), Decimal("1234.50"), "1234.50"),
    "percent": (make("percent"), Decimal("12.5"), "12.5"),
    "boolean": (make("boolean"), False, False),
    "date": (make("date"), dt.date(2026, 12, 1), "2026-12-01"),
    "datetime": (make("datetime"), dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
                 "2026-12-01T09:30:00+00:00"),
    "email": (make("email"), "a@example.com", "a@example.com"),
    "phone": (make("phone"), "+81312345678", "+81312345678"),
    "url": (make("url"), "https://example.com/x", "https://example.com/x"),
    "enum": (make("enum", options=STAGES), "won", "won"),
    "multi_enum": (make("multi_enum", options=STAGES), ["new", "won"], ["new", "won"]),
    "link": (make("link", to="customer"), 7, 7),
    "links": (make("links", to="tag"), [3, 5], [3, 5]),
    "user": (make("user"), 1, 1),
    "formula": (make("formula", result="money"), Decimal("10.00"), "10.00"),
    "rollup": (make("rollup", result="integer"), 3, 3),
    "file": (make("file"), [{"id": "f1", "name": "a.pdf", "size": 10, "type":
                             "application/pdf", "sha256": "00"}],
             [{"id": "f1", "name": "a.pdf", "size": 10, "type": "application/pdf",
               "uploaded_by": None, "uploaded_at": None, "url": ""}]),   # url: serialize.py
    "lines": (make("lines", of="quote_line"), [{"id": 1}], [{"id": 1}]),
}


def test_every_field_type_has_an_entry_in_the_api_table():
    assert set(types.TABLE) == set(TYPES)
    assert set(SAMPLES) == set(TYPES)      # and every type is tried below


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_a_stored_value_serialises_to_its_json_shape_which_its_schema_accepts(kind):
    field, stored, expected = SAMPLES[kind]
    value = types.to_json(field, stored)
    assert value == expected
    fragment = types.schema(field, nullable=True)
    jsonschema.Draft202012Validator.check_schema(fragment)
    jsonschema.Draft202012Validator(fragment).validate(value)
    jsonschema.Draft202012Validator(fragment).validate(types.to_json(field, None))


def test_empty_is_null_and_an_empty_set_is_an_empty_array():
    assert types.to_json(make("money"), None) is None
    assert types.to_json(make("links", to="tag"), None) == []
    assert types.to_json(make("multi_enum", options=STAGES), None) == []


def test_money_stays_exact_and_datetimes_carry_their_offset():
    assert types.to_json(make("money"), Decimal("0.10")) == "0.10"
    tokyo = dt.timezone(dt.timedelta(hours=9))
    moment = dt.datetime(2026, 12, 1, 9, 0, tzinfo=tokyo)
    assert types.to_json(make("datetime"), moment) == "2026-12-01T00:00:00+00:00"


@pytest.mark.parametrize(("kind", "sent", "expected"), [
    ("money", "1234.50", Decimal("1234.50")),
    ("money", 12, Decimal("12")),
    ("decimal", 0.1, Decimal("0.1")),
    ("integer", 3.0, 3),
    ("date", "2026-12-01", dt.date(2026, 12, 1)),
    ("datetime", "2026-12-01T09:30:00+09:00",
     dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))),
    ("datetime", "2026-12-01T09:30:00", dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)),
    ("link", {"id": 3, "title": "Acme"}, 3),
    ("links", [3, {"id": 4}], [3, 4]),
    ("boolean", True, True),
])
def test_a_json_value_becomes_the_service_value(kind, sent, expected):
    field = SAMPLES[kind][0]
    assert types.parse(field, sent) == expected


@pytest.mark.parametrize(("kind", "sent", "code"), [
    ("string", 5, "type"),
    ("integer", "5", "type"),
    ("integer", 2.5, "format"),
    ("integer", True, "type"),
    ("money", "12,50", "format"),
    ("money", "NaN", "format"),
    ("money", [], "type"),
    ("boolean", "yes", "type"),
    ("date", "01/12/2026", "format"),
    ("date", "2026-12-01T10:00:00", "format"),
    ("datetime", "tomorrow", "format"),
    ("enum", "lost", "choice"),
    ("multi_enum", "won", "type"),
    ("multi_enum", ["won", "maybe"], "choice"),
    ("link", "7", "type"),
    ("link", 0, "format"),
    ("links", 7, "type"),
    ("formula", "1.00", "read_only"),
    ("formula", None, "read_only"),
    ("file", [], "read_only"),
    ("lines", [1, 2], "type"),
])
def test_a_json_value_of_the_wrong_shape_is_refused_with_a_code(kind, sent, code):
    field = SAMPLES[kind][0]
    with pytest.raises(Unparsed) as refused:
        types.parse(field, sent, where="lines[2].value")
    assert refused.value.problem.code == code
    assert refused.value.problem.where == "lines[2].value"
    assert refused.value.problem.message


def test_null_empties_a_writable_field():
    assert types.parse(make("money"), None) is None


def test_schemas_say_formats_enums_and_read_only():
    assert types.schema(make("date"))["format"] == "date"
    assert types.schema(make("datetime"))["format"] == "date-time"
    enum = types.schema(make("enum", options=STAGES), nullable=True, locale="ja")
    assert enum["enum"] == ["new", "won", None]
    assert enum["x-enum-labels"] == {"new": "新規", "won": "Won"}
    formula = types.schema(make("formula", result="money"))
    assert formula["type"] == "string" and formula["readOnly"] is True
    assert types.schema(make("string", read_only=True))["readOnly"] is True
    assert types.schema(make("link", to="customer"))["x-link"] == "customer"
