"""A dashboard tile drawn from a result built by hand (karte.reports.results):
what a manager reads, where every mark links, and that charts are accessible SVG — in
English and Japanese. The tiles of real dashboards over real records: test_web_dashboards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from flask import render_template
from flask_login import login_user

from karte.auth.users import get_user, sign_in
from karte.meta.dashboards import Dashboard, GroupBy, Measure, Range, Series, Widget
from karte.meta.model import Text
from karte.reports.results import Point, Result, SeriesResult
from karte.web.tiles import tile
from tests.test_web_board import ENTITIES, PIPELINE, ROLES


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, pack={**ROLES, "currency": "JPY"})


def draw(app, result: Result, lang: str = "en") -> BeautifulSoup:
    with app.test_request_context(f"/?lang={lang}"):
        html = render_template("_partials/widget.html", t=tile(result))
    return BeautifulSoup(html, "html.parser")


def widget(kind: str, **keys: Any) -> Widget:
    return Widget(name=keys.pop("name", "w1"), kind=kind,
                  label=Text.of({"en": "Won this month", "ja": "今月の受注"}),
                  entity="deal", **keys)


def board(*widgets: Widget) -> Dashboard:
    return Dashboard("sales", Text.of({"en": "Sales", "ja": "営業"}), tuple(widgets))


def drill(href: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(href)
    return parts.path, parse_qs(parts.query, keep_blank_values=True)


def test_a_number_shows_its_value_its_change_and_its_way_to_the_target(app):
    w = widget("number", measure=Measure("sum"), format="money", compare="previous_period",
               target=Decimal("2000000"), range=Range("this_month"))
    soup = draw(app, Result(board(w), w, value=Decimal("1500000"),
                            previous=Decimal("1200000"), change=0.25))

    figure = soup.select_one(".figure a")
    assert figure.get_text(strip=True) == "¥1,500,000"
    assert drill(figure["href"]) == ("/deal/", {"drill": ["sales.w1"]})
    change = soup.select_one(".change")
    assert "change-up" in change["class"] and "▲" in change.get_text()
    assert "25%" in change.get_text() and "¥1,200,000" in change.get_text()
    assert drill(change.a["href"])[1]["part"] == ["previous"]
    fill = soup.select_one(".progress .fill")
    assert fill["width"] == "75.00%"
    assert "75% of the target ¥2,000,000" in soup.select_one(".progress").get_text()
    assert soup.select_one(".widget-period").get_text() == "This month"


def test_a_number_with_no_records_says_so_in_japanese(app):
    w = widget("number", measure=Measure("avg"), range=Range("this_month"))
    soup = draw(app, Result(board(w), w, value=None), "ja")

    assert soup.select_one(".widget-empty").get_text(strip=True) == "この期間のレコードはありません"
    assert soup.h2.get_text(strip=True) == "今月の受注"


def test_a_ratio_shows_the_percent_and_links_each_part(app):
    w = widget("ratio", numerator=Measure("count"), denominator=Measure("count"),
               format="percent")
    soup = draw(app, Result(board(w), w, value=0.25, numerator=3, denominator=12))

    assert soup.select_one(".figure").get_text(strip=True) == "25%"
    parts = soup.select(".ratio-parts a")
    assert [a.get_text() for a in parts] == ["3", "12"]
    assert [drill(a["href"])[1]["part"] for a in parts] == [["numerator"], ["denominator"]]


def test_every_bar_links_to_its_records_and_the_chart_is_described(app):
    w = widget("chart", chart="bar", measure=Measure("sum"), format="money",
               group_by=GroupBy("stage", None), target=Decimal("500"))
    points = (Point("new", Text.of({"en": "New", "ja": "新規"}), Decimal("300")),
              Point("won", Text.of({"en": "Won", "ja": "受注"}), Decimal("100")),
              Point("", None, Decimal("0")))
    soup = draw(app, Result(board(w), w, series=(SeriesResult(None, points),)), "ja")

    svg = soup.select_one("svg.chart-svg")
    assert svg["role"] == "group"              # of links: an "img" may hold no link
    title, desc = soup.find(id=svg["aria-labelledby"]), soup.find(id=svg["aria-describedby"])
    assert title.name == "title" and "新規: ￥300" in desc.get_text()
    bars = svg.select("a rect.bar")
    assert [b.parent["aria-label"] for b in bars] == ["新規: ￥300", "受注: ￥100", "値なし: ￥0"]
    assert [drill(b.parent["href"])[1]["at"] for b in bars] == [["new"], ["won"], [""]]
    assert [b["width"] for b in bars] == ["60.00%", "20.00%", "0.00%"]
    assert svg.select_one("line.target")["x1"] == "100.00%"
    table = soup.select_one("details.chart-data table")
    assert [r.th.get_text() for r in table.tbody.select("tr")] == ["新規", "受注", "値なし"]
    assert table.tbody.select("a")[0].get_text() == "￥300"


def test_date_buckets_are_columns_labelled_by_their_start(app):
    w = widget("chart", chart="bar", measure=Measure("count"),
               group_by=GroupBy("created_at", None, "month"), range=Range("last_12_months"))
    points = tuple(Point(f"2026-{m:02d}-01", None, m, dt.date(2026, m, 1))
                   for m in range(1, 13))
    soup = draw(app, Result(board(w), w, series=(SeriesResult(None, points),)))

    columns = soup.select("svg rect.bar")
    assert len(columns) == 12
    assert float(columns[11]["height"]) > float(columns[0]["height"]) > 0
    assert [t.get_text() for t in soup.select("svg text.cat")][:2] == ["Jan", "Mar"]
    assert soup.select_one("details.chart-data tbody th").get_text() == "Jan 2026"


def test_a_line_of_two_series_links_each_point_to_its_series(app):
    w = widget("chart", chart="line", group_by=GroupBy("created_at", None, "week"),
               series=(Series(Text.of("Created"), Measure("count")),
                       Series(Text.of("Resolved"), Measure("count"))))
    weeks = [dt.date(2026, 3, 2), dt.date(2026, 3, 9)]
    one = SeriesResult(Text.of("Created"), tuple(Point(d.isoformat(), None, 4, d)
                                                 for d in weeks))
    two = SeriesResult(Text.of("Resolved"), tuple(Point(d.isoformat(), None, 2, d)
                                                  for d in weeks))
    soup = draw(app, Result(board(w), w, series=(one, two)))

    points = soup.select("svg circle.point")
    assert len(points) == 4 and len(soup.select("svg line.line")) == 2
    series = [drill(c.parent["href"])[1].get("series") for c in points]
    assert series == [None, None, ["1"], ["1"]]
    assert [s.get_text(strip=True) for s in soup.select(".legend-item")] == ["Created",
                                                                            "Resolved"]


def test_pie_slices_and_legend_say_each_share(app):
    w = widget("chart", chart="pie", measure=Measure("count"),
               group_by=GroupBy("priority", None))
    points = (Point("high", Text.of("High"), 3), Point("low", Text.of("Low"), 1))
    soup = draw(app, Result(board(w), w, series=(SeriesResult(None, points),)))

    assert len(soup.select("svg.pie-svg a path.slice")) == 2
    assert [li.select_one(".val").get_text() for li in soup.select(".pie-legend li")] == [
        "3 · 75%", "1 · 25%"]


def test_funnel_steps_say_their_share_of_the_first(app):
    w = Widget(name="funnel", kind="funnel", label=Text.of("Funnel"), entity="deal",
               workflow="pipeline")
    steps = (Point("new", Text.of("New"), 10), Point("proposal", Text.of("Proposal"), 4),
             Point("won", Text.of("Won"), 1))
    soup = draw(app, Result(board(w), w, series=(SeriesResult(None, steps),)))

    said = [t.get_text() for t in soup.select("svg text.val")]
    assert said == ["10 · 100%", "4 · 40%", "1 · 10%"]
    hrefs = [drill(a["href"]) for a in soup.select("svg a")]
    assert hrefs[1] == ("/deal/", {"drill": ["sales.funnel"], "at": ["proposal"]})


def test_a_chart_with_nothing_to_draw_says_so(app):
    w = widget("chart", chart="bar", measure=Measure("count"),
               group_by=GroupBy("stage", None), range=Range("this_quarter"))
    soup = draw(app, Result(board(w), w, series=(SeriesResult(None, ()),)))

    assert soup.select_one(".widget-empty").get_text() == "No records in this period"
    assert soup.svg is None


def test_the_refresh_link_is_the_widget_page_htmx_swaps_in_place(app):
    w = widget("number", measure=Measure("count"))
    soup = draw(app, Result(board(w), w, value=7))

    refresh = soup.select_one("a.widget-refresh")
    assert refresh["href"] == refresh["hx-get"] == "/dashboard/sales/w1"
    assert refresh["hx-target"] == "#" + soup.article["id"]
    assert refresh["hx-swap"] == "outerHTML"
    assert soup.find(style=True) is None        # the CSP forbids inline styles


def test_a_list_says_how_many_more_there_are_and_when_it_stopped_counting(app):
    w = Widget(name="top", kind="list", label=Text.of("Top"), entity="deal",
               columns=("amount",))
    rows = ({"id": 1, "title": "Big", "amount": Decimal("900")},)
    with app.test_request_context("/"):
        engine = app.extensions["karte"]["engine"]
        login_user(sign_in(engine, get_user(engine, app.user("admin"))))
        soup = BeautifulSoup(render_template("_partials/widget.html", t=tile(
            Result(board(w), w, rows=rows, total=1000, capped=True))), "html.parser")

    assert [td.get_text(strip=True) for td in soup.select("tbody td")] == ["Big", "¥900"]
    assert soup.select_one(".see-all").get_text(strip=True) == "See all (1,000+)"
    assert drill(soup.select_one(".see-all a")["href"]) == ("/deal/", {"drill": ["sales.top"]})


def test_a_period_of_dates_is_said_from_and_to(app):
    w = widget("number", measure=Measure("count"),
               range=Range(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)))
    soup = draw(app, Result(board(w), w, value=3), "ja")

    assert soup.select_one(".widget-period").get_text() == "2026/03/01 – 2026/03/31"
