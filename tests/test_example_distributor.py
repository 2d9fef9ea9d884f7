"""The example client pack `examples/distributor/` (issue 10): a building-materials
distributor built on the standard pack with JSON only. It checks clean, migrates, loads demo
data that satisfies its own rules, and its business works end to end on both databases:
stock unique per product and warehouse, shipments numbered and moved through delivery,
a survey created on delivery carrying the shipment's customer, rollups kept current.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from click.testing import CliRunner

from karte.cli import main
from karte.config import REPO_ROOT
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.db import make_engine
from karte.store.errors import ValidationFailed
from karte.workflow import Workflows

PACK = REPO_ROOT / "examples" / "distributor"


def test_the_distributor_pack_checks_clean_and_extends_the_standard_pack():
    result = CliRunner().invoke(main, ["check", "--pack", str(PACK)])
    assert result.exit_code == 0, result.output
    pack = load_pack(PACK)
    assert {"quote", "order", "customer"} <= set(pack.entities), "inherited from the base"
    assert {"supplier", "supplier_contact", "warehouse", "stock", "carrier", "shipment",
            "survey", "document"} <= set(pack.entities)
    assert pack.entities["supplier_contact"].part_of == "supplier"
    assert pack.entities["stock"].unique == (("product", "warehouse"),)
    assert "supplier" in pack.entities["product"].fields, "the product patch adds it"
    assert pack.currency == "JPY" and pack.timezone == "Asia/Tokyo"


@pytest.fixture
def shop(tmp_path, db_url, monkeypatch):
    """The distributor pack migrated on a fresh database, with its records service."""
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    result = CliRunner().invoke(main, ["migrate", "--pack", str(PACK), "--apply"])
    assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    records = Records(engine, load_pack(PACK))
    yield records
    engine.dispose()


def test_demo_data_for_the_distributor_satisfies_its_rules(shop):
    result = CliRunner().invoke(main, ["demo", "--pack", str(PACK), "--size", "250",
                                       "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    shipments = shop.query("shipment", limit=500)
    assert shipments and all(s["number"].startswith("SH-") for s in shipments)
    for s in shipments:
        if s["delivery"] in ("shipped", "delivered"):
            assert s["carrier"] and s["tracking_number"], s
    for stock in shop.query("stock", limit=500):
        assert stock["on_hand"] is not None


def _basics(records: Records) -> dict[str, int]:
    customer = records.create("customer", {"name": "Kanto Builders", "kind": "company"})
    product = records.create("product", {"name": "Cement 25 kg", "price": "1200",
                                         "cost": "800", "unit": "bag"})
    warehouse = records.create("warehouse", {"name": "Kawasaki"})
    carrier = records.create("carrier", {"name": "Seino"})
    order = records.create("order", {"customer": customer["id"], "lines": [
        {"product": product["id"], "quantity": "10"}]})
    return {"customer": customer["id"], "product": product["id"],
            "warehouse": warehouse["id"], "carrier": carrier["id"], "order": order["id"]}


def test_stock_is_unique_per_product_and_warehouse_and_adds_up_on_the_product(shop):
    ids = _basics(shop)
    shop.create("stock", {"product": ids["product"], "warehouse": ids["warehouse"],
                          "on_hand": "40", "reorder_at": "50"})
    with pytest.raises(ValidationFailed) as refused:
        shop.create("stock", {"product": ids["product"], "warehouse": ids["warehouse"],
                              "on_hand": "5"})
    assert {p.where for p in refused.value.problems} >= {"product", "warehouse"}
    other = shop.create("warehouse", {"name": "Osaka"})
    row = shop.create("stock", {"product": ids["product"], "warehouse": other["id"],
                                "on_hand": "15"})
    assert row["unit_cost"] == Decimal("800.00"), "fetched from the product"
    assert row["value"] == Decimal("12000.00")
    product = shop.get("product", ids["product"])
    assert product["on_hand"] == Decimal("55"), "a rollup over stock.product"
    reorder = shop.query("stock", where={"field": "to_reorder", "op": "=", "value": True})
    assert [s["on_hand"] for s in reorder] == [Decimal("40.00")]


def test_a_delivered_shipment_creates_a_survey_for_the_orders_customer(shop):
    ids = _basics(shop)
    shipment = shop.create("shipment", {"order": ids["order"], "warehouse": ids["warehouse"],
                                        "deliver_by": dt.date(2026, 12, 1)})
    assert shipment["number"].startswith("SH-")
    assert shipment["customer"] == ids["customer"], "fetched from the order, read-only"
    flows = Workflows(shop)
    refused = flows.can_move("shipment", shipment, "shipped")
    assert {p.where for p in refused} >= {"carrier", "tracking_number", "ship_on"}
    flows.move("shipment", shipment["id"], "shipped", values={
        "carrier": ids["carrier"], "tracking_number": "1234-5678",
        "ship_on": dt.date(2026, 11, 30)}, version=shipment["version"])
    moved = shop.get("shipment", shipment["id"])
    flows.move("shipment", shipment["id"], "delivered",
               values={"delivered_on": dt.date(2026, 12, 3)}, version=moved["version"])
    delivered = shop.get("shipment", shipment["id"])
    assert delivered["days_late"] == 2
    [survey] = shop.query("survey", where={"field": "shipment", "op": "=",
                                           "value": shipment["id"]})
    assert survey["customer"] == ids["customer"]
    order = shop.get("order", ids["order"])
    assert (order["shipments"], order["delivered"]) == (1, 1)
    carrier = shop.get("carrier", ids["carrier"])
    assert (carrier["shipments"], carrier["delivered"]) == (1, 1)


def test_supplier_contacts_are_lines_of_the_supplier(shop):
    supplier = shop.create("supplier", {"name": "Taiheiyo Cement", "code": "TC-01",
                                        "contacts": [{"name": "Sato", "role": "Sales"},
                                                     {"name": "Suzuki"}]})
    assert [c["name"] for c in supplier["contacts"]] == ["Sato", "Suzuki"]
    with pytest.raises(ValidationFailed) as refused:
        shop.update("supplier", supplier["id"], {"contacts": [{"role": "Buyer"}]},
                    supplier["version"])
    assert "contacts[1].name" in {p.where for p in refused.value.problems}
