"""Posted form text → values for the records service, and stored values → form text
(karte.web.form_values), without a database: the Registry's fields and a fake lookup."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask_babel import Babel
from werkzeug.datastructures import MultiDict

from karte.fields import TYPES, normalise
from karte.meta.model import Field, Option, Text
from karte.web.form_values import (
    QUERY,
    as_text,
    editable,
    from_query,
    parse,
    stored_form,
)

UTC = ZoneInfo("UTC")
TOKYO = ZoneInfo("Asia/Tokyo")
OPTIONS = (Option("a", Text.of("A")), Option("b", Text.of("B")))


def f(name: str, kind: str, **keys) -> Field:
    extra = {"options": OPTIONS} if kind in ("enum", "multi_enum") else {}
    if kind in ("link", "links"):
        extra["to"] = "customer"
    return Field(name, kind, Text.of(name), **{**extra, **keys})


class FakeLookup:
    """Customers by id, searched like lookup.pick (title contains, shortest first)."""

    TITLES = {1: "Acme", 2: "Acme Japan", 3: "Globex", 4: "2024"}

    def title(self, entity, id):
        return self.TITLES.get(id)

    def search(self, entity, text):
        found = [(i, t) for i, t in self.TITLES.items() if text.lower() in t.lower()]
        return sorted(found, key=lambda item: (len(item[1]), item[1]))

    def noun(self, entity, plural=False):
        return "customers" if plural else "customer"


@pytest.fixture(autouse=True)
def request_context():
    """gettext needs an app context for the picker's messages."""
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context():
        yield


def run(fields, pairs, zone=UTC):
    return parse(fields, MultiDict(pairs), zone, FakeLookup())


def test_only_the_given_fields_are_read_and_absent_ones_are_left_out():
    parsed = run([f("title", "string"), f("note", "text")],
                 [("title", "Hi"), ("created_by", "7"), ("evil", "x")])
    assert parsed.values == {"title": "Hi"}


def test_empty_text_is_none_and_the_text_is_kept_as_typed():
    parsed = run([f("title", "string"), f("amount", "money")],
                 [("title", "   "), ("amount", " 1,2x ")])
    assert parsed.values == {"title": None, "amount": " 1,2x "}
    assert parsed.raw == {"title": "   ", "amount": " 1,2x "}


@pytest.mark.parametrize(("sent", "value"), [
    (["0"], False), (["0", "1"], True), ([""], None), (["", "1"], True)])
def test_a_checkbox_says_yes_no_or_not_set(sent, value):
    parsed = run([f("ok", "boolean")], [("ok", v) for v in sent])
    assert parsed.values == {"ok": value}


def test_a_boolean_not_on_the_form_says_nothing():
    assert run([f("ok", "boolean")], []).values == {}


def test_datetime_local_is_the_users_wall_clock_time():
    parsed = run([f("at", "datetime")], [("at", "2024-01-15T09:30")], TOKYO)
    assert parsed.values["at"] == dt.datetime(2024, 1, 15, 0, 30, tzinfo=dt.UTC)
    assert parsed.raw["at"] == "2024-01-15T09:30"


def test_a_datetime_that_does_not_parse_goes_to_the_service_as_typed():
    parsed = run([f("at", "datetime")], [("at", "next tuesday")], TOKYO)
    assert parsed.values["at"] == "next tuesday"


def test_checkbox_groups_send_their_choices_or_nothing_chosen():
    fields = [f("tags", "multi_enum"), f("items", "links")]
    assert run(fields, [("tags", ""), ("tags", "b"), ("items", "")]).values == {
        "tags": ["b"], "items": []}


@pytest.mark.parametrize(("typed", "chosen", "expected"), [
    ("Acme", "", 1),              # exact title among several containing it
    ("globex", "", 3),            # the one record containing it, case ignored
    ("Acme Japan", "1", 2),       # typed over an earlier choice
    ("Acme", "1", 1),             # the choice stands while its title is unchanged
    ("#3", "", 3),                # an id
    ("2024", "", 4),              # a title that looks like a number is a title
])
def test_a_picker_title_means_one_record(typed, chosen, expected):
    parsed = run([f("customer", "link")], [("customer", chosen), (QUERY + "customer", typed)])
    assert parsed.values == {"customer": str(expected)} and not parsed.problems


@pytest.mark.parametrize(("typed", "message"), [
    ("Initech", 'No customer matches "Initech".'),
    ("ac", '2 customers match "ac"'),
])
def test_a_picker_title_naming_no_record_or_several_is_a_problem(typed, message):
    parsed = run([f("customer", "link")], [("customer", ""), (QUERY + "customer", typed)])
    assert parsed.values == {"customer": None}
    assert parsed.problems["customer"][0].startswith(message)
    assert parsed.raw[QUERY + "customer"] == typed


def test_a_cleared_picker_clears_the_link():
    parsed = run([f("customer", "link")], [("customer", "1"), (QUERY + "customer", " ")])
    assert parsed.values == {"customer": None}


def test_a_title_typed_into_a_links_picker_adds_that_record():
    parsed = run([f("items", "links")], [("items", ""), ("items", "1"),
                                         (QUERY + "items", "Globex")])
    assert parsed.values == {"items": ["1", "3"]}


def test_what_a_form_may_edit():
    assert editable(f("title", "string"))
    assert not editable(f("total", "formula"))
    assert not editable(f("scan", "file"))
    assert not editable(f("code", "string", read_only=True))
    assert not editable(f("stage", "enum", workflow="pipeline"))


SAMPLES = {"string": "Acme", "text": "a\nb", "integer": 42, "decimal": "12.5",
           "money": "1200.5", "percent": "7.25", "boolean": False, "date": "2024-05-01",
           "datetime": "2024-05-01T10:30:00+00:00", "email": "a@example.com",
           "phone": "+81312345678", "url": "https://example.com", "enum": "b",
           "multi_enum": ["a", "b"], "link": 3, "links": [1, 3], "user": 5}


@pytest.mark.parametrize("kind", sorted(set(TYPES) - {"formula", "rollup", "file", "lines"}))
def test_a_stored_value_shown_in_a_form_and_posted_back_is_the_same_value(kind):
    field = f("x", kind)
    stored = normalise(field, SAMPLES[kind])
    shown = as_text(field, stored, TOKYO)
    pairs = [("x", "")] if kind in ("multi_enum", "links") else []
    pairs += [("x", v) for v in (shown if isinstance(shown, list) else [shown])]
    if kind == "boolean":
        pairs = [("x", "0")] + ([("x", "1")] if shown == "1" else [])
    parsed = run([field], pairs, TOKYO)
    assert normalise(field, parsed.values["x"]) == stored


def test_query_string_prefills_declared_fields_only():
    args = MultiDict([("customer", "12"), ("tags", "a"), ("tags", "b"), ("bogus", "1")])
    assert from_query([f("customer", "link"), f("tags", "multi_enum")], args) == {
        "customer": "12", "tags": ["a", "b"]}


def test_stored_form_reads_what_converts_and_empties_the_rest():
    from karte.meta.model import Entity

    fields = {"amount": f("amount", "money"), "items": f("items", "links")}
    entity = Entity("deal", Text.of("Deal"), Text.of("Deals"), "amount", fields, None, None)
    assert stored_form(entity, {"amount": "1,000", "items": "x", "nope": 1}, None) == {
        "amount": normalise(fields["amount"], "1000"), "items": []}
