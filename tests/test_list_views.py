"""List views (SPEC §3.7 `views`, §12 saved views) and the list's own controls: declared
views first, a user's private views, admins' shared views, the columns chooser, the "mine"
toggle, numbered pages and sort indicators."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

ENTITIES = {
    "deal": {
        "label": {"en": "Deal"}, "plural": {"en": "Deals"}, "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "amount": {"type": "money"},
                   "source": {"type": "enum", "options": ["web", "call"]},
                   "owner": {"type": "user"}},
        "list": {"columns": ["title", "source", "owner"], "sort": "title",
                 "search": ["title"], "page_size": 2, "filters": ["source", "owner"]},
        "views": [{"name": "big", "label": {"en": "Big deals", "ja": "大型案件"},
                   "where": {"field": "amount", "op": ">=", "value": 100},
                   "columns": ["title", "amount"], "sort": "-amount"}]},
}
ROLES = {"sales": {"*": {"read": "all", "create": True, "update": "own"}}}


@pytest.fixture
def app(make_app):
    app = make_app(ENTITIES, None, {"name": "t", "roles": ROLES})
    records = app.extensions["karte"]["records"]
    sales = app.user("sales")
    for title, amount, source, owner in [("a", 50, "web", sales), ("b", 500, "call", None),
                                         ("c", 100, "web", sales), ("d", 900, "call", None),
                                         ("e", 10, "web", None)]:
        records.create("deal", {"title": title, "amount": amount, "source": source,
                                "owner": owner})
    return app


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def titles(response) -> list[str]:
    return [a.get_text(strip=True) for a in soup(response).select("tbody tr td a")
            if a["href"].startswith("/deal/")]


def headers(response) -> list[str]:
    return [th.get_text(strip=True).rstrip("▲▼ ") for th in soup(response).select("thead th")
            if not th.get("class") or "pick" not in th["class"]]


def tabs(response) -> list[tuple[str, bool]]:
    return [(a.get_text(" ", strip=True), a.get("aria-current") == "page")
            for a in soup(response).select(".list-view-tabs a")]


def test_a_declared_view_narrows_sorts_and_chooses_columns_and_comes_first(app):
    client = app.client()
    page = client.get("/deal/?view=big")
    assert titles(page) == ["d", "b"] and headers(page) == ["Title", "Amount"]
    assert soup(page).select_one("th[aria-sort]")["aria-sort"] == "descending"
    assert tabs(page) == [("All Deals", False), ("Big deals", True)]
    # the list's own filters apply on top; the view stays in the URL as it is filtered
    fragment = client.get("/deal/?view=big&f.source=web", headers={"HX-Request": "true"})
    assert titles(fragment) == ["c"] and fragment.headers["HX-Push-Url"] == \
        "/deal/?view=big&f.source=web"
    assert client.get("/deal/?view=ja_nai").status_code == 400
    assert tabs(client.get("/deal/")) == [("All Deals", True), ("Big deals", False)]


def test_columns_can_be_chosen_and_the_default_keeps_a_tidy_url(app):
    client = app.client()
    page = client.get("/deal/?cols=title&cols=amount")
    assert headers(page) == ["Title", "Amount"]
    assert "cols=title%2Camount" in page.get_data(as_text=True)
    chooser = soup(client.get("/deal/")).select("details.list-columns input[name=cols]")
    assert [(box["value"], box.has_attr("checked")) for box in chooser] == [
        ("title", True), ("source", True), ("owner", True), ("amount", False)]
    tidy = client.get("/deal/?cols=title,source,owner", headers={"HX-Request": "true"})
    assert tidy.headers["HX-Push-Url"] == "/deal/"
    bad = client.get("/deal/?cols=title,nope")
    assert bad.status_code == 400 and "cols: “nope”" in bad.get_data(as_text=True)


def test_mine_shows_the_records_the_user_owns(app):
    client = app.client("sales")
    assert titles(client.get("/deal/?mine=1")) == ["a", "c"]
    assert soup(client.get("/deal/?mine=1")).select_one("input[name=mine]").has_attr("checked")
    assert titles(app.client().get("/deal/?mine=1")) == []


def test_pages_are_numbered_with_the_current_one_marked(app):
    client = app.client()
    pager = soup(client.get("/deal/?page=2")).select_one("nav.pager")
    items = [li.get_text(strip=True) for li in pager.select("ol.pages li")]
    assert items == ["1", "2", "3"]
    assert pager.select_one("[aria-current=page]").get_text(strip=True) == "2"
    links = {a.get_text(strip=True): a["href"] for a in pager.select("ol.pages a")}
    assert links == {"1": "/deal/", "3": "/deal/?page=3"}
    assert soup(client.get("/deal/?q=a")).select_one("nav.pager") is None


def test_numbered_pages_stop_at_the_capped_count_and_offer_the_last_page(app):
    app.config["KARTE_LIST_COUNT_CAP"] = 3
    pager = soup(app.client().get("/deal/")).select_one("nav.pager")
    items = [li.get_text(strip=True) for li in pager.select("ol.pages li")]
    assert items == ["1", "2", "…", "Last"]
    assert pager.select_one("a[aria-label='Last page']")["href"] == "/deal/?page=last"


def save(client, state: str, name: str, shared: bool = False):
    data = {"state": state, "name": name, **({"shared": "1"} if shared else {})}
    return client.send("/deal/views", data)


def flashes(client) -> list[str]:
    return [p.get_text(" ", strip=True) for p in soup(client.get("/deal/")).select(".flash")]


def test_a_saved_view_is_private_to_its_owner(app):
    sales = app.client("sales")
    response = save(sales, "f.source=call&sort=-amount&page=2", "  Calls  ")
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert parse_qs(target.query) == {"saved": [parse_qs(target.query)["saved"][0]],
                                      "sort": ["-amount"], "f.source": ["call"]}
    opened = sales.get(response.headers["Location"])
    assert titles(opened) == ["d", "b"]
    assert ("Calls", True) in tabs(opened)
    assert tabs(app.client("sales", "other@example.com").get("/deal/")) == [
        ("All Deals", True), ("Big deals", False)]
    assert ("Calls", False) in tabs(sales.get("/deal/"))


def test_views_are_renamed_and_deleted_by_their_owner_only(app):
    sales = app.client("sales")
    id = parse_qs(urlsplit(save(sales, "q=a", "Mine").headers["Location"]).query)["saved"][0]
    other = app.client("sales", "other@example.com")
    assert other.send(f"/deal/views/{id}/rename", {"name": "Stolen"}).status_code == 404
    assert other.send(f"/deal/views/{id}/delete").status_code == 404
    assert sales.send(f"/deal/views/{id}/rename", {"name": "Ours"}).status_code == 303
    assert [t for t, _ in tabs(sales.get("/deal/"))] == ["All Deals", "Big deals", "Ours"]
    save(sales, "q=b", "ours")
    assert flashes(sales)[-1] == "There is already a view with this name; choose another."
    assert sales.send(f"/deal/views/{id}/delete").status_code == 303
    assert [t for t, _ in tabs(sales.get("/deal/"))] == ["All Deals", "Big deals"]
    save(sales, "q=b", "   ")
    assert flashes(sales)[-1] == "Give the view a name."


def test_only_admins_share_views_and_change_shared_ones(app):
    sales = app.client("sales")
    save(sales, "f.source=web", "Web", shared=True)
    assert flashes(sales)[-1] == ("Only an administrator may share a view or change a "
                                  "shared one.")
    assert [t for t, _ in tabs(sales.get("/deal/"))] == ["All Deals", "Big deals"]
    admin = app.client()
    response = save(admin, "f.source=web", "Web leads", shared=True)
    id = parse_qs(urlsplit(response.headers["Location"]).query)["saved"][0]
    assert ("Web leads · shared", False) in tabs(sales.get("/deal/"))
    assert titles(sales.get(f"/deal/?saved={id}&f.source=web")) == ["a", "c"]
    sales.send(f"/deal/views/{id}/delete")
    assert flashes(sales)[-1].startswith("Only an administrator")
    page = soup(sales.get(f"/deal/?saved={id}&f.source=web"))
    assert page.select_one("details.list-view-manage") is None     # not offered either
    assert soup(admin.get(f"/deal/?saved={id}&f.source=web")).select_one(
        "details.list-view-manage")
    assert admin.send(f"/deal/views/{id}/delete").status_code == 303
    assert [t for t, _ in tabs(sales.get("/deal/"))] == ["All Deals", "Big deals"]


def test_the_save_form_carries_the_lists_state_and_refuses_a_bad_one(app):
    client = app.client()
    page = soup(client.get("/deal/?view=big&q=b&page=2&sort=title"))
    state = page.select_one("input[name=state]")
    assert state["form"] == "list-save-view"
    assert parse_qs(state["value"]) == {"view": ["big"], "q": ["b"], "sort": ["title"]}
    assert save(client, "f.nope=1", "Bad").status_code == 400
