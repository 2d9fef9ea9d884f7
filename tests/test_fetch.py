"""`fetch` (SPEC §3.6): a linked record's value copied when the link is set or changed —
refused by `karte check` when it cannot work, a snapshot in the records service, the
user's typed value kept, a read_only fetched field following its link, one query per link
field for a batch, nothing copied from a record the actor may not read."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from karte.auth.users import add_user
from karte.meta.load import check_pack
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import ValidationFailed
from karte.store.migrate import migrate
from karte.store.records.fetch import fetched_values
from tests.conftest import write_pack

PRODUCT = {"fields": {"name": {"type": "string"}, "price": {"type": "money"},
                      "cost": {"type": "decimal"}, "email": {"type": "email"},
                      "kind": {"type": "enum", "options": ["a", "b"]},
                      "owner": {"type": "user"}}}
LINE = {"fields": {"title": {"type": "string"},
                   "product": {"type": "link", "to": "product"},
                   "unit_price": {"type": "money", "fetch": "product.price"},
                   "unit_cost": {"type": "money", "fetch": "product.cost", "read_only": True},
                   "quantity": {"type": "integer"},
                   "amount": {"type": "formula", "formula": "quantity * unit_price",
                              "result": "money"}}}


def problems(tmp_path, field: dict, extra: dict | None = None) -> list[str]:
    line = {"fields": {**LINE["fields"], "copy": field, **(extra or {})}}
    root = write_pack(tmp_path, {"product": PRODUCT, "line": line})
    return [f"{p.code} {p.where} {p.message}" for p in check_pack(root)[1]]


# ---------------------------------------------------------------- karte check

def test_the_standard_example_checks_clean(tmp_path):
    assert problems(tmp_path, {"type": "string", "fetch": "product.email"}) == []


@pytest.mark.parametrize(("field", "code", "says"), [
    ({"type": "money", "fetch": "produkt.price"}, "DEF081", 'did you mean "product"'),
    ({"type": "money", "fetch": "quantity.price"}, "DEF082", "fetch copies through a link"),
    ({"type": "money", "fetch": "product.prise"}, "DEF083", 'did you mean "price"'),
    ({"type": "date", "fetch": "product.price"}, "DEF084",
     "a money value does not fit a date field"),
    ({"type": "enum", "options": ["a"], "fetch": "product.kind"}, "DEF084", "no option b"),
    ({"type": "formula", "formula": "1", "fetch": "product.price"}, "DEF080",
     "fetch does not apply to a formula field"),
    ({"type": "links", "to": "product", "fetch": "product.price"}, "DEF080", "links"),
    ({"type": "string", "series": "Q-{###}", "fetch": "product.name"}, "DEF080",
     "a series field"),
    ({"type": "money", "fetch": "price"}, "DEF014", "e.g. \"product.price\""),
])
def test_check_refuses_a_fetch_that_cannot_work(tmp_path, field, code, says):
    found = problems(tmp_path, field)

    assert len(found) == 1, found
    assert found[0].startswith(f"{code} entity_defs/line.json: /fields/copy"), found
    assert says in found[0]


def test_check_refuses_fetch_through_a_fetched_link(tmp_path):
    found = problems(tmp_path, {"type": "string", "fetch": "other.name"},
                     {"other": {"type": "link", "to": "product", "fetch": "product.id"}})

    assert any(p.startswith("DEF085 entity_defs/line.json: /fields/copy") for p in found), found


# ---------------------------------------------------------------- records service

@pytest.fixture
def shop(engine, make_pack):
    pack = make_pack({"product": PRODUCT, "line": LINE},
                     pack={"name": "shop", "roles": {"sales": {
                         "*": {"read": "all", "create": True, "update": "all"},
                         "product": {"read": "own", "create": True, "update": "own"}}}})
    migrate(engine, pack)
    service = Records(engine, pack)
    service.widget = service.create("product", {"name": "Widget", "price": "9.50",
                                                "cost": "4.25"})
    service.gadget = service.create("product", {"name": "Gadget", "price": "20",
                                                "cost": "11"})
    return service


def test_create_copies_the_linked_value_and_formulas_use_it(shop):
    line = shop.create("line", {"product": shop.widget["id"], "quantity": 3})

    assert line["unit_price"] == Decimal("9.50")
    assert line["unit_cost"] == Decimal("4.25")
    assert line["amount"] == Decimal("28.50")


def test_a_typed_value_wins_and_the_copy_is_a_snapshot(shop):
    typed = shop.create("line", {"product": shop.widget["id"], "unit_price": "8"})
    copied = shop.create("line", {"product": shop.widget["id"]})
    shop.update("product", shop.widget["id"], {"price": "12"}, shop.widget["version"])
    later = shop.update("line", copied["id"], {"title": "renamed"}, copied["version"])

    assert typed["unit_price"] == Decimal("8.00")
    assert later["unit_price"] == Decimal("9.50")


def test_changing_the_link_copies_again_unless_a_value_is_typed(shop):
    line = shop.create("line", {"product": shop.widget["id"], "quantity": 2})
    moved = shop.update("line", line["id"], {"product": shop.gadget["id"]}, line["version"])
    typed = shop.update("line", line["id"], {"product": shop.widget["id"],
                                             "unit_price": "1"}, moved["version"])

    assert (moved["unit_price"], moved["amount"]) == (Decimal("20.00"), Decimal("40.00"))
    assert typed["unit_price"] == Decimal("1.00")
    assert typed["unit_cost"] == Decimal("4.25")      # read_only: always follows


def test_a_read_only_fetched_field_follows_its_link_at_every_save(shop):
    line = shop.create("line", {"product": shop.widget["id"]})
    shop.update("product", shop.widget["id"], {"cost": "5"}, shop.widget["version"])
    saved = shop.update("line", line["id"], {"title": "x"}, line["version"])
    cleared = shop.update("line", line["id"], {"product": None}, saved["version"])

    assert saved["unit_cost"] == Decimal("5.00")
    assert saved["unit_price"] == Decimal("9.50")     # not read_only: a snapshot
    assert cleared["unit_cost"] is None


def test_create_many_reads_each_link_field_once_for_the_batch(shop, engine):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if 'FROM product' in statement.replace('"', ""):
            statements.append(statement)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        ids = shop.create_many("line", [{"product": shop.widget["id"] if i % 2 else
                                         shop.gadget["id"], "quantity": 1}
                                        for i in range(40)])
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    lines = shop.get_many("line", ids)

    assert [line["unit_price"] for line in lines[:2]] == [Decimal("20.00"), Decimal("9.50")]
    # one read of the values to copy, one check that the links point at live records
    assert len(statements) == 2, statements


def test_nothing_is_copied_from_a_record_the_actor_may_not_read(shop):
    pack, engine = shop.pack, shop.engine
    seller = Actor(add_user(engine, pack, "s@example.com", "sales"), "s@example.com",
                   role="sales")
    mine = shop.create("product", {"name": "Mine", "price": "3", "owner": seller.id})

    with pytest.raises(ValidationFailed) as refused:
        shop.create("line", {"product": shop.widget["id"]}, actor=seller)
    line = shop.create("line", {"product": mine["id"]}, actor=seller)

    assert [p.where for p in refused.value.problems] == ["product"]
    assert line["unit_price"] == Decimal("3.00")
    assert fetched_values(shop.store, "line", "product", shop.widget["id"], seller) == {}
    assert fetched_values(shop.store, "line", "product", mine["id"], seller) == {
        "unit_price": Decimal("3.00"), "unit_cost": None}
    assert fetched_values(shop.store, "line", "product", "nonsense", seller) == {}
