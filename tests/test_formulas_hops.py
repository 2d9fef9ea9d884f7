"""One-hop formula operands (SPEC §3.6): `customer.discount_pct` reads a field of the
linked record when the record is saved — checked by `karte check`, read in one query per
link for a batch, stored as a snapshot and refreshed when the link changes or the record is
saved again."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from karte.meta.load import check_pack
from karte.store import Records
from karte.store.migrate import migrate
from tests.conftest import write_pack

CUSTOMER = {"fields": {"name": {"type": "string"}, "discount_pct": {"type": "percent"},
                       "since": {"type": "date"}, "vip": {"type": "boolean"},
                       "rate": {"type": "formula", "formula": "discount_pct / 100"},
                       "email": {"type": "email"}}}


def deal(formula: str, result: str = "money") -> dict:
    return {"fields": {"title": {"type": "string"},
                       "customer": {"type": "link", "to": "customer"},
                       "amount": {"type": "money"}, "owner": {"type": "user"},
                       "net": {"type": "formula", "formula": formula, "result": result}}}


def problems(tmp_path, formula: str, result: str = "money") -> list[str]:
    root = write_pack(tmp_path, {"customer": CUSTOMER, "deal": deal(formula, result)})
    return [f"{p.code} {p.message}" for p in check_pack(root)[1]]


def test_a_hop_is_typed_by_the_linked_field(tmp_path):
    pack, found = check_pack(write_pack(tmp_path, {
        "customer": CUSTOMER,
        "deal": deal("amount * (100 - customer.discount_pct) / 100")}))

    assert found == []
    formula = pack.entities["deal"].fields["net"].formula
    assert formula.hops == {("customer", "discount_pct")}
    assert "customer" in formula.fields
    assert problems(tmp_path / "b", "if(customer.vip, customer.rate, 0)") == []
    assert problems(tmp_path / "c", "add_days(customer.since, 30)", "date") == []


@pytest.mark.parametrize(("formula", "code", "says"), [
    ("amount * client.discount_pct", "FORM020", '"client" is no field; before the dot '
     "comes a link field of deal (customer)"),
    ("amount * owner.discount_pct", "FORM020", '"owner" is a user field'),
    ("amount.real", "FORM020", '"amount" is a money field'),
    ("amount * customer.discount", "FORM021", 'has no field "discount" (did you mean '
     '"discount_pct"?)'),
    ("amount * customer.email", "FORM022", "customer.email is an email field"),
    ("amount * customer.since", "FORM012", "a date where a number is needed"),
    ("amount * customer.name.x", "FORM023", "one link only"),
])
def test_check_names_the_link_and_the_fields_it_offers(tmp_path, formula, code, says):
    found = problems(tmp_path, formula)

    assert len(found) == 1, found
    assert found[0].startswith(code), found
    assert says in found[0], found


@pytest.fixture
def deals(engine, make_pack):
    pack = make_pack({"customer": CUSTOMER,
                      "deal": deal("amount * (100 - customer.discount_pct) / 100")})
    migrate(engine, pack)
    service = Records(engine, pack)
    service.acme = service.create("customer", {"name": "Acme", "discount_pct": "10"})
    service.bolt = service.create("customer", {"name": "Bolt", "discount_pct": "50"})
    return service


def test_the_hop_is_read_at_save_and_kept_until_the_next_save(deals):
    created = deals.create("deal", {"customer": deals.acme["id"], "amount": "200"})
    deals.update("customer", deals.acme["id"], {"discount_pct": "25"},
                 deals.acme["version"])
    untouched = deals.get("deal", created["id"])
    saved = deals.update("deal", created["id"], {"title": "again"}, created["version"])

    assert created["net"] == Decimal("180.00")
    assert untouched["net"] == Decimal("180.00")       # a snapshot
    assert saved["net"] == Decimal("150.00")           # saving reads the link again


def test_changing_the_link_recomputes_and_an_empty_link_gives_empty(deals):
    created = deals.create("deal", {"customer": deals.acme["id"], "amount": "200"})
    moved = deals.update("deal", created["id"], {"customer": deals.bolt["id"]},
                         created["version"])
    cleared = deals.update("deal", created["id"], {"customer": None}, moved["version"])

    assert moved["net"] == Decimal("100.00")
    assert cleared["net"] is None
    changes = deals.history("deal", created["id"])[1]["changes"]
    assert changes["net"] == ["180.00", "100.00"]


def test_a_batch_reads_each_link_once(deals, engine):
    reads: list[str] = []

    def count(conn, cursor, statement, *args):
        if "FROM customer" in statement.replace('"', ""):
            reads.append(statement)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        ids = deals.create_many("deal", [{"customer": (deals.acme, deals.bolt)[i % 2]["id"],
                                          "amount": "10"} for i in range(30)])
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)

    assert [d["net"] for d in deals.get_many("deal", ids[:2])] == [Decimal("9.00"),
                                                                  Decimal("5.00")]
    assert len(reads) == 2, reads         # the operands, and the links' check


def test_a_stage_rule_reads_a_formula_with_a_hop_as_the_move_would_save_it(engine,
                                                                          make_pack):
    from karte.workflow import Workflows
    from karte.workflow.errors import MoveRefused

    flow = {"entity": "deal", "field": "stage",
            "stages": [{"key": "open"},
                       {"key": "won", "final": "won",
                        "rules": [{"when": {"field": "net", "op": ">", "value": 100},
                                   "message": "Net must be above 100"}]}]}
    pack = make_pack({"customer": CUSTOMER,
                      "deal": deal("amount * (100 - customer.discount_pct) / 100")},
                     {"flow": flow})
    migrate(engine, pack)
    service = Workflows(Records(engine, pack))
    acme = service.records.create("customer", {"name": "Acme", "discount_pct": "10"})
    small = service.records.create("deal", {"customer": acme["id"], "amount": "100"})
    large = service.records.create("deal", {"customer": acme["id"], "amount": "100"})

    with pytest.raises(MoveRefused):
        service.move("deal", small["id"], "won")
    # the plan judges the rule on net as the move saves it: 300 less the customer's 10 %
    moved = service.move("deal", large["id"], "won", values={"amount": "300"})

    assert (moved["stage"], moved["net"]) == ("won", Decimal("270.00"))
