"""What `Records.query` and `count` keep between calls (store/records/plans.py, the
memo of `Store.remember`) is keyed by everything it depends on, on both databases: the
role (rights, hidden fields), the actor when the role reads only its own records, the
sort and direction, a filter as written, and the day and the actor for `$today` / `$me`.
Each test asks alternately as different actors so that a wrong key would hand one the
other's statement."""

from __future__ import annotations

import datetime as dt

import pytest

from karte.auth.users import add_user
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import InvalidQuery
from karte.store.migrate import migrate
from karte.store.records.plans import page_statement

ENTITIES = {
    "product": {"name": "product", "fields": {"name": {"type": "string"}}},
    "deal": {
        "name": "deal",
        "fields": {
            "title": {"type": "string"},
            "amount": {"type": "money"},
            "cost": {"type": "money"},
            "owner": {"type": "user"},
            "close_on": {"type": "date"},
            "products": {"type": "links", "to": "product"},
        },
        "list": {"columns": ["title", "amount"], "sort": "title", "search": ["title"]},
    },
}
ROLES = {"roles": {
    "mine": {"*": {"read": "own", "create": True, "update": "own"},
             "product": {"read": "all"}},
    "viewer": {"*": {"read": "all"}, "deal": {"hidden": ["cost", "products"]}},
}}


@pytest.fixture
def records(engine, make_pack) -> Records:
    pack = make_pack(ENTITIES, pack=ROLES)
    migrate(engine, pack)
    return Records(engine, pack)


def _actor(records: Records, email: str, role: str) -> Actor:
    return Actor(add_user(records.engine, records.pack, email, role), email, role=role)


def _titles(found: list[dict]) -> list[str]:
    return [record["title"] for record in found]


@pytest.fixture
def people(records):
    ann = _actor(records, "ann@example.com", "mine")
    bob = _actor(records, "bob@example.com", "mine")
    viewer = _actor(records, "viewer@example.com", "viewer")
    admin = _actor(records, "admin@example.com", "admin")
    cheap, dear = (records.create("product", {"name": n})["id"] for n in ("cheap", "dear"))
    for title, who in (("a1", ann), ("a2", ann), ("b1", bob)):
        records.create("deal", {"title": title, "amount": "10", "cost": "3",
                                "owner": who.id, "products": [dear, cheap]}, who)
    return {"ann": ann, "bob": bob, "viewer": viewer, "admin": admin, "cheap": cheap,
            "dear": dear}


def test_a_role_reading_its_own_records_is_scoped_per_actor(records, people):
    ann, bob = people["ann"], people["bob"]
    for _ in range(2):                        # the second round reads what was kept
        assert _titles(records.query("deal", actor=ann)) == ["a1", "a2"]
        assert _titles(records.query("deal", actor=bob)) == ["b1"]
        assert records.count("deal", actor=ann, cap=100) == 2
        assert records.count("deal", actor=bob, cap=100) == 1
        assert _titles(records.query("deal", actor=people["admin"])) == ["a1", "a2", "b1"]
        assert records.count("deal", actor=people["viewer"]) == 3


def test_hidden_fields_are_per_role(records, people):
    viewer, admin = people["viewer"], people["admin"]
    for _ in range(2):
        seen = records.query("deal", actor=viewer)
        assert all("cost" not in r and "products" not in r for r in seen)
        full = records.query("deal", actor=admin)
        assert [r["cost"] for r in full] == [3, 3, 3]
        assert [r["products"] for r in full] == [sorted([people["cheap"],
                                                         people["dear"]])] * 3
        with pytest.raises(InvalidQuery):     # hidden: not sortable, not filterable
            records.query("deal", sort="cost", actor=viewer)
        with pytest.raises(InvalidQuery):
            records.query("deal", where={"field": "cost", "op": ">", "value": 1},
                          actor=viewer)
        assert records.query("deal", sort="-cost", actor=admin)[0]["cost"] == 3


def test_me_in_a_filter_is_the_asking_actor(records, people):
    ann, bob, admin = people["ann"], people["bob"], people["admin"]
    mine = {"field": "owner", "op": "=", "value": "$me"}
    for _ in range(2):
        assert _titles(records.query("deal", where=mine, actor=admin)) == []
        assert records.count("deal", where=mine, actor=admin) == 0
        for who, titles in ((ann, ["a1", "a2"]), (bob, ["b1"])):
            viewer = Actor(who.id, who.email, role="viewer")   # reads all: $me narrows
            assert _titles(records.query("deal", where=mine, actor=viewer)) == titles
            assert records.count("deal", where=mine, actor=viewer) == len(titles)


