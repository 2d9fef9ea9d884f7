"""`karte demo` as an admin trying a pack sees it: every demo record is one the engine
itself would accept — limits kept, stage requirements and rules met, hidden fields
empty, actions run, links agreeing — and a record that cannot be made is reported by
entity, field and reason, never with a traceback."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal

import pytest
from click.testing import CliRunner

from karte.cli import main
from karte.config import REPO_ROOT
from karte.meta.load import load_pack
from karte.problems import Problem
from karte.store import Records
from karte.store.db import make_engine
from karte.store.errors import ValidationFailed
from tests.conftest import write_pack

MINI = {"name": "mini", "roles": {"sales": {"*": {"read": "all"}}}}


@pytest.fixture
def demo(tmp_path, db_url, monkeypatch):
    """demo(entities, workflows=None, *args) -> (CLI result, {entity: [records]})."""
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    engine = make_engine(db_url)
    runs = iter(range(100))

    def run(entities, workflows=None, *args, root=None):
        root = root or write_pack(tmp_path / f"pack{next(runs)}", entities, workflows, MINI)
        result = CliRunner().invoke(main, ["demo", "--pack", str(root), "--seed", "3", *args])
        assert "Traceback" not in result.output, result.output
        records = Records(engine, load_pack(root))
        return result, {name: records.query(name, limit=500) for name in records.pack.entities}

    yield run
    engine.dispose()


def test_a_required_patterned_field_and_a_short_unique_field_get_valid_values(demo):
    thing = {"fields": {"code": {"type": "string", "required": True,
                                 "pattern": "^[a-z]{3}[0-9]{2}$"},
                        "tag": {"type": "string", "unique": True, "max_length": 3},
                        "serial": {"type": "string", "unique": True, "required": True,
                                   "pattern": "^SN-[0-9]{3,}$", "max_length": 8}}}
    result, rows = demo({"thing": thing}, None, "--size", "50")
    assert result.exit_code == 0, result.output
    things = rows["thing"]
    assert len(things) == 50
    assert all(re.fullmatch("[a-z]{3}[0-9]{2}", t["code"]) for t in things)
    assert all(re.fullmatch("SN-[0-9]{3,5}", t["serial"]) for t in things)
    tags = [t["tag"] for t in things if t["tag"] is not None]
    assert len(tags) == len(set(tags)) == 50 and all(len(tag) <= 3 for tag in tags)


def test_values_keep_the_fields_limits(demo):
    reading = {"fields": {
        "level": {"type": "integer", "required": True, "min": -3, "max": 2},
        "ratio": {"type": "decimal", "required": True, "precision": 4, "scale": 2,
                  "min": 10},
        "fee": {"type": "money", "required": True, "min": 1, "max": 50},
        "share": {"type": "percent", "required": True, "min": 0.5, "max": 1},
        "due": {"type": "date", "required": True, "min": "2101-01-01", "max": "2101-01-31"},
        "note": {"type": "text", "required": True, "max_length": 20},
        "label": {"type": "string", "required": True, "min_length": 30, "max_length": 40},
        "rank": {"type": "integer", "unique": True, "min": 1, "max": 30}}}
    result, rows = demo({"reading": reading}, None, "--size", "60")
    assert result.exit_code == 0, result.output
    readings = rows["reading"]
    assert len(readings) == 60
    for r in readings:
        assert -3 <= r["level"] <= 2
        assert Decimal(10) <= r["ratio"] < 100
        assert 1 <= r["fee"] <= 50 and Decimal("0.5") <= r["share"] <= 1
        assert dt.date(2101, 1, 1) <= r["due"] <= dt.date(2101, 1, 31)
        assert len(r["note"]) <= 20 and 30 <= len(r["label"]) <= 40
    ranks = [r["rank"] for r in readings if r["rank"] is not None]
    assert len(ranks) == len(set(ranks)) == 30      # every rank used once, then left empty


DEAL = {"fields": {
    "title": {"type": "string", "required": True},
    "amount": {"type": "money", "min": 0, "max": 20000},
    "source": {"type": "enum", "options": ["web", "partner", "event"]},
    "invoice_no": {"type": "string", "max_length": 12},
    "discount": {"type": "percent", "min": 0, "max": 30},
    "lost_reason": {"type": "text", "visible_if": {"field": "stage", "op": "=",
                                                   "value": "lost"}},
    "closed_on": {"type": "date"},
    "probability": {"type": "percent", "min": 0, "max": 100}}}
PIPELINE = {"entity": "deal", "field": "stage", "stages": [
    {"key": "new"},
    {"key": "qualified", "requires": ["amount"],
     "rules": [{"when": {"field": "amount", "op": ">=", "value": 1000},
                "message": "A qualified deal is worth 1000 or more."},
               {"when": {"any": [{"field": "source", "op": "=", "value": "partner"},
                                 {"field": "amount", "op": ">", "value": 15000}]},
                "message": "Qualified: a partner deal, or a big one."}]},
    {"key": "invoiced", "requires": ["invoice_no"],
     "rules": [{"when": {"not": {"field": "discount", "op": ">", "value": 10}},
                "message": "No invoice with more than 10% off."}]},
    {"key": "won", "final": "won"},
    {"key": "lost", "final": "lost", "requires": ["lost_reason"]}],
    "on_enter": {"won": [{"set": {"closed_on": "$today", "probability": 100}},
                         {"create": "task", "values": {"title": "Kick-off", "deal": "$record",
                                                       "due_on": {"days_from_today": 3}}}]}}
TASK = {"fields": {"title": {"type": "string", "required": True},
                   "deal": {"type": "link", "to": "deal", "on_delete": "cascade"},
                   "due_on": {"type": "date"}}}


def test_records_sit_in_stages_whose_requirements_and_rules_they_meet(demo):
    result, rows = demo({"deal": DEAL, "task": TASK}, {"pipeline": PIPELINE},
                        "--size", "200")
    assert result.exit_code == 0, result.output
    deals = rows["deal"]
    by_stage = Counter(d["stage"] for d in deals)
    assert len(by_stage) == 5, by_stage
    for d in deals:
        walked = d["stage"] in ("qualified", "invoiced", "won")
        assert (d["amount"] is not None) == walked or d["stage"] == "lost", d
        if d["stage"] in ("qualified", "invoiced", "won"):
            assert d["amount"] >= 1000 and (d["source"] == "partner" or d["amount"] > 15000)
        if d["stage"] in ("invoiced", "won"):
            assert d["invoice_no"] and not (d["discount"] or 0) > 10
        if d["stage"] in ("new", "qualified"):
            assert d["invoice_no"] is None     # only a later stage asks for it
        assert (d["lost_reason"] is not None) == (d["stage"] == "lost")


def test_entering_a_stage_runs_its_on_enter_actions(demo):
    result, rows = demo({"deal": DEAL, "task": TASK}, {"pipeline": PIPELINE},
                        "--size", "200")
    assert result.exit_code == 0, result.output
    won = [d for d in rows["deal"] if d["stage"] == "won"]
    assert won and all(d["probability"] == 100 and d["closed_on"] is not None for d in won)
    kick_offs = [t for t in rows["task"] if t["title"] == "Kick-off"]
    assert sorted(t["deal"] for t in kick_offs) == sorted(d["id"] for d in won)
    assert f"and {len(won)} more by workflow actions" in result.output


def test_hidden_fields_stay_empty_and_conditionally_required_ones_are_filled(demo):
    customer = {"fields": {
        "name": {"type": "string", "required": True},
        "kind": {"type": "enum", "required": True, "default": "company",
                 "options": ["company", "person"]},
        "segment": {"type": "enum", "options": ["smb", "enterprise"], "default": "smb",
                    "visible_if": {"field": "kind", "op": "=", "value": "company"}},
        "vat_id": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{8}$",
                   "required_if": {"field": "kind", "op": "=", "value": "company"}}}}
    result, rows = demo({"customer": customer}, None, "--size", "80")
    assert result.exit_code == 0, result.output
    kinds = Counter(c["kind"] for c in rows["customer"])
    assert kinds["company"] and kinds["person"]
    for c in rows["customer"]:
        if c["kind"] == "person":
            assert c["segment"] is None
        else:
            assert re.fullmatch("[A-Z]{2}[0-9]{8}", c["vat_id"])


def test_links_agree_with_each_other(demo):
    entities = {
        "customer": {"fields": {"name": {"type": "string", "required": True}}},
        "contact": {"fields": {"name": {"type": "string", "required": True},
                               "customer": {"type": "link", "to": "customer"}}},
        "order": {"fields": {"number": {"type": "string", "required": True},
                             "customer": {"type": "link", "to": "customer",
                                          "required": True},
                             "contact": {"type": "link", "to": "contact"}}},
        "shipment": {"fields": {"customer": {"type": "link", "to": "customer",
                                             "required": True},
                                "order": {"type": "link", "to": "order", "required": True},
                                "contact": {"type": "link", "to": "contact"}}}}
    result, rows = demo(entities, None, "--size", "300")
    assert result.exit_code == 0, result.output
    customer_of = {name: {r["id"]: r["customer"] for r in rows[name]}
                   for name in ("contact", "order")}
    shipments = rows["shipment"]
    assert shipments and any(s["contact"] for s in shipments)
    for s in shipments:
        assert customer_of["order"][s["order"]] == s["customer"]
        if s["contact"] is not None:
            assert customer_of["contact"][s["contact"]] == s["customer"]
    for o in rows["order"]:
        if o["contact"] is not None:
            assert customer_of["contact"][o["contact"]] == o["customer"]


def test_a_record_that_cannot_be_made_is_reported_and_the_rest_is_made(demo):
    entities = {"customer": {"fields": {"name": {"type": "string", "required": True}}},
                "thing": {"fields": {
                    "code": {"type": "string", "required": True, "pattern": "^[a-z]{10}$",
                             "max_length": 5},
                    "customer": {"type": "link", "to": "customer"}}}}
    result, rows = demo(entities, None, "--size", "40")
    assert result.exit_code == 3, result.output
    assert rows["customer"] and not rows["thing"]
    assert re.search(r"^thing\.code: no demo value fits .*pattern \^\[a-z\]\{10\}\$.*"
                     r"max_length 5.*\(\d+ records\)$", result.stderr, re.MULTILINE), \
        result.stderr
    assert re.search(r"^\d+ demo records could not be created", result.stdout, re.MULTILINE)


def test_rules_of_every_kind_get_values_that_meet_them(demo):
    org = {"fields": {"name": {"type": "string", "required": True},
                      "tier": {"type": "enum", "options": ["top", "low"], "required": True}}}
    account = {"fields": {
        "org": {"type": "link", "to": "org"},
        "tags": {"type": "multi_enum", "options": ["vip", "new", "old"]},
        "code": {"type": "string", "max_length": 20},
        "notes": {"type": "text"},
        "due": {"type": "date"},
        "score": {"type": "integer", "min": 0, "max": 10},
        "region": {"type": "enum", "options": ["north", "south"], "required": True}}}
    rules = [{"field": "tags", "op": "contains", "value": "vip"},
             {"field": "code", "op": "starts_with", "value": "VIP"},
             {"field": "notes", "op": "not_empty"},
             {"field": "due", "op": "<", "value": "$today"},
             {"any": [{"field": "score", "op": ">=", "value": 8},
                      {"field": "score", "op": "<=", "value": 1}]},
             {"not": {"field": "region", "op": "=", "value": "north"}},
             {"field": "org.tier", "op": "=", "value": "top"}]
    flow = {"entity": "account", "field": "stage", "stages": [
        {"key": "new"}, {"key": "gold", "rules": [{"when": r, "message": "gold"} for r in rules]},
        {"key": "done", "final": "won"}, {"key": "lost", "final": "lost"}]}
    result, rows = demo({"org": org, "account": account}, {"flow": flow}, "--size", "150")
    assert result.exit_code == 0, result.output
    tiers = {o["id"]: o["tier"] for o in rows["org"]}
    gold = [a for a in rows["account"] if a["stage"] == "gold"]
    assert len(gold) >= 5
    for a in gold:
        assert "vip" in a["tags"] and a["code"].startswith("VIP") and a["notes"]
        assert a["due"] < dt.date.today() and (a["score"] >= 8 or a["score"] <= 1)
        assert a["region"] == "south" and tiers[a["org"]] == "top"


def test_a_link_required_only_sometimes_is_not_asked_for_before_it_can_be_given(demo):
    part = {"fields": {"spare": {"type": "boolean", "required": True},
                       "replaces": {"type": "link", "to": "part", "required_if": {
                           "field": "spare", "op": "=", "value": True}}}}
    result, rows = demo({"part": part}, None, "--size", "30")
    assert result.exit_code == 0, result.output
    assert all(p["replaces"] is not None for p in rows["part"] if p["spare"])


def test_rows_the_database_refuses_without_naming_them_are_found_and_reported(demo,
                                                                            monkeypatch):
    save = Records.create_many

    def refusing(self, entity, rows, *args, **kwargs):
        rows = list(rows)
        if any(row.get("n") == 2 for row in rows):    # as a unique index would, mid-batch
            raise ValidationFailed([Problem("", "This record conflicts with another.")])
        return save(self, entity, rows, *args, **kwargs)

    monkeypatch.setattr(Records, "create_many", refusing)
    thing = {"fields": {"n": {"type": "integer", "required": True, "min": 1, "max": 2}}}
    result, rows = demo({"thing": thing}, None, "--size", "40")
    assert result.exit_code == 3, result.output
    made = len(rows["thing"])
    assert 0 < made < 40 and all(t["n"] == 1 for t in rows["thing"])
    assert f"thing: This record conflicts with another. ({40 - made} records)" in result.stderr


def test_a_stage_whose_rule_cannot_hold_stays_empty(demo):
    pipeline = {**PIPELINE, "stages": [
        {"key": "new"},
        {"key": "big", "rules": [{"when": {"field": "amount", "op": ">", "value": 50000},
                                  "message": "Big deals only."}]},
        {"key": "done", "final": "won"}, {"key": "lost", "final": "lost"}],
        "on_enter": {}}
    result, rows = demo({"deal": DEAL}, {"pipeline": pipeline}, "--size", "60")
    assert result.exit_code == 0, result.output
    stages = Counter(d["stage"] for d in rows["deal"])
    assert stages["big"] == 0 and stages["new"] and stages["done"]


def test_the_standard_pack_fills_its_boards_with_records_its_rules_accept(demo):
    result, rows = demo({}, None, "--size", "400", root=REPO_ROOT)
    assert result.exit_code == 0, result.output
    deals, tickets = rows["deal"], rows["ticket"]
    assert len(Counter(d["stage"] for d in deals)) >= 5
    assert len(Counter(t["status"] for t in tickets)) >= 5
    won = [d for d in deals if d["stage"] == "won"]
    assert all(d["probability"] == 100 and d["amount"] and d["invoice_no"] for d in won)
    kick_offs = [t for t in rows["task"] if t["title"] == "Kick-off call"]
    assert sorted(t["deal"] for t in kick_offs) == sorted(d["id"] for d in won)
    customer_of = {d["id"]: d["customer"] for d in won}
    assert all(t["customer"] == customer_of[t["deal"]] for t in kick_offs)   # $record.customer
    for t in tickets:
        closed = t["status"] in ("resolved", "closed")
        assert (t["resolution"] is not None) == closed, t
    contact_customer = {c["id"]: c["customer"] for c in rows["contact"]}
    for d in deals:
        assert d["contact"] is None or contact_customer[d["contact"]] == d["customer"]


def test_demo_is_deterministic_with_a_seed(demo, db_url):
    customer = {"fields": {"name": {"type": "string", "required": True},
                           "email": {"type": "email"}}}
    deal = {"fields": {"title": {"type": "string", "required": True},
                       "customer": {"type": "link", "to": "customer"},
                       "amount": {"type": "money"}}}
    result, rows = demo({"customer": customer, "deal": deal}, None, "--size", "60")
    assert result.exit_code == 0, result.output
    assert "admin@example.com" in result.output
    first = [d["title"] for d in sorted(rows["deal"], key=lambda d: d["id"])]
    assert len(first) > 10
    skipped, again = demo({"customer": customer, "deal": deal}, None, "--size", "60",
                          "--if-empty")
    assert "already" in skipped.output
    assert [d["title"] for d in sorted(again["deal"], key=lambda d: d["id"])] == first


def test_demo_if_empty_on_a_database_with_other_data_explains_how_to_sign_in(demo, tmp_path):
    customer = {"fields": {"name": {"type": "string", "required": True}}}
    added, _ = demo({"customer": customer}, None, "--size", "20")
    assert added.exit_code == 0, added.output
    (tmp_path / "instance" / "demo-login.txt").unlink()
    result, _ = demo({"customer": customer}, None, "--if-empty")
    assert result.exit_code == 0, result.output
    assert "karte user add" in result.output


def test_a_second_demo_on_a_filled_database_adds_records_despite_unique_values(demo):
    contact = {"fields": {"email": {"type": "email", "unique": True, "required": True},
                          "badge": {"type": "string", "unique": True, "max_length": 4,
                                    "required": True}}}
    first, _ = demo({"contact": contact}, None, "--size", "30")
    second, rows = demo({"contact": contact}, None, "--size", "30")
    assert (first.exit_code, second.exit_code) == (0, 0), second.output
    assert len(rows["contact"]) == 60


def test_unique_combinations_are_never_repeated_and_a_clash_left_is_reported(demo):
    place = {"fields": {"name": {"type": "string", "required": True}}}
    stock = {"fields": {"name": {"type": "string", "required": True},
                        "product": {"type": "link", "to": "product", "required": True},
                        "warehouse": {"type": "link", "to": "warehouse", "required": True},
                        "code": {"type": "string", "required": True},
                        "level": {"type": "enum", "options": ["a", "b"], "required": True}},
             "unique": [["product", "warehouse"], ["code", "level"]]}
    result, rows = demo({"product": place, "warehouse": place, "stock": stock}, None,
                        "--size", "40")
    assert result.exit_code in (0, 3), result.output
    made = rows["stock"]
    assert made
    for key in (("product", "warehouse"), ("code", "level")):
        combinations = [tuple(s[name] for name in key) for s in made]
        assert len(combinations) == len(set(combinations))
    reasons = [line for line in result.stderr.splitlines() if line.startswith("stock.")]
    assert all("already has this product and warehouse" in r for r in reasons), reasons
