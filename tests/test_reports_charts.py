"""Chart, funnel and list widgets against the hand-worked fixture (tests/reports_fixture.py):
groups by option, stage, user, link, one-hop path, yes/no and date buckets, several series,
and that every point drills into a list of exactly the records it counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from karte.meta.dashboards import Range
from karte.meta.model import Text
from karte.store.errors import InvalidQuery
from tests.reports_fixture import Sales, Series, values


@pytest.fixture
def sales(engine, make_pack) -> Sales:
    return Sales(engine, make_pack).fill()


def counts_match(sales: Sales, board, name: str, series: int = 0) -> None:
    """Each point's count is the count of the list its drill-down opens."""
    result = sales.run(board, name)
    for point in result.series[series].points:
        assert sales.count(board, name, at=point.key, series=series) == point.value, point


def test_counts_by_option_in_declared_order_with_no_value_last(sales):
    board = sales.board(sales.widget("chart", "by", chart="bar", group_by=sales.group("source"),
                                     measure=sales.measure("count")))
    result = sales.run(board, "by")
    assert [(p.key, p.value) for p in result.series[0].points] == [
        ("web", 3), ("call", 2), ("", 1)]
    assert result.series[0].points[0].label.get() == "Web"
    assert result.series[0].points[2].label is None and not result.truncated
    counts_match(sales, board, "by")
    assert sales.count(board, "by") == 6


def test_sums_by_stage_show_every_stage_and_drill_to_the_records_summed(sales):
    board = sales.board(sales.widget("chart", "pipe", chart="bar", group_by=sales.group("stage"),
                                     measure=sales.measure("sum", "amount")))
    result = sales.run(board, "pipe")
    assert values(result) == {"new": Decimal("0.00"), "proposal": Decimal("300.00"),
                              "won": Decimal("360.50"), "lost": Decimal("40.00")}
    assert [p.key for p in result.series[0].points] == ["new", "proposal", "won", "lost"]
    for point in result.series[0].points:
        assert sales.total(board, "pipe", "amount", at=point.key) == point.value
    assert sales.count(board, "pipe", at="new") == 0    # E is new, but has no amount


def test_users_and_links_by_name_largest_first_and_a_limit(sales):
    board = sales.board(
        sales.widget("chart", "owner", chart="pie", group_by=sales.group("owner"),
                     measure=sales.measure("count")),
        sales.widget("chart", "cust", chart="bar", group_by=sales.group("customer"),
                     measure=sales.measure("sum", "amount")),
        sales.widget("chart", "top", chart="bar", group_by=sales.group("customer"),
                     measure=sales.measure("sum", "amount"), limit=2))
    owner = sales.run(board, "owner").series[0].points
    assert sorted((p.label or "", p.value) for p in owner) == [("", 3), ("Sales", 3)]
    counts_match(sales, board, "owner")
    customers = sales.run(board, "cust").series[0].points
    assert [(p.label, p.value) for p in customers] == [
        (None, Decimal("310.00")), ("Globex", Decimal("250.50")), ("Acme", Decimal("140.00"))]
    for point in customers:
        assert sales.total(board, "cust", "amount", at=point.key) == point.value
    top = sales.run(board, "top")
    assert [p.label for p in top.series[0].points] == [None, "Globex"] and top.truncated


def test_a_one_hop_path_and_yes_no(sales):
    board = sales.board(
        sales.widget("chart", "seg", chart="bar", group_by=sales.group("customer.segment"),
                     measure=sales.measure("count")),
        sales.widget("chart", "won", chart="pie", group_by=sales.group("won"),
                     measure=sales.measure("count")))
    assert [(p.key, p.value) for p in sales.run(board, "seg").series[0].points] == [
        ("smb", 2), ("enterprise", 2), ("", 2)]
    counts_match(sales, board, "seg")
    won = sales.run(board, "won").series[0].points
    assert [(p.key, p.label, p.value) for p in won] == [
        ("true", None, 3), ("false", None, 2), ("", None, 1)]
    counts_match(sales, board, "won")


