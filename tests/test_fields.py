"""The field-type table: what a typed value becomes, and the message when it cannot."""

from __future__ import annotations

from decimal import Decimal

import pytest

from karte.fields import TYPES, normalise
from karte.meta.model import Field, Option, Text


def field(kind: str, **keys) -> Field:
    return Field("f", kind, Text.of("F"), **keys)


@pytest.mark.parametrize(("kind", "typed", "stored"), [
    ("integer", "1,200", 1200),
    ("integer", " 42 ", 42),
    ("money", "12.345", Decimal("12.35")),      # half-up, as people round money
    ("money", "-0.001", Decimal("0.00")),
    ("money", "1,234,567.891", Decimal("1234567.89")),
    ("percent", 12.5, Decimal("12.50")),
    ("decimal", "9999999999999999.994", Decimal("9999999999999999.99")),
    ("string", "  Acme  ", "Acme"),
    ("email", "Ann@Example.COM", "ann@example.com"),
    ("boolean", "yes", True),
    ("multi_enum", ["b", "a", "b"], ["a", "b"]),
])
def test_typed_values_are_stored_normalised(kind, typed, stored):
    options = (Option("a", Text.of("A")), Option("b", Text.of("B")))
    keys = {"options": options} if kind == "multi_enum" else {}
    assert normalise(field(kind, **keys), typed) == stored


@pytest.mark.parametrize(("kind", "typed", "message"), [
    ("integer", "1.5", "whole number"),
    ("integer", True, "whole number"),
    ("integer", "1e400", "too large"),
    ("money", "1e300", "too large"),
    ("money", "1e999999", "too large"),
    ("money", "9999999999999999.996", "too large"),   # rounds past the column's digits
    ("money", "NaN", "Enter a number"),
    ("money", "twelve", "Enter a number"),
    ("url", "javascript:alert(1)", "http"),
    ("date", "2026-02-30", "YYYY-MM-DD"),
])
def test_bad_values_get_a_message_not_a_crash(kind, typed, message):
    with pytest.raises(ValueError, match=message):
        normalise(field(kind), typed)


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_empty_input_is_stored_as_empty_for_every_type(kind):
    for empty in (None, "", "   ", []):
        assert normalise(field(kind), empty) is None
