"""Whatever a browser (or a script pretending to be one) posts to a record form, the answer
is never a 5xx, and an answer that refuses (4xx) wrote nothing.

A pack with one field of every type of the field-type table, in the timezone furthest from
UTC (+14:00, so a typed first of January of year 1 is off the calendar in UTC); hypothesis
posts text that fits, nearly fits or is hostile (NUL and other control characters, numbers
beyond 64 bits, dates off the calendar, huge exponents, long strings) to the create and the
edit form, every other field holding a valid value so that the odd one is what is tested.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from karte.fields import TYPES

EXTRA = {"link": {"to": "customer"}, "links": {"to": "customer"},
         "enum": {"options": ["a", "b"]}, "multi_enum": {"options": ["a", "b"]},
         "formula": {"formula": "f_integer * 2"},
         "rollup": {"of": "customer.thing", "agg": "count"}}
ENTITIES = {"customer": {"fields": {"name": {"type": "string", "required": True},
                                    "thing": {"type": "link", "to": "thing"}}},
            "thing": {"fields": {f"f_{kind}": {"type": kind, **EXTRA.get(kind, {})}
                                 for kind in TYPES if kind != "lines"}}}
HOSTILE = ["99999999999999999999", "-9223372036854775809", "9223372036854775807", "0",
           "-1", "1e999999", "NaN", "Infinity", "1,2,3", "0001-01-01", "9999-12-31",
           "0001-01-01T00:00", "0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00",
           "10000-01-01", "a\x00b", "\x00", "line\r\nbreak", "#1", "#99999999999999999999",
           "$me", "a", "b", "ann@example.com", "+81 3 1234 5678", "https://example.com/x",
           "javascript:x", "x" * 300, "1" * 5000, "true", "on", "１２３"]
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
VALUE = st.one_of(st.sampled_from(HOSTILE), TEXT, st.integers().map(str),
                  st.decimals(allow_nan=False).map(str),
                  st.datetimes().map(lambda d: d.isoformat()))
VALID = {"string": "Acme", "text": "notes", "integer": "42", "decimal": "12.5",
         "money": "1200", "percent": "7.25", "boolean": "1", "date": "2024-05-01",
         "datetime": "2024-05-01T10:30", "email": "ann@example.com",
         "phone": "+81 3 1234 5678", "url": "https://example.com/", "enum": "a",
         "multi_enum": "b"}
NAMES = [*ENTITIES["thing"]["fields"], "_q.f_link", "_q.f_links", "stage", "id"]
CHANGES = st.dictionaries(st.sampled_from(NAMES), st.lists(VALUE, min_size=1, max_size=3),
                          min_size=1, max_size=3)


def test_random_form_posts_never_answer_5xx_and_refusals_write_nothing(make_app):
    app = make_app(ENTITIES, pack={"name": "fuzz", "timezone": "Pacific/Kiritimati"})
    records = app.extensions["karte"]["records"]
    client = app.client()
    acme = records.create("customer", {"name": "Acme"})
    thing = records.create("thing", {"f_string": "first", "f_link": acme["id"]})
    token = client.token()
    ids = {"link": str(acme["id"]), "links": str(acme["id"]), "user": str(app.user())}
    valid = {f"f_{kind}": [value] for kind, value in {**VALID, **ids}.items()}

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(changes=CHANGES, edit=st.booleans())
    def post(changes: dict[str, list[str]], edit: bool) -> None:
        """Every field valid but one to three, which get random text."""
        before = records.count("thing"), records.get("thing", thing["id"])["version"]
        body = {**valid, **changes, "csrf_token": [token]}
        if edit:
            body["version"] = [str(before[1])]
        url = f"/thing/{thing['id']}/edit" if edit else "/thing/new"
        response = client.post(url, data=body)
        assert response.status_code < 500, (url, changes)
        after = records.count("thing"), records.get("thing", thing["id"])["version"]
        if response.status_code >= 400:
            assert after == before, (url, changes, response.status_code)
        elif response.status_code == 303 and not edit:
            assert after[0] == before[0] + 1, (url, changes)

    post()
