"""Ranges and date buckets are the pack's local calendar on every database: with the pack
in Tokyo, a deal created at 2026-03-31 15:30 UTC (April 1st, 00:30 in Tokyo) is April's,
and one created an hour earlier (March 31st, 23:30 in Tokyo) is March's."""

from __future__ import annotations

import datetime as dt

from karte.meta.dashboards import Range
from tests.reports_fixture import Sales, values

UTC = dt.UTC


def test_a_month_boundary_at_midnight_in_tokyo(engine, make_pack):
    sales = Sales(engine, make_pack, timezone="Asia/Tokyo")
    for title, created in (("april", dt.datetime(2026, 3, 31, 15, 30, tzinfo=UTC)),
                           ("march", dt.datetime(2026, 3, 31, 14, 30, tzinfo=UTC))):
        sales.at(created)
        sales.records.create("deal", {"title": title, "closed_on": "2026-04-01"})
    board = sales.board(
        sales.widget("number", "month", measure=sales.measure("count"), range=Range("this_month"),
                     compare="previous_period"),
        sales.widget("chart", "months", chart="bar", measure=sales.measure("count"),
                     group_by=sales.group("created_at", "month"), range=Range("last_12_months")),
        sales.widget("list", "new", range=Range("this_month")))
    now = dt.datetime(2026, 4, 10, tzinfo=UTC)
    result = sales.reports.run(board, board.widget("month"), None, now=now)
    assert (result.value, result.previous) == (1, 1)
    months = values(sales.reports.run(board, board.widget("months"), None, now=now))
    assert (months["2026-03-01"], months["2026-04-01"], len(months)) == (1, 1, 12)
    rows = sales.reports.run(board, board.widget("new"), None, now=now).rows
    assert [r["title"] for r in rows] == ["april"]
    drill = sales.reports.drill("sales", "months", None, at="2026-04-01", now=now)
    assert [r["title"] for r in sales.records.query("deal", drill.condition)] == ["april"]
    # an hour before Tokyo's midnight on March 31st, it is still March there
    early = dt.datetime(2026, 3, 31, 14, 59, tzinfo=UTC)
    assert sales.reports.run(board, board.widget("month"), None, now=early).value == 1
    assert sales.reports.drill("sales", "new", None, now=early).point is None
    march = sales.reports.drill("sales", "new", None, now=early)
    assert [r["title"] for r in sales.records.query("deal", march.condition)] == ["march"]
