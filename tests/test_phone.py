"""Phone numbers (SPEC §3.2): E.164 where they parse, national numbers read in the pack's
country — else its timezone's — and anything else kept as typed, never refused."""

from __future__ import annotations

import pytest

from karte.fields import normalise, phone_country
from karte.meta.model import Field, Text
from karte.store import Records
from karte.store.errors import ValidationFailed
from karte.store.migrate import migrate

PHONE = Field("phone", "phone", Text.of("Phone"))


@pytest.mark.parametrize(("typed", "country", "stored"), [
    ("03-1234-5678", "JP", "+81312345678"),
    ("+1 (202) 555-0143", "JP", "+12025550143"),       # a country code wins
    ("(202) 555-0143", "US", "+12025550143"),
    ("  03-1234-5678 ", None, "03-1234-5678"),         # no country to read it in: as typed
    ("ext. 12, ask for Ann", "JP", "ext. 12, ask for Ann"),
    ("123", "JP", "123"),                              # too short for Japan: as typed
    (312345678, None, "312345678"),
    ("03-1234-5678 ext. 12", "JP", "+81312345678 ext. 12"),  # the extension is kept
    ("+1 202 555 0143 x7", None, "+12025550143 ext. 7"),
])
def test_a_number_is_e164_where_it_parses_and_kept_as_typed_otherwise(typed, country,
                                                                       stored):
    assert normalise(PHONE, typed, country) == stored


def test_only_what_the_column_cannot_hold_is_refused():
    with pytest.raises(ValueError, match="at most 32 characters"):
        normalise(PHONE, "call the front desk and ask for Ann", None)


@pytest.mark.parametrize(("country", "timezone", "region"), [
    ("US", "Asia/Tokyo", "US"),          # the pack's country first
    (None, "Asia/Tokyo", "JP"),
    (None, "Europe/London", "GB"),
    (None, "Japan", "JP"),               # an alias of Asia/Tokyo
    (None, "UTC", None),                 # no country of its own
    (None, "Mars/Olympus", None),
    (None, None, None),
])
def test_the_region_is_the_packs_country_else_its_timezones(country, timezone, region):
    assert phone_country(country, timezone) == region


def test_a_pack_with_only_a_timezone_reads_national_numbers_there(engine, make_pack):
    pack = make_pack({"contact": {"fields": {"phone": {"type": "phone"}}}},
                     pack={"timezone": "Asia/Tokyo"})
    migrate(engine, pack)
    records = Records(engine, pack)

    assert records.create("contact", {"phone": "03-1234-5678"})["phone"] == "+81312345678"


def test_a_pack_without_country_or_timezone_keeps_national_numbers_as_typed(engine,
                                                                             make_pack):
    pack = make_pack({"contact": {"fields": {"phone": {"type": "phone"}}}})
    migrate(engine, pack)
    records = Records(engine, pack)

    assert records.create("contact", {"phone": "03-1234-5678"})["phone"] == "03-1234-5678"
    with pytest.raises(ValidationFailed) as error:
        records.create("contact", {"phone": ["03"]})
    assert error.value.by_field() == {"phone": ["Enter text."]}
