"""Field-level permissions (SPEC §3.4) in the records service, on both databases.

`sales` may not see a product's unit cost, margin or supplier note (pack.json) and may
not change its discount (the entity file); `support` has its hidden list from the entity
file, which replaces the pack's. What a role may not see must not reach it by any read —
record, list, filter, sort, search, history, timeline, board, duplicates — and what it
may not write is a 403 naming the field.
"""

from __future__ import annotations

import datetime as dt

import pytest

from karte.auth.users import add_user
from karte.meta.model import ALL_RIGHTS
from karte.store import Records, field_rights
from karte.store.actor import Actor
from karte.store.errors import Forbidden, InvalidQuery
from karte.store.migrate import migrate
from karte.store.timeline import Timeline
from karte.workflow import MoveRefused, Workflows
from karte.workflow.board import Filter, cards, counts

SECRET = "Kobe-Steel-XJ9"
ENTITIES = {
    "product": {
        "name": "product", "title_field": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "price": {"type": "money"},
            "unit_cost": {"type": "money"},
            "margin": {"type": "formula", "formula": "price - unit_cost"},
            "discount": {"type": "percent"},
            "supplier_note": {"type": "string"},
        },
        "list": {"columns": ["name", "price"], "sort": "-unit_cost",
                 "search": ["name", "supplier_note"]},
        "duplicates": [{"fields": ["supplier_note"]}],
        "permissions": {"sales": {"read_only": ["discount"]},
                        "support": {"hidden": ["unit_cost", "margin", "supplier_note",
                                               "price"]}},
    },
    "offer": {
        "name": "offer", "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "product": {"type": "link", "to": "product"},
                   "at": {"type": "date"}},
        "timeline_item": {"at": "at", "summary": "title"},
    },
}
WORKFLOWS = {"launch": {"name": "launch", "entity": "product", "field": "stage",
                        "stages": [{"key": "draft"},
                                   {"key": "live", "requires": ["discount"], "final": "won"}]}}
ROLES = {
    "sales": {"*": {"read": "all", "create": True, "update": "all", "delete": False},
              "product": {"hidden": ["unit_cost", "margin", "supplier_note"]}},
    "support": {"*": {"read": "all", "create": False, "update": "all", "delete": False},
                "product": {"hidden": ["unit_cost"]}},
}
HIDDEN = {"unit_cost", "margin", "supplier_note"}


@pytest.fixture
def flows(engine, make_pack) -> Workflows:
    pack = make_pack(ENTITIES, WORKFLOWS, {"roles": ROLES})
    migrate(engine, pack)
    return Workflows(Records(engine, pack))


@pytest.fixture
def records(flows) -> Records:
    return flows.records


def person(records: Records, role: str) -> Actor:
    email = f"{role}@example.com"
    return Actor(add_user(records.engine, records.pack, email, role), email, role=role)


def product(records: Records, **values) -> dict:
    return records.create("product", {"name": "Rebar 10mm", "price": "100", "unit_cost": "60",
                                      "discount": "5", "supplier_note": SECRET, **values})


def test_the_most_specific_entry_saying_hidden_or_read_only_wins(records):
    pack = records.pack
    sales, support = pack.permission("sales", "product"), pack.permission("support", "product")
    assert set(sales.hidden) == HIDDEN and sales.read_only == ("discount",)
    assert set(support.hidden) == HIDDEN | {"price"}      # the entity file's list replaces
    assert support.read_only == ()
    assert pack.permission("sales", "offer").hidden == ()
    assert pack.permission("admin", "product") == ALL_RIGHTS


def test_a_record_read_by_a_role_has_no_hidden_fields(records):
    made = product(records)
    sales = person(records, "sales")
    assert HIDDEN.isdisjoint(records.get("product", made["id"], actor=sales))
    assert records.get("product", made["id"], actor=sales)["discount"] is not None
    assert HIDDEN <= set(records.get("product", made["id"], actor=person(records, "admin")))
    assert HIDDEN <= set(records.get("product", made["id"]))
    assert HIDDEN.isdisjoint(records.get_many("product", [made["id"]], actor=sales)[0])
    assert HIDDEN.isdisjoint(records.query("product", actor=sales)[0])
    support = records.get("product", made["id"], actor=person(records, "support"))
    assert "price" not in support and "discount" in support


