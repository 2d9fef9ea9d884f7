"""The standard pack's quotes and orders (issue 10), on both databases: lines with prices
and costs fetched from the product, totals and margin as rollups and formulas, numbering,
a quote sent only with lines, "Create order" on an accepted quote, the payment pipeline,
customer rollups, and unit cost and margin hidden from the support and viewer roles.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from click.testing import CliRunner

from karte.auth.users import add_user
from karte.cli import main
from karte.config import REPO_ROOT
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.actor import Actor
from karte.store.db import make_engine
from karte.store.errors import InvalidQuery, ValidationFailed
from karte.workflow import ActionRefused, MoveRefused, Workflows, run_action

YEAR = dt.date.today().year


@pytest.fixture
def crm(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    result = CliRunner().invoke(main, ["migrate", "--pack", str(REPO_ROOT), "--apply"])
    assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    records = Records(engine, load_pack(REPO_ROOT))
    yield records
    engine.dispose()


def _actor(records: Records, role: str) -> Actor:
    email = f"{role}@example.com"
    id = add_user(records.engine, records.pack, email, role, "a long enough password 1")
    return Actor(id, email, role=role, locale="en")


def _quote(records: Records, actor: Actor | None = None) -> dict:
    customer = records.create("customer", {"name": "Kanto Builders", "kind": "company"})
    cement = records.create("product", {"name": "Cement", "price": "1200", "cost": "800"})
    board = records.create("product", {"name": "Plasterboard", "price": "950", "cost": "600"})
    return records.create("quote", {
        "customer": customer["id"], "valid_until": dt.date(2030, 1, 31), "discount_pct": "10",
        "lines": [{"product": cement["id"], "quantity": "10"},
                  {"product": board["id"], "quantity": "20", "unit_price": "900"}]}, actor)


def test_a_quote_adds_up_its_lines_with_prices_fetched_from_the_products(crm):
    quote = _quote(crm)
    assert quote["number"] == f"Q-{YEAR}-0001"
    first, second = quote["lines"]
    assert (first["unit_price"], first["unit_cost"]) == (Decimal("1200.00"), Decimal("800.00"))
    assert second["unit_price"] == Decimal("900.00"), "a typed price wins over the fetch"
    assert first["amount"] == Decimal("12000.00") and second["amount"] == Decimal("18000.00")
    assert quote["subtotal"] == Decimal("30000.00")
    assert quote["total"] == Decimal("27000.00")               # 10 % discount
    assert quote["cost_total"] == Decimal("20000.00")
    assert quote["margin"] == Decimal("7000.00")
    assert quote["margin_pct"] == Decimal("25.93")
    changed = crm.update("quote", quote["id"], {"lines": [
        {**first, "quantity": "20"}, second]}, quote["version"])
    assert changed["subtotal"] == Decimal("42000.00") and changed["version"] == 2


def test_a_quote_is_sent_only_with_lines_and_becomes_an_order_once(crm):
    flows = Workflows(crm)
    customer = crm.create("customer", {"name": "Empty Ltd", "kind": "company"})
    empty = crm.create("quote", {"customer": customer["id"],
                                 "valid_until": dt.date(2030, 1, 31)})
    with pytest.raises(MoveRefused) as refused:
        flows.move("quote", empty["id"], "sent", version=empty["version"])
    assert "lines" in {p.where for p in refused.value.problems}

    sales = _actor(crm, "sales")
    quote = _quote(crm, sales)
    quote = flows.move("quote", quote["id"], "sent", version=quote["version"])
    with pytest.raises(ActionRefused):                  # not accepted yet
        run_action(crm, "quote", quote["id"], "make_order", sales)
    quote = flows.move("quote", quote["id"], "accepted", version=quote["version"])
    outcome = run_action(crm, "quote", quote["id"], "make_order", sales)
    [(kind, order)] = outcome.created
    assert kind == "order" and order["number"] == f"SO-{YEAR}-0001"
    assert order["quote"] == quote["id"] and order["customer"] == quote["customer"]
    assert [(line["quantity"], line["unit_price"]) for line in order["lines"]] == [
        (Decimal("10.00"), Decimal("1200.00")), (Decimal("20.00"), Decimal("900.00"))]
    assert order["total"] == Decimal("27000.00"), "the quote's discount carried over"
    assert crm.get("quote", quote["id"])["ordered_on"] is not None
    with pytest.raises(ActionRefused):                  # once only
        run_action(crm, "quote", quote["id"], "make_order", sales)

    flows_order = crm.get("order", order["id"])
    with pytest.raises(MoveRefused):                    # nothing received yet
        flows.move("order", order["id"], "partly_paid", version=flows_order["version"])
    paid = flows.move("order", order["id"], "partly_paid", values={"paid_amount": "7000"},
                      version=flows_order["version"])
    assert paid["balance"] == Decimal("20000.00")
    with pytest.raises(MoveRefused) as refused:         # only admin marks an order paid
        flows.move("order", order["id"], "paid", sales, values={"paid_amount": "27000"},
                   version=paid["version"])
    assert refused.value.problems


def test_customer_rollups_follow_won_deals_and_open_tickets(crm):
    flows = Workflows(crm)
    customer = crm.create("customer", {"name": "Acme", "kind": "company"})
    deal = crm.create("deal", {"title": "Big one", "customer": customer["id"],
                               "amount": "5000"})
    crm.create("ticket", {"subject": "Broken", "customer": customer["id"]})
    assert crm.get("customer", customer["id"])["open_tickets"] == 1
    flows.move("deal", deal["id"], "proposal", version=deal["version"])
    deal = crm.get("deal", deal["id"])
    flows.move("deal", deal["id"], "invoiced", values={"invoice_no": "INV-1"},
               version=deal["version"])
    deal = crm.get("deal", deal["id"])
    flows.move("deal", deal["id"], "won", version=deal["version"])
    assert crm.get("customer", customer["id"])["won_amount"] == Decimal("5000.00")


@pytest.mark.parametrize("role", ["support", "viewer"])
def test_unit_cost_and_margin_are_hidden_from_support_and_viewers(crm, role):
    quote = _quote(crm)
    reader = _actor(crm, role)
    seen = crm.get("quote", quote["id"], actor=reader)
    assert not {"cost_total", "margin", "margin_pct"} & set(seen)
    assert seen["total"] == Decimal("27000.00")
    for line in seen["lines"]:
        assert not {"unit_cost", "cost_amount", "margin"} & set(line)
        assert line["amount"] is not None
    product = crm.get("product", quote["lines"][0]["product"], actor=reader)
    assert "cost" not in product and "margin_pct" not in product
    with pytest.raises(InvalidQuery):                   # a sort on a hidden field: 400
        crm.query("quote", sort="-margin", actor=reader)
    admin = crm.get("quote", quote["id"], actor=_actor(crm, "admin"))
    assert admin["margin"] == Decimal("7000.00")


def test_a_unit_cost_follows_the_product_and_is_never_typed(crm):
    sales = _actor(crm, "sales")
    quote = _quote(crm, sales)
    line = quote["lines"][0]
    with pytest.raises(ValidationFailed) as refused:
        crm.update("quote", quote["id"], {"lines": [{**line, "unit_cost": "1"},
                                                    quote["lines"][1]]},
                   quote["version"], sales)
    assert [p.where for p in refused.value.problems] == ["lines[1].unit_cost"]
    assert crm.get("quote", quote["id"])["lines"][0]["unit_cost"] == Decimal("800.00")
