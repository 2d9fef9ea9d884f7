"""Grouped list summaries (`group=` / `agg=` on a list) against the hand-worked deals of
tests/reports_fixture.py: one and two levels with subtotals, date buckets in the pack's
timezone, the list's filter and the viewer's read scope, and totals that are exactly the
sum of their groups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from karte.reports.summary import summarize
from karte.store.errors import InvalidQuery
from tests.reports_fixture import Sales


@pytest.fixture
def sales(engine, make_pack) -> Sales:
    return Sales(engine, make_pack).fill()


def run(sales: Sales, groups, measures=(), where=None, search=None, role=None):
    actor = sales.actor(role) if role else None
    return summarize(sales.records.store, sales.pack.entities["deal"], groups, measures,
                     where, search, actor)


def customer_id(sales: Sales, name: str) -> int:
    where = {"field": "name", "op": "=", "value": name}
    return sales.records.query("customer", where)[0]["id"]


def rows(summary):
    return [(tuple(g.key for g in line.groups), line.count, *line.values, line.kind)
            for line in summary.lines]


def test_one_level_counts_and_sums_with_a_total(sales):
    found = run(sales, [sales.group("source")],
                [sales.measure("sum", "amount"), sales.measure("avg", "amount")])
    assert rows(found) == [
        (("web",), 3, Decimal("440.00"), Decimal("440.00") / 3, "group"),
        (("call",), 2, Decimal("260.50"), Decimal("130.25"), "group"),
        (("",), 1, Decimal("0.00"), None, "group")]
    assert found.lines[0].groups[0].label.get() == "Web"
    assert (found.total.count, found.total.values) == (6, (Decimal("700.50"),
                                                           Decimal("140.10")))
    assert found.total.kind == "total" and not found.truncated


def test_two_levels_have_a_subtotal_after_each_first_level_group(sales):
    found = run(sales, [sales.group("source"), sales.group("customer")],
                [sales.measure("sum", "amount"), sales.measure("max", "closed_on")])
    acme, globex = (str(customer_id(sales, name)) for name in ("Acme", "Globex"))
    assert rows(found) == [
        (("web", acme), 2, Decimal("140.00"), dt.date(2026, 5, 3),
         "group"),
        (("web", ""), 1, Decimal("300.00"), None, "group"),
        (("web",), 3, Decimal("440.00"), dt.date(2026, 5, 3), "subtotal"),
        (("call", globex), 1, Decimal("250.50"), dt.date(2026, 5, 10), "group"),
        (("call", ""), 1, Decimal("10.00"), dt.date(2026, 4, 1), "group"),
        (("call",), 2, Decimal("260.50"), dt.date(2026, 5, 10), "subtotal"),
        (("", globex), 1, Decimal("0.00"), dt.date(2026, 4, 30), "group"),
        (("",), 1, Decimal("0.00"), dt.date(2026, 4, 30), "subtotal")]
    assert [g.label for g in found.lines[0].groups[1:]] == ["Acme"]
    assert found.total.values == (Decimal("700.50"), dt.date(2026, 5, 10))


def test_date_buckets_are_local_calendar_months_from_first_to_last(sales):
    found = run(sales, [sales.group("created_at", "month")], [sales.measure("sum", "amount")])
    assert [(line.groups[0].key, line.count, line.values[0]) for line in found.lines] == [
        ("2026-03-01", 1, Decimal("0.00")), ("2026-04-01", 2, Decimal("340.00")),
        ("2026-05-01", 3, Decimal("360.50"))]
    assert found.lines[1].groups[0].start == dt.date(2026, 4, 1)
    assert found.lines[1].groups[0].end == dt.date(2026, 5, 1)


def test_the_lists_filter_search_and_the_viewers_scope_apply(sales):
    web = run(sales, [sales.group("customer")], [sales.measure("sum", "amount")],
              where={"field": "source", "op": "=", "value": "web"})
    assert (web.total.count, web.total.values) == (3, (Decimal("440.00"),))
    searched = run(sales, [sales.group("source")], search="B")
    assert [(line.groups[0].key, line.count) for line in searched.lines] == [("call", 1)]
    own = run(sales, [sales.group("source")], [sales.measure("sum", "amount")], role="sales")
    assert rows(own) == [(("web",), 2, Decimal("140.00"), "group"),
                         (("",), 1, Decimal("0.00"), "group")]


def test_nothing_found_gives_a_zero_total_and_no_rows(sales):
    found = run(sales, [sales.group("closed_on", "day")],
                where={"field": "title", "op": "=", "value": "nobody"})
    assert found.lines == () and found.total.count == 0


def test_too_many_day_buckets_are_refused_with_a_way_out(sales):
    sales.records.create("deal", {"title": "Old", "closed_on": "2020-01-01"})
    with pytest.raises(InvalidQuery) as refused:
        run(sales, [sales.group("closed_on", "day")])
    assert "choose a longer bucket" in refused.value.problems[0].message


def test_records_without_a_date_are_their_own_group_last(sales):
    found = run(sales, [sales.group("closed_on", "month")])
    assert [(line.groups[0].key, line.count) for line in found.lines] == [
        ("2026-04-01", 3), ("2026-05-01", 2), ("", 1)]
    nothing = run(sales, [sales.group("closed_on", "month")],
                  where={"field": "closed_on", "op": "empty"})
    assert [(line.groups[0].key, line.count) for line in nothing.lines] == [("", 1)]