def test_date_buckets_show_every_bucket_weeks_from_monday(sales):
    board = sales.board(
        sales.widget("chart", "month", chart="line", group_by=sales.group("created_at", "month"),
                     measure=sales.measure("count"), range=Range("this_quarter")),
        sales.widget("chart", "week", chart="bar", group_by=sales.group("closed_on", "week"),
                     measure=sales.measure("count"), range=Range("this_month")))
    month = sales.run(board, "month").series[0].points
    assert [(p.key, p.value, p.start, p.label) for p in month] == [
        ("2026-04-01", 2, dt.date(2026, 4, 1), None), ("2026-05-01", 3, dt.date(2026, 5, 1),
                                                       None),
        ("2026-06-01", 0, dt.date(2026, 6, 1), None)]
    counts_match(sales, board, "month")
    week = sales.run(board, "week").series[0].points
    assert values(sales.run(board, "week")) == {
        "2026-04-27": 1, "2026-05-04": 1, "2026-05-11": 0, "2026-05-18": 0, "2026-05-25": 0}
    assert week[0].start == dt.date(2026, 4, 27)
    counts_match(sales, board, "week")
    with pytest.raises(InvalidQuery):
        sales.count(board, "week", at="2026-05-05")      # not a bucket's start


def test_several_series_each_with_its_own_where_or_date(sales):
    won = {"field": "won", "op": "=", "value": True}
    lost = {"field": "won", "op": "=", "value": False}
    board = sales.board(
        sales.widget("chart", "split", chart="bar", group_by=sales.group("source"), series=(
            Series(Text.of("Won"), sales.measure("count", where=won)),
            Series(Text.of("Not won"), sales.measure("count", where=lost)))),
        sales.widget("chart", "flow", chart="line", group_by=sales.group("created_at", "month"),
                     range=Range("this_quarter"), series=(
                         Series(Text.of("Created"), sales.measure("count")),
                         Series(Text.of("Closed"), sales.measure("count"), "closed_on"))))
    split = sales.run(board, "split")
    # E (no source) is neither won nor lost: no "no value" group in either series
    assert [values(split, i) for i in (0, 1)] == [{"web": 1, "call": 2},
                                                  {"web": 2, "call": 0}]
    assert split.series[1].label.get() == "Not won"
    counts_match(sales, board, "split", 1)
    flow = sales.run(board, "flow")
    assert [list(values(flow, i).values()) for i in (0, 1)] == [[2, 3, 0], [3, 2, 0]]
    counts_match(sales, board, "flow", 0)
    counts_match(sales, board, "flow", 1)
    with pytest.raises(InvalidQuery):
        sales.count(board, "flow", series=2)


def test_the_funnel_counts_records_that_ever_reached_each_stage(sales):
    board = sales.board(sales.widget("funnel", "f", entity="deal", workflow="pipeline"),
                        sales.widget("funnel", "may", entity="deal", workflow="pipeline",
                                     range=Range("this_month")))
    result = sales.run(board, "f")
    assert [(p.key, p.label.get(), p.value) for p in result.series[0].points] == [
        ("new", "New", 6), ("proposal", "Proposal", 3), ("won", "Won", 3)]  # B skipped it
    counts_match(sales, board, "f")
    assert values(sales.run(board, "may")) == {"new": 3, "proposal": 1, "won": 3}
    counts_match(sales, board, "may")
    assert sales.count(board, "may") == 3
    assert sales.count(board, "f", "sales", at="proposal") == 2      # A and C are theirs
    with pytest.raises(InvalidQuery):
        sales.count(board, "f", at="lost")       # lost stages are not steps


def test_a_list_of_the_first_records_and_how_many_in_all(sales):
    board = sales.board(sales.widget("list", "open", sort="-amount", limit=2,
                                     where={"field": "stage", "op": "!=", "value": "lost"}))
    result = sales.run(board, "open")
    assert [r["title"] for r in result.rows] == ["D", "B"]
    assert set(result.rows[0]) == {"id", "title", "amount", "cost"}
    assert result.total == 5 == sales.count(board, "open")
    support = sales.reports.run(board, board.widget("open"), sales.actor("support"))
    assert "cost" not in support.rows[0]
    mine = sales.reports.run(board, board.widget("open"), sales.actor("sales"))
    assert mine.total == 2 and [r["title"] for r in mine.rows] == ["A", "E"]


def test_options_the_where_rules_out_are_not_shown_as_zeros(sales):
    board = sales.board(sales.widget(
        "chart", "open", chart="bar", group_by=sales.group("stage"),
        measure=sales.measure("count"),
        where={"field": "stage", "op": "not_in", "value": ["won", "lost"]}))
    assert values(sales.run(board, "open")) == {"new": 1, "proposal": 1}


def test_reached_in_python_judges_by_the_current_stage(sales):
    from karte.meta.conditions import Context, Reached, evaluate

    reached = Reached("deal", "pipeline", "stage", ("proposal", "won"))
    ctx = Context.current()
    assert evaluate(reached, {"stage": "won"}, ctx, lambda e, i: None)
    assert not evaluate(reached, {"stage": "new"}, ctx, lambda e, i: None)
    ids = {r["title"] for r in sales.records.query("deal", reached)}
    assert ids == {"A", "B", "C", "D", "F"}      # C moved on to lost, but was in proposal