def test_filters_and_sorts_on_a_hidden_field_are_refused_like_unknown_fields(records):
    product(records)
    sales = person(records, "sales")
    where = {"field": "unit_cost", "op": ">", "value": 50}
    with pytest.raises(InvalidQuery) as hidden:
        records.query("product", where=where, actor=sales)
    with pytest.raises(InvalidQuery) as unknown:
        records.query("product", where={"field": "unit_kost", "op": ">", "value": 50},
                      actor=sales)
    assert hidden.value.problems[0].message == '"product" has no field "unit_cost"'
    assert unknown.value.problems[0].message.startswith('"product" has no field "unit_kost"')
    with pytest.raises(InvalidQuery):
        records.count("product", where=where, actor=sales)
    with pytest.raises(InvalidQuery) as sort:
        records.query("product", sort="-unit_cost", actor=sales)
    assert 'cannot be sorted by "unit_cost"' in sort.value.problems[0].message
    assert len(records.query("product", where=where, actor=person(records, "admin"))) == 1


def test_a_filter_through_a_link_may_not_read_a_hidden_field(records):
    made = product(records)
    records.create("offer", {"title": "Spring offer", "product": made["id"]})
    sales = person(records, "sales")
    with pytest.raises(InvalidQuery):
        records.query("offer", where={"field": "product.unit_cost", "op": "=", "value": 60},
                      actor=sales)
    found = records.query("offer", where={"field": "product.price", "op": "=", "value": 100},
                          actor=sales)
    assert [o["title"] for o in found] == ["Spring offer"]


def test_the_default_sort_on_a_hidden_field_falls_back_to_newest_changes(records):
    cheap = product(records, name="Cheap", unit_cost="1")
    dear = product(records, name="Dear", unit_cost="99")
    sales = person(records, "sales")
    records.update("product", cheap["id"], {"name": "Cheap 2"}, cheap["version"])
    assert [p["name"] for p in records.query("product")] == ["Dear", "Cheap 2"]
    assert [p["id"] for p in records.query("product", actor=sales)][0] == cheap["id"]
    assert dear["id"] in [p["id"] for p in records.query("product", actor=sales)]


def test_search_never_looks_in_hidden_fields(records):
    product(records)
    assert records.count("product", search="XJ9") == 1
    assert records.count("product", search="XJ9", actor=person(records, "sales")) == 0
    assert records.count("product", search="Rebar", actor=person(records, "sales")) == 1


def test_history_and_timeline_leave_hidden_changes_out(records):
    made = product(records)
    admin, sales = person(records, "admin"), person(records, "sales")
    step = records.update("product", made["id"], {"unit_cost": "70", "name": "Rebar 12"},
                          made["version"], admin)
    records.update("product", made["id"], {"supplier_note": "Osaka-Wire-QQ1"},
                   step["version"], admin)
    seen = records.history("product", made["id"], actor=sales)
    assert [e["action"] for e in seen] == ["update", "create"]
    assert all(HIDDEN.isdisjoint(e["changes"]) for e in seen)
    assert "name" in seen[0]["changes"]
    assert len(records.history("product", made["id"], actor=admin)) == 3
    entries = Timeline(records).entries("product", made["id"], sales).entries
    changes = [e.details["changes"] for e in entries if e.kind == "change"]
    assert all(HIDDEN.isdisjoint(c) for c in changes)
    assert "Osaka-Wire-QQ1" not in repr(entries) and SECRET not in repr(entries)
    admin_entries = Timeline(records).entries("product", made["id"], admin).entries
    assert "Osaka-Wire-QQ1" in repr(admin_entries)


def test_writing_a_read_only_field_is_forbidden_naming_it(records):
    made = product(records)
    sales = person(records, "sales")
    with pytest.raises(Forbidden) as refused:
        records.update("product", made["id"], {"discount": "50"}, made["version"], sales)
    assert refused.value.problems[0].message == "Your role (sales) may not change Discount."
    assert refused.value.problems[0].where == "discount"
    same = records.update("product", made["id"], {"discount": "5.00", "name": "R"},
                          made["version"], sales)
    assert same["name"] == "R"
    with pytest.raises(Forbidden):
        records.create("product", {"name": "New", "discount": "10"}, sales)
    assert records.create("product", {"name": "New", "discount": ""}, sales)["name"] == "New"
    admin = records.update("product", made["id"], {"discount": "7"}, same["version"],
                           person(records, "admin"))
    assert str(admin["discount"]) == "7.00"


