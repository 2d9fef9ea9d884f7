"""Lists on every width (issue 12 "Mobile"): each title has the record's subtitle as a
second line (hidden fields left out, link titles read with the columns' in one query per
target), a saved view's tab stops looking chosen once its filters change, also when htmx
swaps only the rows (the tab bar comes out of band), and the home page's tables are
stacked rows with each value named."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import event

ENTITIES = {
    "customer": {"label": "Customer", "plural": "Customers", "subtitle": ["city"],
                 "fields": {"name": {"type": "string", "required": True},
                            "city": {"type": "string"}}},
    "deal": {"label": "Deal", "plural": "Deals", "title_field": "title",
             "subtitle": ["customer", "secret", "owner"],
             "fields": {"title": {"type": "string", "required": True},
                        "customer": {"type": "link", "to": "customer"},
                        "secret": {"type": "string"},
                        "source": {"type": "enum", "options": ["web", "call"]},
                        "owner": {"type": "user"}},
             "list": {"columns": ["title", "source"], "filters": ["source"]}},
}
ROLES = {"name": "t", "roles": {
    "clerk": {"*": {"read": "all", "create": True, "update": "all"},
              "deal": {"read": "all", "update": "all", "hidden": ["secret"]}}}}


@pytest.fixture
def app(make_app):
    app = make_app(ENTITIES, None, ROLES)
    records = app.extensions["karte"]["records"]
    leeds = records.create("customer", {"name": "Lyons Ltd", "city": "Leeds"})["id"]
    lyon = records.create("customer", {"name": "Lyons SA", "city": "Lyon"})["id"]
    clerk = app.user("clerk")
    records.create("deal", {"title": "Desks", "customer": leeds, "secret": "psst",
                            "source": "web", "owner": clerk})
    records.create("deal", {"title": "Chairs", "customer": lyon, "source": "call"})
    records.create("deal", {"title": "Lamps", "source": "web"})
    return app


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def lines(response) -> dict[str, str | None]:
    """{title: its subtitle line, or None} of each list row."""
    found = {}
    for cell in soup(response).select("tbody td.title"):
        below = cell.select_one(".subtitle")
        found[cell.a.get_text(strip=True)] = " · ".join(
            part.get_text(strip=True) for part in below.select(".sub-part")) if below else None
    return found


def test_each_title_has_the_subtitle_under_it_without_hidden_fields(app):
    assert lines(app.client().get("/deal/")) == {
        "Chairs": "Lyons SA", "Desks": "Lyons Ltd · psst · Clerk", "Lamps": None}
    # the clerk may not see `secret`: it is not in the subtitle either
    clerk = app.client("clerk").get("/deal/")
    assert lines(clerk) == {"Chairs": "Lyons SA", "Desks": "Lyons Ltd · Clerk",
                            "Lamps": None}
    assert "psst" not in clerk.get_data(as_text=True)
    # the line sits under the link, in the title cell
    cell = next(c for c in soup(clerk).select("tbody td.title") if c.a.text == "Desks")
    assert [child.name for child in cell.children if child.name] == ["a", "span"]
    # a field also shown as a column is marked, for wide screens to leave it out
    shown = soup(app.client().get("/deal/?cols=title,customer"))
    desks = next(c for c in shown.select("tbody td.title") if c.a.text == "Desks")
    assert [(p.get_text(), p["class"]) for p in desks.select(".sub-part")] == [
        ("Lyons Ltd", ["sub-part", "col"]), ("psst", ["sub-part"]),
        ("Clerk", ["sub-part"])]
    # a fragment (filter change) has it too
    fragment = app.client().get("/deal/?f.source=call", headers={"HX-Request": "true"})
    assert lines(fragment) == {"Chairs": "Lyons SA"}


def test_subtitle_links_are_read_with_the_columns_not_per_row(app):
    engine = app.extensions["karte"]["engine"]
    client = app.client()
    client.get("/deal/")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        client.get("/deal/")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    customers = [s for s in statements if "customer" in s.lower() and "deal" not in s.lower()]
    assert len(customers) == 1, customers


def tabs(response) -> list[tuple[str, bool]]:
    return [(a.get_text(" ", strip=True), a.get("aria-current") == "page")
            for a in soup(response).select(".list-view-tabs a")]


def test_a_changed_saved_view_is_no_longer_marked_chosen_also_after_an_htmx_swap(app):
    client = app.client()
    saved = client.send("/deal/views", {"state": "f.source=web", "name": "Web"})
    assert saved.status_code == 303
    id = parse_qs(urlsplit(saved.headers["Location"]).query)["saved"][0]
    assert tabs(client.get(f"/deal/?saved={id}&f.source=web")) == [
        ("All Deals", False), ("Web", True)]
    # the filter changed: the rows alone are asked for, with the tab bar out of band
    fragment = client.get(f"/deal/?saved={id}&f.source=call", headers={"HX-Request": "true"})
    bar = soup(fragment).select_one("nav#list-view-tabs")
    assert bar is not None and bar.get("hx-swap-oob") == "true"
    assert tabs(fragment) == [("All Deals", False), ("Web · modified", False)]
    # the address bar keeps the saved view (the first one saved has id 1, never dropped
    # as if it were the first page)
    assert id == "1"
    assert fragment.headers["HX-Push-Url"] == f"/deal/?saved={id}&f.source=call"
    assert "view-changed" in bar.select("a")[1]["class"]
    # back to the saved filters: chosen again; the whole page has no out-of-band bar
    back = client.get(f"/deal/?saved={id}&f.source=web", headers={"HX-Request": "true"})
    assert tabs(back) == [("All Deals", False), ("Web", True)]
    page = soup(client.get(f"/deal/?saved={id}&f.source=call"))
    assert page.select_one("nav#list-view-tabs").get("hx-swap-oob") is None
    assert len(page.select("nav#list-view-tabs")) == 1
    # its rename and delete stay at hand while it is changed
    assert page.select_one("details.list-view-manage") is not None


def test_a_list_without_views_has_no_tab_bar_in_its_fragments(app):
    fragment = app.client().get("/deal/?f.source=call", headers={"HX-Request": "true"})
    assert soup(fragment).select_one("#list-view-tabs") is None
