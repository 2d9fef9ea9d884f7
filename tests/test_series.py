"""Series fields (SPEC §3.6): numbers assigned on create in the create's transaction, by
date prefix, never repeating and without gaps — also from concurrent creates."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest

from karte.auth.users import add_user
from karte.meta.series import parse
from karte.store import Records
from karte.store.actor import Actor
from karte.store.db import make_engine
from karte.store.errors import ValidationFailed
from karte.store.migrate import migrate

QUOTE = {"fields": {"title": {"type": "string"},
                    "number": {"type": "string", "series": "Q-{YYYY}-{####}"}}}
TOKYO = {"name": "t", "timezone": "Asia/Tokyo"}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture
def quotes(engine, make_pack):
    """quotes(entity=QUOTE) -> a Records service on the clock of 2026-06-01 12:00 UTC."""
    def make(entity=QUOTE) -> Records:
        pack = make_pack({"quote": entity}, pack=TOKYO)
        migrate(engine, pack)
        service = Records(engine, pack)
        service.store.clock = lambda: at("2026-06-01T12:00:00")
        return service
    return make


def numbers(service: Records) -> list[str]:
    return sorted(r["number"] for r in service.query("quote", limit=1000))


# ---------------------------------------------------------------- patterns

def test_a_pattern_renders_dates_and_pads_the_counter_growing_past_its_width():
    series = parse("INV/{YY}{MM}{DD}-{###}")
    prefix = series.prefix(dt.date(2026, 3, 9))

    assert prefix == "INV/260309-{#}"
    assert series.value(prefix, 7) == "INV/260309-007"
    assert series.value(prefix, 12345) == "INV/260309-12345"
    assert series.read("INV/260309-12345") == (prefix, 12345)
    assert series.read("INV/2603-007") is None


@pytest.mark.parametrize(("pattern", "says"), [
    ("Q-{YEAR}-{####}", 'unknown token "{YEAR}"'),
    ("Q-{YYYY}", "no counter"),
    ("{##}-{##}", "more than one counter"),
    ("Q-{YYYY-{##}", 'a "{" or "}" that does not enclose a token'),
    ("Q}-{##}", 'a "{" or "}" that does not enclose a token'),
])
def test_a_malformed_pattern_says_what_is_wrong(pattern, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        parse(pattern)


# ---------------------------------------------------------------- assignment

def test_creates_get_consecutive_padded_numbers_and_the_field_is_read_only_and_unique(
        quotes):
    service = quotes()
    first = service.create("quote", {"title": "A"})
    service.create_many("quote", [{"title": "B"}, {"title": "C"}])

    assert first["number"] == "Q-2026-0001"
    assert numbers(service) == ["Q-2026-0001", "Q-2026-0002", "Q-2026-0003"]
    field = service.pack.entities["quote"].fields["number"]
    assert field.read_only and field.unique
    assert service.history("quote", first["id"])[0]["changes"]["number"] == [None,
                                                                          "Q-2026-0001"]


def test_the_counter_restarts_when_the_prefix_changes_in_the_packs_timezone(quotes):
    service = quotes()
    service.store.clock = lambda: at("2026-12-31T14:59:00")   # 23:59 in Tokyo
    service.create_many("quote", [{}, {}])
    service.store.clock = lambda: at("2026-12-31T15:00:00")   # 2027-01-01 00:00 in Tokyo
    service.create("quote", {})

    assert numbers(service) == ["Q-2026-0001", "Q-2026-0002", "Q-2027-0001"]


def test_the_counter_grows_past_its_width(quotes):
    service = quotes({"fields": {"number": {"type": "string", "series": "N{#}"}}})
    service.create_many("quote", [{} for _ in range(11)], batch_size=4)

    assert sorted(numbers(service), key=len)[-3:] == ["N9", "N10", "N11"]


def test_a_rolled_back_create_leaves_no_gap(quotes):
    service = quotes()
    with pytest.raises(RuntimeError), service.transaction() as conn:
        service.create("quote", {}, conn=conn)
        raise RuntimeError("the caller gives up")
    assert service.create("quote", {})["number"] == "Q-2026-0001"


# ---------------------------------------------------------------- given values

def test_a_person_cannot_set_or_change_the_number(quotes):
    service = quotes()
    ann = Actor(add_user(service.engine, service.pack, "ann@example.com", "admin"),
                "ann@example.com", role="admin")
    with pytest.raises(ValidationFailed) as error:
        service.create("quote", {"number": "Q-2026-0100"}, ann)
    assert [(p.where, p.code) for p in error.value.problems] == [("number", "read_only")]

    made = service.create("quote", {"title": "A"}, ann)
    with pytest.raises(ValidationFailed) as error:
        service.update("quote", made["id"], {"number": "Q-2026-0100"}, made["version"])
    assert [(p.where, p.code) for p in error.value.problems] == [("number", "read_only")]


def test_numbers_the_system_brings_are_kept_and_the_counter_continues_after_them(quotes):
    service = quotes()
    service.create_many("quote", [{"number": "Q-2026-0041"}, {"number": "Q-2026-0007"},
                                  {"number": "Q-2025-0900"}, {"number": "OLD-1"}, {}])
    service.create("quote", {"number": "Q-2026-0003"})

    assert service.create("quote", {})["number"] == "Q-2026-0043"
    assert numbers(service) == ["OLD-1", "Q-2025-0900", "Q-2026-0003", "Q-2026-0007",
                                "Q-2026-0041", "Q-2026-0042", "Q-2026-0043"]
    service.store.clock = lambda: at("2025-06-01T00:00:00")
    assert service.create("quote", {})["number"] == "Q-2025-0901"


def test_a_number_brought_twice_is_refused_as_any_unique_value(quotes):
    service = quotes()
    service.create("quote", {"number": "Q-2026-0005"})
    with pytest.raises(ValidationFailed) as error:
        service.create("quote", {"number": "Q-2026-0005"})
    assert [(p.where, p.code) for p in error.value.problems] == [("number", "unique")]


# ---------------------------------------------------------------- concurrency

def _create_in_threads(services: list[Records], per_thread: int, threads: int) -> None:
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def work(service: Records) -> None:
        start.wait()
        try:
            for i in range(per_thread):
                if i % 3 == 2:
                    service.create_many("quote", [{}, {}])
                else:
                    service.create("quote", {})
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    workers = [threading.Thread(target=work, args=(services[i % len(services)],))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []


def test_concurrent_creates_get_every_number_once_without_gaps(quotes):
    service = quotes()
    _create_in_threads([service], per_thread=6, threads=4)

    expected = [f"Q-2026-{n:04d}" for n in range(1, 4 * 8 + 1)]
    assert numbers(service) == expected


def test_creates_through_separate_engines_get_every_number_once(quotes, db_url):
    service = quotes()
    other = make_engine(db_url)
    try:
        second = Records(other, service.pack)
        second.store.clock = service.store.clock
        _create_in_threads([service, second], per_thread=6, threads=4)
    finally:
        other.dispose()

    assert numbers(service) == [f"Q-2026-{n:04d}" for n in range(1, 4 * 8 + 1)]


# ---------------------------------------------------------------- forms

def test_forms_never_take_the_number_and_the_edit_form_shows_it_locked(make_app):
    from bs4 import BeautifulSoup

    app = make_app({"quote": QUOTE}, pack=TOKYO)
    client = app.client()
    new = BeautifulSoup(client.get("/quote/new").get_data(as_text=True), "html.parser")
    assert new.find(attrs={"name": "number"}) is None

    response = client.send("/quote/new", {"title": "First", "number": "Q-1999-0001"})
    assert response.status_code == 303
    [quote] = app.extensions["karte"]["records"].query("quote")
    assert quote["number"].startswith("Q-") and quote["number"].endswith("-0001")
    edit = BeautifulSoup(client.get(f"/quote/{quote['id']}/edit").get_data(as_text=True),
                         "html.parser")
    assert edit.find(attrs={"name": "number"}) is None
    text = edit.get_text()
    assert quote["number"] in text
    assert "Numbered automatically when the record is created." in text
