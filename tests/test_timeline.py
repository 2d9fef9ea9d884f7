"""A record's timeline (SPEC §3.3) and notes, through the services: what merges, in which
order, who sees what, and that paging neither loses nor repeats an entry."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from karte.auth.users import add_user
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import Forbidden, NotFound, ValidationFailed
from karte.store.migrate import migrate
from karte.store.tables import build_metadata
from karte.store.timeline import MAX_NOTE, Timeline
from karte.workflow import Workflows

ENTITIES = {
    "deal": {"title_field": "title", "fields": {
        "title": {"type": "string", "required": True},
        "amount": {"type": "money"},
        "owner": {"type": "user"}}},
    "task": {"title_field": "title", "fields": {
        "title": {"type": "string", "required": True},
        "due_on": {"type": "date"},
        "deal": {"type": "link", "to": "deal", "on_delete": "cascade"},
        "owner": {"type": "user"}},
        "timeline_item": {"at": "due_on", "summary": "title"}},
    "call": {"title_field": "subject", "fields": {
        "subject": {"type": "string"},
        "at": {"type": "datetime"},
        "deals": {"type": "links", "to": "deal"}},
        "timeline_item": {"at": "at", "summary": "subject"}},
}
PIPELINE = {"entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}
ROLES = {"rep": {"*": {"read": "all", "create": True, "update": "own", "delete": False},
                 "task": {"read": "own"}},
         "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}},
         "blind": {"*": {"read": False, "create": False, "update": False, "delete": False}}}


@pytest.fixture
def services(engine, make_pack):
    pack = make_pack(ENTITIES, {"pipeline": PIPELINE}, {"roles": ROLES})
    migrate(engine, pack)
    records = Records(engine, pack)
    return records, Workflows(records), Timeline(records)


def person(records: Records, role: str, name: str | None = None) -> Actor:
    email = f"{name or role}@example.com"
    return Actor(add_user(records.engine, records.pack, email, role, name=(name or role).title()),
                 email, name=(name or role).title(), role=role)


def kinds(page) -> list[str]:
    return [entry.kind for entry in page.entries]


def test_timeline_merges_items_notes_changes_and_moves_newest_first(services):
    records, flows, timeline = services
    deal = records.create("deal", {"title": "Big deal"})
    records.create("task", {"title": "Call back", "due_on": "2001-01-01", "deal": deal["id"]})
    timeline.add_note("deal", deal["id"], "Spoke to the buyer")
    changed = records.update("deal", deal["id"], {"amount": "1200"}, deal["version"])
    flows.move("deal", deal["id"], "won", version=changed["version"])

    page = timeline.entries("deal", deal["id"])

    assert kinds(page) == ["move", "change", "note", "change", "item"]
    move, update, note, created, item = page.entries
    assert (move.details["from"], move.details["to"]) == ("new", "won")
    assert update.details["changes"] == {"amount": [None, pytest.approx(1200)]}
    assert note.details["body"] == "Spoke to the buyer"
    assert created.details["action"] == "create"
    assert item.details["title"] == "Call back" and item.at.date() == dt.date(2001, 1, 1)
    assert all(a.at >= b.at for a, b in zip(page.entries, page.entries[1:], strict=False))
    assert page.older is None


def test_items_reach_the_timeline_through_links_fields_and_undated_ones_by_creation(services):
    records, _flows, timeline = services
    deal = records.create("deal", {"title": "D"})
    other = records.create("deal", {"title": "Other"})
    records.create("call", {"subject": "Kick-off", "at": "2030-05-01T09:00:00+00:00",
                            "deals": [other["id"], deal["id"]]})
    records.create("task", {"title": "No date yet", "deal": deal["id"]})

    entries = timeline.entries("deal", deal["id"]).entries

    items = [(e.details["entity"], e.details["title"]) for e in entries if e.kind == "item"]
    assert items == [("call", "Kick-off"), ("task", "No date yet")]


def test_items_the_actor_may_not_read_stay_off_the_timeline(services):
    records, _flows, timeline = services
    ann, bob = person(records, "rep", "ann"), person(records, "rep", "bob")
    deal = records.create("deal", {"title": "Shared", "owner": ann.id})
    records.create("task", {"title": "Ann's task", "deal": deal["id"], "owner": ann.id}, ann)
    records.create("task", {"title": "Bob's task", "deal": deal["id"], "owner": bob.id}, bob)

    def titles(actor):
        return [e.details["title"] for e in timeline.entries("deal", deal["id"], actor).entries
                if e.kind == "item"]

    assert titles(ann) == ["Ann's task"]
    assert sorted(titles(None)) == ["Ann's task", "Bob's task"]
    with pytest.raises(NotFound):
        timeline.entries("deal", deal["id"], person(records, "blind"))


def test_paging_never_splits_or_loses_entries_that_share_a_time(services):
    records, _flows, timeline = services
    deal = records.create("deal", {"title": "Busy"})
    moment = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
    for index in range(7):
        timeline.add_note("deal", deal["id"], f"same time {index}", now=moment)
    for index in range(5):
        timeline.add_note("deal", deal["id"], f"later {index}",
                          now=moment + dt.timedelta(minutes=index + 1))

    seen, before, pages = [], None, 0
    while True:
        page = timeline.entries("deal", deal["id"], limit=3, before=before)
        seen += [e.details.get("body", e.kind) for e in page.entries]
        pages += 1
        if page.older is None:
            break
        before = page.older

    assert sorted(seen) == sorted([f"same time {i}" for i in range(7)]
                                  + [f"later {i}" for i in range(5)] + ["change"])
    assert pages >= 3


def test_a_note_needs_text_and_a_limit(services):
    records, _flows, timeline = services
    deal = records.create("deal", {"title": "D"})

    for body in ("", "  \n ", None):
        with pytest.raises(ValidationFailed) as error:
            timeline.add_note("deal", deal["id"], body)
        assert list(error.value.by_field()) == ["body"]
    with pytest.raises(ValidationFailed):
        timeline.add_note("deal", deal["id"], "x" * (MAX_NOTE + 1))

    saved = timeline.add_note("deal", deal["id"], "  two\r\nlines  ")
    assert saved["body"] == "two\nlines"


def test_writing_a_note_takes_the_update_right_on_the_record(services):
    records, _flows, timeline = services
    ann, bob = person(records, "rep", "ann"), person(records, "rep", "bob")
    deal = records.create("deal", {"title": "Ann's", "owner": ann.id})

    note = timeline.add_note("deal", deal["id"], "mine", ann)
    assert note["created_by"] == ann.id
    with pytest.raises(Forbidden):
        timeline.add_note("deal", deal["id"], "not mine", bob)
    with pytest.raises(Forbidden):
        timeline.add_note("deal", deal["id"], "just looking", person(records, "viewer"))
    with pytest.raises(NotFound):
        timeline.add_note("deal", deal["id"], "who?", person(records, "blind"))
    with pytest.raises(NotFound):
        timeline.add_note("deal", 999, "nothing there")
    assert [e.who for e in timeline.entries("deal", deal["id"]).entries
            if e.kind == "note"] == ["Ann"]


def test_a_database_migrated_before_notes_existed_gets_the_notes_table(engine, make_pack):
    pack = make_pack(ENTITIES, {"pipeline": PIPELINE})
    older = build_metadata(pack)
    older.remove(older.tables["karte_note"])
    older.create_all(engine)
    assert "karte_note" not in sa.inspect(engine).get_table_names()

    applied = migrate(engine, pack)

    assert "karte_note" in sa.inspect(engine).get_table_names()
    assert any(s.target == "karte_note" for s in applied.applied)
    records = Records(engine, pack)
    deal = records.create("deal", {"title": "After the upgrade"})
    Timeline(records).add_note("deal", deal["id"], "works")
    assert "karte_note" not in [s.target for s in migrate(engine, pack).applied]
