"""Lists summarize by group (`group=`, `agg=`): a table with a row per group, subtotals
for two levels and a total, over the list's filter and the viewer's scope; each group
opens the list of exactly its records; hidden fields can be neither grouped nor summed."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

ENTITIES = {
    "deal": {
        "label": {"en": "Deal"}, "plural": {"en": "Deals"}, "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "amount": {"type": "money"},
                   "cost": {"type": "money"},
                   "source": {"type": "enum", "options": ["web", "call"]},
                   "won": {"type": "boolean"},
                   "closed_on": {"type": "date"},
                   "owner": {"type": "user"}},
        "list": {"columns": ["title", "source", "amount"], "sort": "title",
                 "search": ["title"], "page_size": 50}},
}
ROLES = {"sales": {"*": {"read": "own", "create": True, "update": "own"}},
         "support": {"*": {"read": "all"}, "deal": {"hidden": ["cost"]}}}
DEALS = [("a", "0.10", "1", "web", True, "2026-01-05", True),
         ("b", "0.20", "2", "call", False, "2026-01-20", False),
         ("c", "1000", None, "web", True, "2026-03-02", False),
         ("d", None, "4", "call", None, None, True),
         ("e", "5", "8", "web", False, "2026-03-31", False)]


@pytest.fixture
def app(make_app):
    app = make_app(ENTITIES, None, {"name": "t", "roles": ROLES})
    records = app.extensions["karte"]["records"]
    sales = app.user("sales")
    for title, amount, cost, source, won, closed, mine in DEALS:
        records.create("deal", {"title": title, "amount": amount, "cost": cost,
                                "source": source, "won": won, "closed_on": closed,
                                "owner": sales if mine else None})
    return app


def table(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    found = page.select_one("section.list-grouped table")
    assert found is not None
    return [[cell.get_text(" ", strip=True) for cell in tr.find_all(["th", "td"])]
            for tr in found.select("tr")]


def links(response) -> list[str]:
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return [a["href"] for a in page.select("section.list-grouped tbody a")]


def test_one_level_with_sums_and_a_total_row(app):
    rows = table(app.client().get("/deal/?group=source&agg=sum:amount,avg:amount"))
    assert rows == [["Source", "Count", "Sum of Amount", "Average Amount"],
                    ["Web", "3", "$1,005.10", "$335.03"],
                    ["Call", "2", "$0.20", "$0.20"],
                    ["Total", "5", "$1,005.30", "$251.32"]]


def test_two_levels_with_subtotals_and_the_filter_applies(app):
    rows = table(app.client().get("/deal/?group=source&group=won&agg=sum:amount"))
    assert rows[1:] == [["Web", "Yes", "2", "$1,000.10"], ["Web", "No", "1", "$5.00"],
                        ["Subtotal: Web", "3", "$1,005.10"],
                        ["Call", "No", "1", "$0.20"], ["Call", "(none)", "1", "$0.00"],
                        ["Subtotal: Call", "2", "$0.20"], ["Total", "5", "$1,005.30"]]
    narrowed = table(app.client().get("/deal/?group=source&agg=sum:amount&f.source=web"))
    assert narrowed[1:] == [["Web", "3", "$1,005.10"], ["Total", "3", "$1,005.10"]]


def test_each_group_opens_the_list_of_exactly_its_records(app):
    client = app.client()
    response = client.get("/deal/?group=closed_on:month&group=source")
    rows = table(response)
    assert [r[:3] for r in rows[1:-1] if not r[0].startswith("Subtotal")] == [
        ["Jan 2026", "Web", "1"], ["Jan 2026", "Call", "1"], ["Mar 2026", "Web", "2"],
        ["(none)", "Call", "1"]]
    hrefs = links(response)
    counts = [int(r[2]) for r in rows[1:-1] if not r[0].startswith("Subtotal")]
    assert len(hrefs) == len(counts)
    for href, count in zip(hrefs, counts, strict=True):
        page = BeautifulSoup(client.get(href).get_data(as_text=True), "html.parser")
        assert len(page.select("#list-rows table.list-table tbody tr")) \
            == count, href
        assert "group=" not in href


def test_the_viewers_scope_and_hidden_fields(app):
    own = table(app.client("sales").get("/deal/?group=source&agg=sum:amount"))
    assert own[1:] == [["Web", "1", "$0.10"], ["Call", "1", "$0.00"],
                       ["Total", "2", "$0.10"]]
    refused = app.client("support").get("/deal/?group=source&agg=sum:cost")
    assert refused.status_code == 400
    assert "agg: “sum:cost” is not a summary of Deals" in refused.get_data(as_text=True)


def test_a_bad_group_is_refused_naming_what_may_be_grouped(app):
    response = app.client().get("/deal/?group=title")
    assert response.status_code == 400
    text = BeautifulSoup(response.get_data(as_text=True), "html.parser").get_text(" ")
    assert "group: “title” cannot group Deals" in text and "closed_on:month" in text
    for bad in ("closed_on", "source:month", "owner.created_at:month", "closed_on:fortnight"):
        assert app.client().get(f"/deal/?group={bad}").status_code == 400, bad


def test_the_summary_is_kept_by_paging_and_saved_views_and_offered_in_the_form(app):
    client = app.client()
    page = BeautifulSoup(client.get("/deal/?group=source&agg=sum:amount")
                         .get_data(as_text=True), "html.parser")
    assert "group=source" in page.select_one("th a.sort")["href"]
    assert "agg=sum%3Aamount" in page.select_one("input[name=state]")["value"]
    chosen = page.select_one("details.list-group-by select[name=group] option[selected]")
    assert chosen["value"] == "source"
    assert page.select_one("details.list-group-by").has_attr("open")


def test_the_summary_exports_as_csv_and_xlsx_with_numbers_kept(app):
    import csv
    import io

    from openpyxl import load_workbook

    client = app.client()
    response = client.get("/deal/export.csv?group=source&group=won&agg=sum:amount")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [["Source", "Won", "Count", "Sum of Amount"],
                    ["Web", "Yes", "2", "1000.10"], ["Web", "No", "1", "5.00"],
                    ["Subtotal: Web", "", "3", "1005.10"],
                    ["Call", "No", "1", "0.20"], ["Call", "(none)", "1", "0.00"],
                    ["Subtotal: Call", "", "2", "0.20"], ["Total", "", "5", "1005.30"]]
    raw = client.get("/deal/export.csv?group=source&raw=1").get_data(as_text=True)
    assert raw.lstrip("\ufeff").splitlines()[1:3] == ["web,3", "call,2"]
    book = load_workbook(io.BytesIO(client.get("/deal/export.xlsx?group=source&agg=sum:amount")
                                    .get_data()))
    sheet = book.active
    assert [c.value for c in sheet[2]] == ["Web", 3, 1005.1]