def test_sending_a_hidden_field_is_forbidden_not_dropped(records):
    made = product(records)
    sales = person(records, "sales")
    with pytest.raises(Forbidden) as refused:
        records.update("product", made["id"], {"unit_cost": "60"}, made["version"], sales)
    assert "Unit cost" in refused.value.problems[0].message
    with pytest.raises(Forbidden):
        records.create("product", {"name": "X", "supplier_note": "n"}, sales)
    with pytest.raises(Forbidden):
        records.create_many("product", [{"name": "X", "unit_cost": "1"}], sales)
    assert records.get("product", made["id"])["version"] == made["version"]


def test_a_role_gets_a_record_it_wrote_without_hidden_fields(records):
    sales = person(records, "sales")
    made = records.create("product", {"name": "Mine", "price": "10"}, sales)
    assert HIDDEN.isdisjoint(made)
    changed = records.update("product", made["id"], {"price": "12"}, made["version"], sales)
    assert HIDDEN.isdisjoint(changed)


def test_board_cards_and_sums_leave_hidden_fields_out(flows, records):
    product(records)
    sales = person(records, "sales")
    workflow = records.pack.workflows["launch"]
    now = dt.datetime.now(dt.UTC)
    found, _ = cards(records, workflow, "draft", Filter(actor=sales), now, 10)
    assert found and HIDDEN.isdisjoint(found[0])
    assert counts(records, workflow, Filter(actor=sales), now, "unit_cost")["draft"]["sum"] \
        is None
    assert counts(records, workflow, Filter(), now, "unit_cost")["draft"]["sum"] == 60


def test_a_move_needing_a_read_only_field_explains_instead_of_asking(flows, records):
    made = product(records, discount=None)
    sales = person(records, "sales")
    with pytest.raises(MoveRefused) as refused:
        flows.move("product", made["id"], "live", sales)
    assert refused.value.problems[0].code == "read_only"
    assert "may not change Discount" in refused.value.problems[0].message
    assert refused.value.missing == ()
    with pytest.raises(MoveRefused) as sent:
        flows.move("product", made["id"], "live", sales, values={"discount": "3"})
    assert "may not change Discount" in sent.value.problems[0].message
    moved = flows.move("product", made["id"], "live", person(records, "admin"),
                       values={"discount": "3"})
    assert moved["stage"] == "live"


def test_duplicate_warnings_do_not_match_on_hidden_values(records):
    made = product(records)
    sales = person(records, "sales")
    assert records.duplicates("product", {"supplier_note": SECRET})[0]["record"]["id"] \
        == made["id"]
    assert records.duplicates("product", {"supplier_note": SECRET}, actor=sales) == []


def test_pages_ask_which_fields_a_role_sees_and_writes(records):
    store, entity = records.store, records.pack.entities["product"]
    sales = person(records, "sales")
    assert field_rights.visible_fields(store, entity, sales) == (
        "name", "price", "discount", "stage")
    assert field_rights.writable(store, entity, sales) == ("name", "price", "stage")
    assert field_rights.visible_fields(store, entity, None) == tuple(entity.fields)


def test_moves_are_judged_on_hidden_values_the_mover_cannot_see(engine, make_pack):
    pack = make_pack(
        {"deal": {"name": "deal", "fields": {"title": {"type": "string"},
                                              "cost": {"type": "money"}}}},
        {"flow": {"name": "flow", "entity": "deal", "field": "stage",
                  "stages": [{"key": "open"}, {"key": "won", "final": "won"}],
                  "transitions": [{"from": "open", "to": "won",
                                   "when": {"field": "cost", "op": ">", "value": 0}}]}},
        {"roles": {"sales": {"*": {"read": "all", "update": "all"},
                             "deal": {"hidden": ["cost"]}}}})
    migrate(engine, pack)
    flows = Workflows(Records(engine, pack))
    sales = person(flows.records, "sales")
    made = flows.records.create("deal", {"title": "Big", "cost": "5"})
    seen = flows.records.get("deal", made["id"], actor=sales)
    assert "cost" not in seen
    assert flows.next_stages("deal", seen, sales) == ["won"]
    assert flows.can_move("deal", seen, "won", sales) == []
    assert flows.move("deal", made["id"], "won", sales)["stage"] == "won"


