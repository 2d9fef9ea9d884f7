"""Number and ratio widgets against the hand-worked fixture (tests/reports_fixture.py),
their previous period, the role's scope and hidden fields, and that the list a number
drills into counts exactly its records — on every database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from karte.store.errors import Forbidden, InvalidQuery, NotFound
from tests.reports_fixture import Sales, span


@pytest.fixture
def sales(engine, make_pack) -> Sales:
    return Sales(engine, make_pack).fill()


def test_a_sum_this_month_against_last_month_and_its_drill_down(sales):
    board = sales.board(sales.widget("number", "won", measure=sales.measure("sum", "amount"),
                                     date="closed_on", range="this_month",
                                     compare="previous_period"))
    result = sales.run(board, "won")
    assert result.value == Decimal("350.50")        # A 100 + B 250.50 (closed in May)
    assert result.previous == Decimal("50.00")      # C 40 + F 10 (E has no amount)
    assert result.change == pytest.approx(6.01)
    assert sales.count(board, "won") == 2 and sales.count(board, "won", part="previous") == 2
    assert sales.total(board, "won", "amount") == Decimal("350.50")
    assert sales.total(board, "won", "amount", part="previous") == Decimal("50.00")


def test_counts_by_creation_and_the_other_aggregates(sales):
    board = sales.board(
        sales.widget("number", "new", measure=sales.measure("count"), range="this_month",
                     compare="previous_period"),
        sales.widget("number", "avg", measure=sales.measure("avg", "amount")),
        sales.widget("number", "median", measure=sales.measure("median", "amount")),
        sales.widget("number", "even", measure=sales.measure("median", "amount"),
                     where={"field": "amount", "op": ">", "value": 20}),
        sales.widget("number", "low", measure=sales.measure("min", "amount")),
        sales.widget("number", "high", measure=sales.measure("max", "amount")),
        sales.widget("number", "last", measure=sales.measure("max", "closed_on")))
    new = sales.run(board, "new")
    assert (new.value, new.previous, new.change) == (3, 2, 0.5)    # A B F / C D
    assert sales.count(board, "new") == 3 and sales.count(board, "new", part="previous") == 2
    assert sales.run(board, "avg").value == Decimal("140.10")     # 700.50 / 5
    assert sales.count(board, "avg") == 5                          # E has no amount
    assert sales.run(board, "median").value == Decimal("100")
    assert sales.run(board, "even").value == Decimal("175.25")     # (100 + 250.50) / 2
    assert sales.count(board, "even") == 4
    assert sales.run(board, "low").value == Decimal("10")
    assert sales.run(board, "high").value == Decimal("300")
    assert str(sales.run(board, "last").value) == "2026-05-10"


def test_a_ratio_and_its_parts(sales):
    board = sales.board(sales.widget(
        "ratio", "rate", format="percent",
        numerator=sales.measure("count", where={"field": "stage", "op": "=", "value": "won"}),
        denominator=sales.measure("count", where={"field": "stage", "op": "in",
                                                   "value": ["won", "lost"]})))
    result = sales.run(board, "rate")
    assert (result.value, result.numerator, result.denominator) == (0.75, 3, 4)
    assert sales.count(board, "rate", part="numerator") == 3
    assert sales.count(board, "rate") == sales.count(board, "rate", part="denominator") == 4
    with pytest.raises(InvalidQuery):
        sales.count(board, "rate", part="previous")


def test_the_median_time_to_a_stage_from_the_stage_history(sales):
    board = sales.board(
        sales.widget("number", "odd", measure=sales.measure("median", span=span("won")),
                     format="duration"),
        sales.widget("number", "even", measure=sales.measure("median", span=span("won")),
                     where={"field": "source", "op": "=", "value": "call"}),
        sales.widget("number", "avg", measure=sales.measure("avg", span=span("won"))))
    day = 86400
    assert sales.run(board, "odd").value == pytest.approx(2 * day)   # 1, 2, 4 days
    assert sales.run(board, "even").value == pytest.approx(2.5 * day)  # B 1, F 4
    assert float(sales.run(board, "avg").value) == pytest.approx(7 / 3 * day)
    assert sales.count(board, "odd") == 3 and sales.count(board, "even") == 2


def test_a_role_that_reads_its_own_deals_sums_only_those(sales):
    board = sales.board(sales.widget("number", "sum", measure=sales.measure("sum", "amount")),
                        sales.widget("number", "n", measure=sales.measure("count")))
    assert sales.run(board, "sum", "sales").value == Decimal("140.00")   # A 100 + C 40
    assert sales.run(board, "sum").value == Decimal("700.50")
    assert sales.run(board, "n", "sales").value == sales.count(board, "n", "sales") == 3


def test_a_hidden_field_is_never_aggregated_filtered_or_drilled(sales):
    board = sales.board(
        sales.widget("number", "cost", measure=sales.measure("sum", "cost")),
        sales.widget("number", "costly", measure=sales.measure("count"),
                     where={"field": "cost", "op": ">", "value": 50}),
        sales.widget("number", "fine", measure=sales.measure("sum", "amount")))
    assert sales.run(board, "cost", "support") is None
    assert sales.run(board, "costly", "support") is None
    assert sales.run(board, "fine", "support").value == Decimal("700.50")
    assert sales.run(board, "cost").value == Decimal("360.00")
    with pytest.raises(Forbidden):
        sales.count(board, "cost", "support")
    assert [r.widget.name for r in sales.reports.results(board, sales.actor("support"))] == [
        "fine"]


def test_roles_unknown_names_and_bad_parts(sales):
    board = sales.board(sales.widget("number", "n", measure=sales.measure("count"),
                                     roles=("support",)), roles=("support", "sales"))
    assert sales.run(board, "n", "sales") is None
    assert sales.run(board, "n", "support").value == 6
    assert [d.name for d in sales.reports.visible(sales.actor("sales"))] == ["sales"]
    with pytest.raises(NotFound, match='no dashboard "sale"'):
        sales.reports.dashboard("sale", None)
    with pytest.raises(NotFound, match='no widget "m"'):
        sales.count(board, "m")
    with pytest.raises(Forbidden):
        sales.count(board, "n", "sales")
    for bad in ({"part": "whole"}, {"part": "previous"}, {"at": "web"}, {"series": 1}):
        with pytest.raises(InvalidQuery):
            sales.count(board, "n", **bad)


def test_a_median_beside_other_aggregates_and_its_previous_period(sales):
    board = sales.board(
        sales.widget("number", "m", measure=sales.measure("median", "amount"),
                     range="this_month", compare="previous_period"),
        sales.widget("ratio", "margin", format="percent",
                     numerator=sales.measure("sum", "cost"),
                     denominator=sales.measure("sum", "amount"), range="this_month",
                     compare="previous_period"))
    median = sales.run(board, "m")      # created in May: A 100, B 250.50, F 10; April: C 40, D 300
    assert (median.value, median.previous) == (Decimal("100"), Decimal("170"))
    margin = sales.run(board, "margin")   # May: cost 160 / amount 360.50; April: 200 / 340
    assert margin.value == pytest.approx(160 / 360.5)
    assert margin.previous == pytest.approx(200 / 340)
    assert (margin.numerator, margin.denominator) == (Decimal("160.00"), Decimal("360.50"))
    assert sales.total(board, "margin", "cost", part="numerator") == Decimal("160.00")


def test_a_refusal_is_worded_in_the_viewers_language(sales):
    from dataclasses import replace

    board = sales.board(sales.widget("number", "n", measure=sales.measure("count")),
                        roles=("support",))
    with pytest.raises(Forbidden, match=r'Your role \(sales\) may not open the dashboard'):
        sales.reports.dashboard("sales", sales.actor("sales"))
    japanese = replace(sales.actor("sales"), locale="ja")
    with pytest.raises(Forbidden, match="ロール（sales）はダッシュボード「sales」を開けません"):
        sales.reports.drill(board.name, "n", japanese)
