"""Rollups (SPEC §3.6): what `karte check` refuses, and stored totals kept current in the
transaction of every write of the aggregated records — create, update (a re-pointed link
too), move, delete, restore, batches — on both databases; backfill and `karte recompute`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from karte.cli import main
from karte.problems import ProblemsError
from karte.store import Records
from karte.store.errors import ValidationFailed
from karte.store.migrate import migrate, plan
from tests.conftest import write_pack

WON = {"field": "stage", "op": "=", "value": "won"}


def rollup(agg: str, field: str | None = None, **more) -> dict:
    found = {"type": "rollup", "of": "deal.customer", "agg": agg, **more}
    return found if field is None else {**found, "field": field}


CUSTOMER = {"fields": {
    "name": {"type": "string"},
    "deals": rollup("count"),
    "won_amount": rollup("sum", "amount", where=WON, result="money"),
    "first_close": rollup("min", "close_on"),
    "biggest": rollup("max", "amount", result="money"),
    "average": rollup("avg", "amount"),
    "bonus": {"type": "formula", "formula": "won_amount / 10", "result": "money"},
}}
DEAL = {"fields": {
    "title": {"type": "string"},
    "customer": {"type": "link", "to": "customer", "on_delete": "cascade"},
    "amount": {"type": "money"},
    "close_on": {"type": "date"},
    "stage": {"type": "enum", "options": ["open", "won", "lost"]},
}}


@pytest.fixture
def records(engine, make_pack):
    pack = make_pack({"customer": CUSTOMER, "deal": DEAL})
    migrate(engine, pack)
    return Records(engine, pack)


def problems_of(make_pack, customer_fields: dict, deal: dict | None = None) -> list:
    with pytest.raises(ProblemsError) as error:
        make_pack({"customer": {"fields": {"name": {"type": "string"}, **customer_fields}},
                   "deal": deal or DEAL})
    return error.value.problems


# ------------------------------------------------------------------ karte check

@pytest.mark.parametrize(("field", "code", "says"), [
    ({"type": "rollup", "agg": "count"}, "DEF070", 'needs "of"'),
    ({"type": "rollup", "of": "deal.customer"}, "DEF070", 'needs "agg"'),
    (rollup("count", of="dael.customer"), "DEF071", 'did you mean "deal"'),
    (rollup("count", of="deal.custmer"), "DEF071", 'did you mean "customer"'),
    (rollup("count", of="deals"), "DEF071", "neither a lines field"),
    (rollup("count", of="deal.amount"), "DEF072", "not a link to customer"),
    (rollup("sum", "amout"), "DEF073", 'did you mean "amount"'),
    (rollup("sum", "title"), "DEF074", "sum needs a number"),
    (rollup("avg", "close_on"), "DEF074", "avg needs a number"),
    (rollup("max", "stage"), "DEF074", "a number or a date"),
    (rollup("sum", "amount", result="date"), "DEF075", 'give "result": "decimal"'),
    (rollup("min", "close_on", result="money"), "DEF075", 'give "result": "date"'),
    (rollup("count", result="money"), "DEF075", "does not fit a count"),
    (rollup("count", where={"field": "close_on", "op": "<", "value": "$today"}), "DEF076",
     "token"),
    (rollup("count", "amount"), "DEF078", 'remove "field"'),
    (rollup("sum"), "DEF078", 'needs "field"'),
])
def test_check_refuses_a_rollup_that_cannot_be_computed(make_pack, field, code, says):
    problems = problems_of(make_pack, {"total": field})
    assert [p.code for p in problems] == [code], problems
    assert says in problems[0].message
    assert problems[0].where.startswith("entity_defs/customer.json: /fields/total")


def test_check_reads_the_where_against_the_aggregated_entity(make_pack):
    problems = problems_of(make_pack, {"total": rollup(
        "count", where={"field": "stage", "op": "=", "value": "wom"})})
    assert [p.code[:4] for p in problems] == ["COND"]
    assert problems[0].where == "entity_defs/customer.json: /fields/total/where/value"


def test_check_refuses_a_where_reading_another_record(make_pack):
    deal = {"fields": {**DEAL["fields"], "owner_customer": {"type": "link", "to": "customer"}}}
    problems = problems_of(make_pack, {"total": rollup(
        "count", where={"field": "owner_customer.name", "op": "=", "value": "x"})}, deal)
    assert [p.code for p in problems] == ["DEF076"]


def test_a_rollup_key_on_another_type_is_refused(make_pack):
    problems = problems_of(make_pack, {"total": {"type": "integer", "agg": "sum"}})
    assert [p.code for p in problems] == ["DEF025"]


def test_values_depending_on_themselves_across_entities_are_refused(make_pack):
    loop = {"fields": {**DEAL["fields"],
                       "share": {"type": "rollup", "of": "note.deal", "agg": "sum",
                                 "field": "weight"}}}
    with pytest.raises(ProblemsError) as error:
        make_pack({"customer": {"fields": {"name": {"type": "string"},
                                           "note": {"type": "link", "to": "note"},
                                           "total": rollup("sum", "share")}},
                   "deal": loop,
                   "note": {"fields": {"deal": {"type": "link", "to": "deal"},
                                       "weight": {"type": "rollup", "of": "customer.note",
                                                  "agg": "sum", "field": "total"}}}})
    [problem] = error.value.problems
    assert problem.code == "DEF079"
    assert "note.weight" in problem.message and "deal.share" in problem.message
    assert "customer.total" in problem.message


def test_formulas_may_use_rollups_and_rollups_may_aggregate_formulas(make_pack):
    deal = {"fields": {**DEAL["fields"],
                       "net": {"type": "formula", "formula": "amount * 0.9", "result": "money"}}}
    pack = make_pack({"customer": {"fields": {"name": {"type": "string"},
                                              "net": rollup("sum", "net", result="money"),
                                              "half": {"type": "formula",
                                                       "formula": "net / 2"}}},
                      "deal": deal})
    net = pack.entities["customer"].fields["net"]
    assert (net.rollup.child, net.rollup.link, net.result) == ("deal", "customer", "money")


def test_results_default_by_aggregate(make_pack):
    pack = make_pack({"customer": CUSTOMER, "deal": DEAL})
    fields = pack.entities["customer"].fields
    assert {n: fields[n].result for n in ("deals", "first_close", "average")} == {
        "deals": "integer", "first_close": "date", "average": "decimal"}


# ------------------------------------------------------------------ every write path

def customer(records: Records, id: int) -> dict:
    return records.get("customer", id, include_deleted=True)


def totals(records: Records, id: int) -> tuple:
    row = customer(records, id)
    return (row["deals"], row["won_amount"], row["first_close"], row["biggest"],
            row["average"], row["bonus"])


def test_a_new_customer_starts_at_zero_and_cannot_be_given_a_rollup(records):
    ann = records.create("customer", {"name": "Ann"})
    assert totals(records, ann["id"]) == (0, 0, None, None, None, 0)
    with pytest.raises(ValidationFailed) as error:
        records.create("customer", {"name": "Bob", "deals": 5})
    assert error.value.problems[0].where == "deals"


def test_creates_updates_and_moves_keep_every_rollup_current(records):
    ann = records.create("customer", {"name": "Ann"})["id"]
    one = records.create("deal", {"title": "a", "customer": ann, "amount": "100",
                                  "stage": "won", "close_on": "2026-03-01"})
    records.create("deal", {"title": "b", "customer": ann, "amount": "50", "stage": "open",
                            "close_on": "2026-01-15"})
    assert totals(records, ann) == (2, Decimal("100.00"), dt.date(2026, 1, 15),
                                    Decimal("100.00"), Decimal("75.0000"), Decimal("10.00"))
    records.update("deal", one["id"], {"stage": "lost", "amount": "120"}, one["version"])
    assert totals(records, ann)[:2] == (2, Decimal("0.00"))
    assert totals(records, ann)[3:5] == (Decimal("120.00"), Decimal("85.0000"))


def test_a_re_pointed_link_recomputes_both_parents(records):
    ann = records.create("customer", {"name": "Ann"})["id"]
    bob = records.create("customer", {"name": "Bob"})["id"]
    deal = records.create("deal", {"title": "a", "customer": ann, "amount": "70",
                                   "stage": "won"})
    records.update("deal", deal["id"], {"customer": bob}, deal["version"])
    assert totals(records, ann)[:2] == (0, Decimal("0.00"))
    assert totals(records, bob)[:2] == (1, Decimal("70.00"))


def test_refresh_leaves_the_parents_version_and_updated_at_alone(records):
    ann = records.create("customer", {"name": "Ann"})
    records.create("deal", {"title": "a", "customer": ann["id"], "amount": "5",
                            "stage": "won"})
    after = customer(records, ann["id"])
    assert (after["version"], after["updated_at"]) == (ann["version"], ann["updated_at"])
    assert after["won_amount"] == Decimal("5.00")
    records.update("customer", ann["id"], {"name": "Ann B"}, ann["version"])  # no conflict


def test_delete_restore_and_cascade_keep_rollups_current(records):
    ann = records.create("customer", {"name": "Ann"})["id"]
    deal = records.create("deal", {"title": "a", "customer": ann, "amount": "30",
                                   "stage": "won"})
    records.create("deal", {"title": "b", "customer": ann, "amount": "10", "stage": "won"})
    records.delete("deal", deal["id"])
    assert totals(records, ann)[:2] == (1, Decimal("10.00"))
    records.restore("deal", deal["id"])
    assert totals(records, ann)[:2] == (2, Decimal("40.00"))
    records.delete("customer", ann)                      # cascades to both deals
    assert totals(records, ann)[:2] == (0, Decimal("0.00"))


def test_set_null_on_delete_recomputes_the_old_parent(engine, make_pack):
    deal = {"fields": {**DEAL["fields"],
                       "customer": {"type": "link", "to": "customer", "on_delete": "set_null"},
                       "partner": {"type": "link", "to": "customer", "on_delete": "cascade"}}}
    pack = make_pack({"customer": CUSTOMER, "deal": deal})
    migrate(engine, pack)
    records = Records(engine, pack)
    ann = records.create("customer", {"name": "Ann"})["id"]
    other = records.create("customer", {"name": "Other"})["id"]
    records.create("deal", {"title": "a", "customer": ann, "partner": other, "amount": "9",
                            "stage": "won"})
    records.delete("customer", other)    # the deal goes with its partner
    assert totals(records, ann)[:2] == (0, Decimal("0.00"))


def test_create_many_recomputes_each_parent_once_per_import(records, engine):
    ann = records.create("customer", {"name": "Ann"})["id"]
    bob = records.create("customer", {"name": "Bob"})["id"]
    rows = [{"title": f"d{i}", "customer": (ann, bob)[i % 2], "amount": str(i),
             "stage": "won"} for i in range(1, 11)]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "GROUP BY" in statement:
            statements.append(statement)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        records.create_many("deal", rows, batch_size=3)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert totals(records, ann)[:2] == (5, Decimal("30.00"))
    assert totals(records, bob)[:2] == (5, Decimal("25.00"))
    assert len(statements) == 5            # one aggregate per rollup, not per batch or row
    assert all(" IN (" in s.upper() for s in statements)   # limited to the parents named


def test_an_ordinary_write_aggregates_only_the_parents_it_touched(records, engine):
    ann = records.create("customer", {"name": "Ann"})["id"]
    seen: list[tuple] = []

    def watch(conn, cursor, statement, parameters, *args):
        if "GROUP BY" in statement:
            seen.append(parameters)
    sa.event.listen(engine, "before_cursor_execute", watch)
    try:
        records.create("deal", {"title": "a", "customer": ann, "amount": "1"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", watch)
    assert seen and all(ann in (p.values() if isinstance(p, dict) else p) for p in seen)


def test_an_unrelated_change_runs_no_aggregate(records, engine):
    ann = records.create("customer", {"name": "Ann"})["id"]
    deal = records.create("deal", {"title": "a", "customer": ann, "amount": "1"})
    seen: list[str] = []

    def watch(conn, cursor, statement, *args):
        seen.append(statement)
    sa.event.listen(engine, "before_cursor_execute", watch)
    try:
        records.update("deal", deal["id"], {"title": "renamed"}, deal["version"])
    finally:
        sa.event.remove(engine, "before_cursor_execute", watch)
    assert seen and not any("GROUP BY" in s for s in seen)


# ------------------------------------------------------------------ grandparents

def test_a_rollup_over_a_rollup_cascades_to_the_grandparent(engine, make_pack):
    pack = make_pack({
        "region": {"fields": {"name": {"type": "string"},
                              "won": {"type": "rollup", "of": "customer.region", "agg": "sum",
                                      "field": "won_amount", "result": "money"}}},
        "customer": {"fields": {**CUSTOMER["fields"],
                                "region": {"type": "link", "to": "region"}}},
        "deal": DEAL})
    migrate(engine, pack)
    records = Records(engine, pack)
    north = records.create("region", {"name": "North"})["id"]
    ann = records.create("customer", {"name": "Ann", "region": north})["id"]
    records.create("deal", {"title": "a", "customer": ann, "amount": "12", "stage": "won"})
    assert records.get("region", north)["won"] == Decimal("12.00")


# ------------------------------------------------------------------ migration and CLI

def test_adding_a_rollup_fills_it_for_existing_records(engine, make_pack):
    plain = {"fields": {"name": {"type": "string"}}}
    before = make_pack({"customer": plain, "deal": DEAL})
    migrate(engine, before)
    old = Records(engine, before)
    ann = old.create("customer", {"name": "Ann"})["id"]
    old.create_many("deal", [{"title": "a", "customer": ann, "amount": "4", "stage": "won"},
                             {"title": "b", "customer": ann, "amount": "6", "stage": "open"}])
    after = make_pack({"customer": CUSTOMER, "deal": DEAL})
    described = [s.description for s in plan(engine, after).steps]
    assert "fill customer.won_amount for 1 record" in described
    migrate(engine, after)
    assert totals(Records(engine, after), ann)[:2] == (2, Decimal("4.00"))
    assert not [s for s in plan(engine, after).steps if s.kind == "fill_values"]

    changed = {"fields": {**CUSTOMER["fields"], "won_amount": rollup(
        "sum", "amount", where={"field": "stage", "op": "!=", "value": "won"},
        result="money")}}
    newer = make_pack({"customer": changed, "deal": DEAL})
    migrate(engine, newer)
    assert customer(Records(engine, newer), ann)["won_amount"] == Decimal("6.00")


def test_karte_recompute_reports_what_differed(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    folder = write_pack(tmp_path / "pack", {"customer": CUSTOMER, "deal": DEAL})
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [*args, "--pack", str(folder)])

    assert invoke("migrate").exit_code == 0
    from karte.meta.load import load_pack
    from karte.store.db import make_engine
    engine = make_engine(db_url)
    try:
        records = Records(engine, load_pack(folder))
        ann = records.create("customer", {"name": "Ann"})["id"]
        records.create("deal", {"title": "a", "customer": ann, "amount": "8", "stage": "won"})
        with engine.begin() as conn:      # a value gone stale behind the engine's back
            conn.execute(sa.text("UPDATE customer SET won_amount = 1"))
        result = invoke("recompute", "customer.won_amount")
        assert result.exit_code == 0, result.output
        assert "1 record recomputed, 1 differed" in result.output
        assert f"#{ann}: 1.00 → 8.00" in result.output
        assert customer(records, ann)["bonus"] == Decimal("0.80")
        again = invoke("recompute", "customer.bonus")
        assert again.exit_code == 0 and "0 differed" in again.output
    finally:
        engine.dispose()
    unknown = invoke("recompute", "customer.won")
    assert unknown.exit_code == 1
    assert 'no rollup or formula "won"' in unknown.output
    assert "won_amount" in unknown.output           # the fields it could mean
    assert invoke("recompute", "custmer.deals").exit_code == 1


# ------------------------------------------------------------------ pages

def test_pages_show_rollups_read_only_with_words_and_sort_and_filter_by_them(make_app):
    from bs4 import BeautifulSoup

    customer_def = {**CUSTOMER, "list": {"columns": ["name", "deals", "won_amount"],
                                         "filters": ["won_amount"]}}
    app = make_app({"customer": customer_def, "deal": DEAL})
    records = app.extensions["karte"]["records"]
    ann = records.create("customer", {"name": "Ann"})["id"]
    bob = records.create("customer", {"name": "Bob"})["id"]
    records.create("deal", {"title": "a", "customer": ann, "amount": "300", "stage": "won"})
    records.create("deal", {"title": "b", "customer": bob, "amount": "20", "stage": "won"})
    records.create("deal", {"title": "c", "customer": bob, "amount": "5", "stage": "open"})
    client = app.client()

    def page(url: str) -> BeautifulSoup:
        response = client.get(url)
        assert response.status_code == 200, url
        return BeautifulSoup(response.get_data(as_text=True), "html.parser")

    card = page(f"/customer/{ann}")
    won = card.select_one(".field-rollup.derived[title^='Sum of Amount of Deals']")
    assert won is not None and won["title"] == "Sum of Amount of Deals where Stage = Won"
    assert "$300.00" in won.dd.get_text()

    form = page(f"/customer/{bob}/edit")
    assert form.select_one("input[name=won_amount]") is None
    notes = [p.get_text(strip=True) for p in form.select(".field-rollup .derived-how")]
    assert "Number of Deals" in notes

    def names(soup: BeautifulSoup) -> list[str]:
        return [row.select("td a")[0].get_text(strip=True)
                for row in soup.select("table.list-table tbody tr")]
    assert names(page("/customer/?sort=-won_amount")) == ["Ann", "Bob"]
    assert names(page("/customer/?sort=won_amount")) == ["Bob", "Ann"]
    assert names(page("/customer/?f.won_amount.gte=100")) == ["Ann"]


def test_concurrent_writes_to_one_parent_lose_no_child(records):
    """Each refresh locks the parent before aggregating, so two transactions adding deals
    to one customer at once both end up counted."""
    import threading

    ann = records.create("customer", {"name": "Ann"})["id"]
    errors: list[BaseException] = []

    def add(n: int) -> None:
        try:
            for i in range(6):
                records.create("deal", {"title": f"{n}-{i}", "customer": ann, "amount": "1",
                                        "stage": "won"})
        except BaseException as error:     # reported below, not lost in the thread
            errors.append(error)
    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert totals(records, ann)[:2] == (24, Decimal("24.00"))


def test_a_stage_move_through_the_workflow_updates_the_rollup(engine, make_pack):
    from karte.workflow import Workflows

    deal = {"fields": {k: v for k, v in DEAL["fields"].items() if k != "stage"}}
    flow = {"entity": "deal", "field": "stage", "stages": [
        {"key": "open"}, {"key": "won", "final": "won"}, {"key": "lost", "final": "lost"}]}
    pack = make_pack({"customer": CUSTOMER, "deal": deal}, {"deal_flow": flow})
    migrate(engine, pack)
    records = Records(engine, pack)
    ann = records.create("customer", {"name": "Ann"})["id"]
    one = records.create("deal", {"title": "a", "customer": ann, "amount": "40"})
    assert totals(records, ann)[:2] == (1, Decimal("0.00"))
    Workflows(records).move("deal", one["id"], "won")
    assert totals(records, ann)[:2] == (1, Decimal("40.00"))
    assert customer(records, ann)["bonus"] == Decimal("4.00")


def test_source_reads_a_lines_field_as_its_part_linking_back_by_the_parents_name():
    from types import SimpleNamespace

    from karte.meta.rollups import source

    quote = SimpleNamespace(name="quote", fields={
        "lines": SimpleNamespace(type="lines", of="quote_line"),
        "title": SimpleNamespace(type="string", of=None)})
    assert source(quote, "lines", {}) == ("quote_line", "quote")
    assert source(quote, "title", {}) is None
    assert source(quote, "deal.customer", {}) == ("deal", "customer")


def test_a_formula_reads_a_date_rollup_as_a_date(make_pack):
    pack = make_pack({"customer": {"fields": {
        "name": {"type": "string"},
        "first_close": rollup("min", "close_on"),
        "follow_up": {"type": "formula", "formula": "add_days(first_close, 30)",
                      "result": "date"}}}, "deal": DEAL})
    assert pack.entities["customer"].fields["first_close"].result == "date"