def test_today_in_a_filter_follows_the_clock(records, people):
    admin = people["admin"]
    records.update("deal", records.query("deal", actor=admin)[0]["id"],
                   {"close_on": "2030-01-02"}, 1, admin)
    soon = {"field": "close_on", "op": ">=", "value": "$today"}
    records.store.clock = lambda: dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    assert _titles(records.query("deal", where=soon, actor=admin)) == ["a1"]
    records.store.clock = lambda: dt.datetime(2030, 1, 3, 12, tzinfo=dt.UTC)
    assert _titles(records.query("deal", where=soon, actor=admin)) == []
    records.store.clock = lambda: dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    assert _titles(records.query("deal", where=soon, actor=admin)) == ["a1"]


def test_sort_direction_paging_and_filters_each_have_their_statement(records, people):
    admin = people["admin"]
    assert _titles(records.query("deal", sort="-title", actor=admin)) == ["b1", "a2", "a1"]
    assert _titles(records.query("deal", sort="title", actor=admin)) == ["a1", "a2", "b1"]
    assert _titles(records.query("deal", actor=admin, reverse=True, limit=2)) == ["b1", "a2"]
    assert _titles(records.query("deal", actor=admin, limit=1, offset=2)) == ["b1"]
    assert _titles(records.query("deal", actor=admin, limit=2)) == ["a1", "a2"]
    for title in ("a2", "b1", "a2"):
        where = {"field": "title", "op": "=", "value": title}
        assert _titles(records.query("deal", where=where, actor=admin)) == [title]
    assert _titles(records.query("deal", where={"field": "amount", "op": "=", "value": 10},
                                 actor=admin)) == ["a1", "a2", "b1"]
    assert _titles(records.query("deal", search="b", actor=admin)) == ["b1"]
    assert _titles(records.query("deal", search="a", actor=admin)) == ["a1", "a2"]


def test_the_same_list_reuses_its_statement_and_others_do_not(records, people):
    store, deal = records.store, records.store.entity("deal")
    ann, bob, admin, viewer = (people[n] for n in ("ann", "bob", "admin", "viewer"))
    where = {"field": "title", "op": "=", "value": "a1"}

    def statement(actor, where=None, sort=None, reverse=False):
        return page_statement(store, deal, where, None, sort, actor, reverse)[0]

    assert statement(admin) is statement(admin)
    assert statement(admin, where) is statement(admin, dict(where))
    assert statement(ann) is not statement(bob)               # own records: per actor
    assert statement(admin) is not statement(viewer)          # per role
    assert statement(admin) is not statement(admin, sort="-title")
    assert statement(admin) is not statement(admin, reverse=True)
    assert statement(admin, where) is not statement(admin, {**where, "value": "a2"})
    assert statement(admin, {"field": "amount", "op": "=", "value": 1}) is not statement(
        admin, {"field": "amount", "op": "=", "value": "1"})
    assert statement(admin, where) is not statement(admin)


def test_links_read_with_the_page_are_the_live_targets_in_order(records, people):
    admin, cheap = people["admin"], people["cheap"]
    before = records.query("deal", actor=admin)
    assert [r["products"] for r in before] == [
        records.get("deal", r["id"])["products"] for r in before]
    records.delete("product", cheap, admin)
    for found in (records.query("deal", actor=admin),
                  records.query("deal", actor=admin, reverse=True, offset=1),
                  records.query("deal", where={"field": "title", "op": "=", "value": "b1"},
                                actor=admin),
                  records.query("deal", search="1", actor=admin)):
        assert found and all(r["products"] == [people["dear"]] for r in found)
    lonely = records.create("deal", {"title": "c1"}, admin)
    assert records.query("deal", where={"field": "title", "op": "=", "value": "c1"},
                         actor=admin)[0]["products"] == []
    assert lonely["products"] == []


def test_a_role_change_is_a_new_key(records, people):
    ann = people["ann"]
    assert _titles(records.query("deal", actor=ann)) == ["a1", "a2"]
    promoted = Actor(ann.id, ann.email, role="admin")
    assert _titles(records.query("deal", actor=promoted)) == ["a1", "a2", "b1"]
    assert _titles(records.query("deal", actor=ann)) == ["a1", "a2"]