def test_stage_charts_read_the_board_counters_and_agree_with_the_records(sales, monkeypatch):
    """A stage chart with nothing narrowing it is read from the counters; the answer is
    the one grouping the records gives, a deal without a stage included."""
    from karte.reports import counters
    from karte.store import stage_totals

    deal = sales.records.store.table("deal")
    with sales.engine.begin() as conn:     # a stage emptied behind the service's back
        conn.execute(deal.update().where(deal.c.id == sales.ids["D"]).values(stage=None))
        stage_totals.rebuild(conn, sales.pack, sales.records.store.tables)
    board = sales.board(
        sales.widget("chart", "sum", chart="bar", group_by=sales.group("stage"),
                     measure=sales.measure("sum", "amount")),
        sales.widget("chart", "open", chart="bar", group_by=sales.group("stage"),
                     measure=sales.measure("count"),
                     where={"field": "stage", "op": "not_in", "value": ["won", "lost"]}))
    frame = sales.reports.frame(board.widget("sum"), None)
    assert counters.statement(frame, board.widget("sum")) is not None
    kept = {name: values(sales.run(board, name)) for name in ("sum", "open")}
    assert kept == {"sum": {"new": Decimal("0.00"), "proposal": Decimal("0.00"),
                            "won": Decimal("360.50"), "lost": Decimal("40.00"),
                            "": Decimal("300.00")},
                    "open": {"new": 1, "proposal": 0, "": 1}}
    monkeypatch.setattr(counters, "statement", lambda frame, widget: None)
    assert {name: values(sales.run(board, name)) for name in ("sum", "open")} == kept
    counts_match(sales, board, "open")


def test_a_list_says_when_more_records_match_than_it_counts(sales, monkeypatch):
    from karte.reports import lists

    monkeypatch.setattr(lists, "CAP", 3)
    board = sales.board(sales.widget("list", "all", sort="title", limit=2))
    result = sales.run(board, "all")
    assert (result.total, result.capped, [r["title"] for r in result.rows]) == (3, True,
                                                                                ["A", "B"])
    monkeypatch.setattr(lists, "CAP", 6)
    assert (sales.run(board, "all").total, sales.run(board, "all").capped) == (6, False)


def test_medians_and_averages_per_group(sales):
    board = sales.board(
        sales.widget("chart", "median", chart="bar", group_by=sales.group("source"),
                     measure=sales.measure("median", "amount")),
        sales.widget("chart", "avg", chart="bar", group_by=sales.group("customer.segment"),
                     measure=sales.measure("avg", "amount")))
    assert values(sales.run(board, "median")) == {   # web 40 100 300, call 10 250.50
        "web": Decimal("100"), "call": Decimal("130.25")}
    assert values(sales.run(board, "avg")) == {      # smb 100 40, enterprise 250.50, none 300 10
        "smb": Decimal("70"), "enterprise": Decimal("250.50"), "": Decimal("155")}
    assert sales.count(board, "median", at="call") == 2
    assert sales.count(board, "avg", at="enterprise") == 1     # E has no amount


def test_bars_of_a_link_name_records_only_to_whom_may_read_them(sales):
    board = sales.board(sales.widget("chart", "cust", chart="bar",
                                     group_by=sales.group("customer"),
                                     measure=sales.measure("count")))
    titles = {p.label for p in sales.run(board, "cust", "support").series[0].points}
    assert titles == {"Acme", "Globex", None}
    unseen = sales.run(board, "cust", "viewer").series[0].points
    assert [p.label == (p.key or None) for p in unseen] == [True] * 3   # ids, no titles


def test_one_bucket_and_four_hundred_day_buckets(sales):
    board = sales.board(
        sales.widget("chart", "one", chart="bar", group_by=sales.group("created_at", "month"),
                     measure=sales.measure("count"), range=Range("this_month")),
        sales.widget("chart", "days", chart="line", group_by=sales.group("closed_on", "day"),
                     measure=sales.measure("count"),
                     range=Range(start=dt.date(2025, 4, 10), end=dt.date(2026, 5, 14))))
    assert values(sales.run(board, "one")) == {"2026-05-01": 3}
    days = values(sales.run(board, "days"))
    assert len(days) == 400 and sum(days.values()) == 5
    assert {k: v for k, v in days.items() if v} == {
        "2026-04-01": 1, "2026-04-20": 1, "2026-04-30": 1, "2026-05-03": 1, "2026-05-10": 1}
    for day in ("2025-04-10", "2026-04-20", "2026-04-21", "2026-05-10", "2026-05-14"):
        assert sales.count(board, "days", at=day) == days[day]
