"""Dashboard pages over real records (SPEC §12, docs/dashboards.md "Pages"): the page and a
widget alone (fragment for htmx), 404/403 and widgets left out by role, the drill-down
list reached through the page's own links counting what the widget says, the chip, home
and the menu."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from tests.test_web_board import ENTITIES, PIPELINE, ROLES, add_deal, services

SALES = {
    "label": {"en": "Sales", "ja": "営業"},
    "roles": ["admin", "sales", "manager"],
    "widgets": [
        {"name": "won", "kind": "number", "label": {"en": "Won deals", "ja": "受注件数"},
         "entity": "deal", "agg": "count",
         "where": {"field": "stage", "op": "=", "value": "won"}},
        {"name": "by_stage", "kind": "chart", "chart": "bar", "label": "Deals by stage",
         "entity": "deal", "agg": "count", "group_by": "stage"},
        {"name": "amounts", "kind": "chart", "chart": "pie", "label": "Amount by priority",
         "entity": "deal", "agg": "sum", "field": "amount", "group_by": "priority"},
        {"name": "funnel", "kind": "funnel", "label": "Funnel", "workflow": "pipeline"},
        {"name": "rate", "kind": "ratio", "label": "High priority share", "entity": "deal",
         "numerator": {"agg": "count",
                       "where": {"field": "priority", "op": "=", "value": "high"}},
         "denominator": {"agg": "count"}},
        {"name": "biggest", "kind": "list", "label": "Biggest deals", "entity": "deal",
         "sort": "-amount", "limit": 2, "columns": ["title", "amount"]},
        {"name": "managers", "kind": "number", "label": "Managers only", "entity": "deal",
         "agg": "sum", "field": "amount", "roles": ["manager"]},
    ]}
SECRET = {"label": "Secret", "roles": ["manager"],
          "widgets": [{"kind": "number", "label": "All", "entity": "deal", "agg": "count"}]}


@pytest.fixture
def app(make_app):
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES,
                   dashboards={"sales": SALES, "secret": SECRET})
    add_deal(app, "Small", amount="100", priority="low")
    add_deal(app, "Big", "contacted", amount="900", priority="high")
    add_deal(app, "Won one", "won", amount="500", priority="high")
    add_deal(app, "Won two", "won", amount="300")
    return app


def page(client, url: str, status: int = 200, **kwargs) -> BeautifulSoup:
    response = client.get(url, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def listed(client, href: str) -> int:
    """How many records the list page at `href` shows (all on one page here)."""
    return len(page(client, href).select(".list-table tbody tr"))


def tiles(soup: BeautifulSoup) -> dict[str, BeautifulSoup]:
    return {t["id"].removeprefix("w-"): t for t in soup.select("article.widget")}


def test_the_page_shows_every_widget_the_role_may_see(app):
    soup = page(app.client("admin"), "/dashboard/sales")

    assert soup.h1.get_text(strip=True) == "Sales"
    shown = tiles(soup)
    assert list(shown) == ["won", "by_stage", "amounts", "funnel", "rate", "biggest",
                           "managers"]
    assert shown["won"].select_one(".figure").get_text(strip=True) == "2"
    assert shown["rate"].select_one(".figure").get_text(strip=True) == "50%"
    assert [r.td.get_text(strip=True) for r in shown["biggest"].select("tbody tr")] == [
        "Big", "Won one"]
    assert shown["biggest"].select_one(".see-all").get_text(strip=True) == "See all (4)"


def test_a_widget_for_other_roles_is_left_out_and_alone_refused(app):
    client = app.client("sales")

    assert "managers" not in tiles(page(client, "/dashboard/sales"))
    assert client.get("/dashboard/sales/managers").status_code == 403


def test_unknown_dashboard_or_widget_is_404_and_another_roles_is_403(app):
    client = app.client("sales")

    assert client.get("/dashboard/nope").status_code == 404
    assert client.get("/dashboard/sales/nope").status_code == 404
    assert client.get("/dashboard/secret").status_code == 403


def test_a_widget_alone_is_a_fragment_for_htmx_and_a_page_otherwise(app):
    client = app.client("admin")

    fragment = client.get("/dashboard/sales/won", headers={"HX-Request": "true"})
    whole = client.get("/dashboard/sales/won")

    assert "HX-Request" in fragment.headers["Vary"]
    soup = BeautifulSoup(fragment.get_data(as_text=True), "html.parser")
    assert soup.html is None and soup.article["id"] == "w-won"
    assert BeautifulSoup(whole.get_data(as_text=True), "html.parser").select_one(
        "main article#w-won") is not None


@pytest.mark.parametrize("widget", ["won", "by_stage", "funnel", "rate"])
def test_every_link_of_a_widget_lists_as_many_records_as_it_says(app, widget):
    client = app.client("admin")
    tile = tiles(page(client, "/dashboard/sales"))[widget]
    links = [a for a in tile.select("a[href]") if "drill=" in a["href"]
             and re.fullmatch(r"\d+", a.get_text(strip=True))]

    assert links
    for link in links:
        assert listed(client, link["href"]) == int(link.get_text(strip=True)), link["href"]


def test_every_bar_links_to_its_stage_and_counts_its_records(app):
    client = app.client("admin")
    chart = tiles(page(client, "/dashboard/sales"))["by_stage"]
    bars = chart.select("svg a")

    counted = {}
    for bar in bars:
        at = parse_qs(urlsplit(bar["href"]).query)["at"][0]
        counted[at] = listed(client, bar["href"])
    assert counted == {"new": 1, "contacted": 1, "proposal": 0, "invoiced": 0, "won": 2,
                       "lost": 0}          # every stage, in order, empty ones too


def test_the_drilled_list_shows_a_chip_that_removes_it_and_keeps_it_when_sorting(app):
    client = app.client("admin")
    bar = next(a["href"] for a in tiles(page(client, "/dashboard/sales"))["by_stage"].select(
        "svg a") if a["href"].endswith("at=won"))
    soup = page(client, bar)

    chip = soup.select_one(".list-drill")
    assert chip.select_one(".chip").get_text(strip=True) == "Sales › Deals by stage › Won"
    assert "drill" not in chip.a["href"] and listed(client, chip.a["href"]) == 4
    sort = soup.select_one(".list-table thead th a")["href"]
    assert "drill=sales.by_stage" in sort and listed(client, sort) == 2
    assert {i["name"] for i in soup.select("#list-filters input[type=hidden]")} >= {
        "drill", "at"}


def test_a_bad_drill_is_a_400_and_another_entity_s_drill_too(app):
    client = app.client("admin")

    assert client.get("/deal/?drill=nonsense").status_code == 400
    assert client.get("/customer/?drill=sales.won").status_code == 400


def test_home_shows_the_first_dashboard_after_the_work_queue(app):
    soup = page(app.client("sales"), "/")

    section = soup.select_one(".home-dashboard")
    assert section.h2.a["href"] == "/dashboard/sales"
    assert soup.select(".home, .home-dashboard")[0]["class"] == ["home"]   # queue first
    # each tile loads itself when seen (home runs no dashboard query), a link without JS
    pending = section.select_one("article#home-sales-won")
    assert pending["hx-trigger"] == "revealed" and pending.h3.a["href"] == pending["hx-get"]
    loaded = app.client("sales").get(pending["hx-get"], headers={"HX-Request": "true"})
    fragment = BeautifulSoup(loaded.get_data(as_text=True), "html.parser")
    assert fragment.select_one("article#w-won h3") is not None       # h3 under home's h2
    assert fragment.find("html") is None                           # the tile alone


def test_the_menu_lists_the_dashboards_the_role_may_open(app):
    sales = page(app.client("sales"), "/").select_one(".mainnav")
    manager = page(app.client("manager"), "/").select_one(".mainnav")

    assert [a["href"] for a in sales.select("a.dashboard-link")] == ["/dashboard/sales"]
    assert [a["href"] for a in manager.select("a.dashboard-link")] == [
        "/dashboard/sales", "/dashboard/secret"]


def test_a_declared_menu_serves_its_dashboard_items(make_app):
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, dashboards={"sales": SALES},
                   pack={**ROLES, "nav": [{"label": "Sales",
                                           "items": ["deal", "dashboard:sales"]}]})
    soup = page(app.client("sales"), "/dashboard/sales")

    link = soup.select_one(".mainnav a.dashboard-link")
    assert link["href"] == "/dashboard/sales" and link["aria-current"] == "page"


def test_the_page_reads_in_japanese(app):
    soup = page(app.client("admin"), "/dashboard/sales?lang=ja")

    assert soup.h1.get_text(strip=True) == "営業"
    assert tiles(soup)["won"].h2.get_text(strip=True) == "受注件数"
    assert services(app)["pack"].dashboards["sales"].widgets[0].name == "won"


TRENDS = {
    "label": "Trends",
    "widgets": [
        {"name": "new", "kind": "number", "label": "New deals", "entity": "deal",
         "agg": "count", "range": "this_month", "compare": "previous_period"},
        {"name": "daily", "kind": "chart", "chart": "line", "label": "Per day",
         "entity": "deal", "group_by": "created_at:day", "range": "last_7_days",
         "series": [{"label": "All", "agg": "count"},
                    {"label": "High", "agg": "count",
                     "where": {"field": "priority", "op": "=", "value": "high"}}]}]}


def test_series_points_and_the_previous_period_list_what_they_count(make_app):
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES,
                   dashboards={"trends": TRENDS})
    add_deal(app, "One", priority="high")
    add_deal(app, "Two")
    client = app.client("admin")
    shown = tiles(page(client, "/dashboard/trends"))

    assert shown["new"].select_one(".figure").get_text(strip=True) == "2"
    previous = shown["new"].select_one(".change a")["href"]
    assert "part=previous" in previous and listed(client, previous) == 0
    points = shown["daily"].select("svg a")
    said = {a["href"]: int(a["aria-label"].rsplit(": ", 1)[1]) for a in points}
    assert sorted(said.values())[-2:] == [1, 2] and len(said) == len(points)
    for href, count in said.items():
        assert listed(client, href) == count, href
    chip = page(client, max(said, key=said.get)).select_one(".list-drill .chip")
    assert chip.get_text(strip=True).startswith("Trends › Per day › All › ")


def test_the_export_of_a_drilled_list_holds_the_same_records(app):
    client = app.client("admin")
    won = tiles(page(client, "/dashboard/sales"))["won"].select_one(".figure a")["href"]
    export = page(client, won).select_one("a.list-export")["href"]

    assert "drill=sales.won" in export
    text = client.get(export).get_data(as_text=True)
    assert "Won one" in text and "Won two" in text and "Big" not in text
    assert len(text.strip().splitlines()) == 1 + 2         # the header and the two won


def test_a_widget_reading_a_field_hidden_from_the_role_is_left_out(make_app):
    roles = {**ROLES, "roles": {**ROLES["roles"], "sales": {
        "*": {"read": "all", "create": True, "update": "own", "delete": False},
        "deal": {"read": "all", "hidden": ["amount"]}}}}
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, pack=roles,
                   dashboards={"sales": SALES})
    add_deal(app, "Big", amount="900", priority="high")

    sales, admin = app.client("sales"), app.client("admin")

    assert "amounts" not in tiles(page(sales, "/dashboard/sales"))
    assert "amounts" in tiles(page(admin, "/dashboard/sales"))
    assert sales.get("/dashboard/sales/amounts").status_code == 403
    assert "$900" not in page(sales, "/dashboard/sales").get_text()