def test_lines_lose_the_parts_hidden_fields_and_may_not_set_them(make_pack):
    """Parts and lines (SPEC §3.5) come with their own work; field rights reach into a
    record's lines as they are read and written (a `lines` value: a list of dicts)."""
    from dataclasses import replace
    from types import SimpleNamespace

    from karte.meta.model import Field, Text, frozen_map

    pack = make_pack({"quote": {"fields": {"title": {"type": "string"}}},
                      "quote_line": {"fields": {"quantity": {"type": "integer"},
                                                "unit_cost": {"type": "money"},
                                                "discount": {"type": "percent"}}}},
                     pack={"roles": {"sales": {"*": {"read": "all", "update": "all"},
                                               "quote_line": {"hidden": ["unit_cost"],
                                                              "read_only": ["discount"]}}}})
    lines = Field("lines", "lines", Text.of("Lines"))
    object.__setattr__(lines, "of", "quote_line")
    quote = replace(pack.entities["quote"],
                    fields=frozen_map({**pack.entities["quote"].fields, "lines": lines}))
    store = SimpleNamespace(pack=replace(pack, entities=frozen_map(
        {**pack.entities, "quote": quote})), remember=lambda key, make: make())
    sales = Actor(7, "s@example.com", role="sales")
    stored = {"id": 1, "title": "Q", "lines": [
        {"id": 10, "quantity": 2, "unit_cost": 5, "discount": 3}]}
    seen = field_rights.strip(store, quote, sales, stored)
    assert seen["lines"] == [{"id": 10, "quantity": 2, "discount": 3}]
    assert field_rights.strip(store, quote, None, stored) is stored
    field_rights.check_input(store, quote, sales, {"lines": [
        {"id": 10, "quantity": 4, "discount": "3"}, {"quantity": 1}]}, stored)
    with pytest.raises(Forbidden) as refused:
        field_rights.check_input(store, quote, sales, {"lines": [
            {"id": 10, "discount": "9"}, {"quantity": 1, "unit_cost": "1"}]}, stored)
    assert [p.where for p in refused.value.problems] == [
        "lines[1].discount", "lines[2].unit_cost"]


def test_timeline_items_whose_summary_is_hidden_stay_off_the_timeline(engine, make_pack):
    pack = make_pack(
        {"customer": {"fields": {"name": {"type": "string"}}},
         "call": {"fields": {"title": {"type": "string"}, "notes": {"type": "text"},
                             "at": {"type": "date"},
                             "customer": {"type": "link", "to": "customer"}},
                  "timeline_item": {"at": "at", "summary": "notes"}}},
        pack={"roles": {"sales": {"*": {"read": "all"}},
                        "support": {"*": {"read": "all"}, "call": {"hidden": ["notes"]}}}})
    migrate(engine, pack)
    records = Records(engine, pack)
    customer = records.create("customer", {"name": "Lyons"})
    records.create("call", {"title": "Call", "notes": SECRET, "at": "2026-01-02",
                            "customer": customer["id"]})

    def items(role: str) -> list:
        page = Timeline(records).entries("customer", customer["id"], person(records, role))
        return [e for e in page.entries if e.kind == "item"]

    assert SECRET in repr(items("sales"))
    assert items("support") == []


def test_stage_counts_never_sum_a_hidden_money_field(flows, records):
    product(records)
    sales = person(records, "sales")
    assert flows.stage_counts("launch", "unit_cost", actor=sales)["draft"]["sum"] is None
    assert flows.stage_counts("launch", actor=sales)["draft"]["sum"] == 100       # price
    assert flows.stage_counts("launch", "unit_cost")["draft"]["sum"] == 60
