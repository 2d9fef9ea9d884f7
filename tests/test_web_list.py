"""The list page /<entity>/ (SPEC §3.3, §11): columns, search, filters, sort, pages with a
capped count, htmx fragments, CSV export and bulk delete — seen as a user sees them."""

from __future__ import annotations

import csv
import io

import pytest
from bs4 import BeautifulSoup

ENTITIES = {
    "customer": {"label": {"en": "Customer", "ja": "顧客"}, "plural": {"en": "Customers"},
                 "fields": {"name": {"type": "string", "required": True}}},
    "deal": {
        "label": {"en": "Deal", "ja": "商談"}, "plural": {"en": "Deals", "ja": "商談"},
        "title_field": "title",
        "fields": {
            "title": {"type": "string", "required": True, "label": {"en": "Deal name"}},
            "customer": {"type": "link", "to": "customer", "on_delete": "restrict"},
            "amount": {"type": "money"},
            "source": {"type": "enum", "options": [
                {"key": "web", "label": {"en": "Website", "ja": "Webサイト"}},
                {"key": "call", "label": "Phone call"}]},
            "tags": {"type": "multi_enum", "options": ["vip", "new"]},
            "hot": {"type": "boolean"},
            "owner": {"type": "user"},
            "close_on": {"type": "date"},
            "note": {"type": "text"}},
        "list": {"columns": ["title", "customer", "stage", "amount", "owner"],
                 "sort": "title", "search": ["title"], "page_size": 3,
                 "filters": ["stage", "owner", "source", "tags", "hot", "amount",
                             "close_on", "customer", "note"]}},
}
PIPELINE = {"entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}
ROLES = {"sales": {"*": {"read": "own", "create": True, "update": "own", "delete": "own"}},
         "clerk": {"*": {"read": "all", "create": False, "update": "own", "delete": "own"}},
         "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}},
         "blind": {"customer": {"read": "all"}}}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, {"name": "t", "roles": ROLES})


def add(app, entity, values, stage=None):
    made = app.extensions["karte"]["records"].create(entity, values)
    if stage:
        app.extensions["karte"]["workflows"].move(entity, made["id"], stage)
    return made


@pytest.fixture
def deals(app):
    """Two customers and five deals of different kinds (titles a…e)."""
    admin = app.user("admin")
    acme = add(app, "customer", {"name": "Acme"})
    kobe = add(app, "customer", {"name": "神戸商事"})
    rows = [("a-web", acme, 100, "web", ["vip"], True, admin, "2025-01-10", "call back"),
            ("b-call", acme, 250, "call", ["new"], False, None, "2025-02-20", None),
            ("c-kobe", kobe, 900, "web", ["vip", "new"], False, admin, None, "=SUM(A1)"),
            ("d-none", kobe, None, None, [], True, None, "2025-03-31", None),
            ("e-big", acme, 5000, "call", [], None, admin, "2025-12-01", "big one")]
    made = {}
    for title, customer, amount, source, tags, hot, owner, close_on, note in rows:
        made[title] = add(app, "deal", {
            "title": title, "customer": customer["id"], "amount": amount, "source": source,
            "tags": tags, "hot": hot, "owner": owner, "close_on": close_on, "note": note},
            stage="won" if title in ("b-call", "e-big") else None)
    return {"acme": acme, "kobe": kobe, "admin": admin, **made}


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def titles(response) -> list[str]:
    """The record titles the list shows, top to bottom."""
    return [row.select("td a")[0].get_text(strip=True)
            for row in soup(response).select("table.list-table tbody tr")]


def cells(response, title: str) -> list[str]:
    for row in soup(response).select("table.list-table tbody tr"):
        texts = [td.get_text(" ", strip=True) for td in row.select("td")]
        if title in texts:
            return texts
    raise AssertionError(f"{title} is not listed")


def problems(response) -> str:
    return soup(response).select_one("[role=alert]").get_text(" ", strip=True)


# ---------------------------------------------------------------- columns and values

def test_list_shows_configured_columns_with_labels_and_values(app, deals):
    client = app.client()
    page = client.get("/deal/")
    assert page.status_code == 200
    headers = [th.get_text(strip=True).rstrip("▲▼ ")
               for th in soup(page).select("table.list-table thead th")][1:]
    assert headers == ["Deal name", "Customer", "Stage", "Amount", "Owner"]
    assert cells(page, "a-web")[1:] == ["a-web", "Acme", "New", "$100.00", "Admin"]
    link = soup(page).find("a", string="a-web")
    assert link["href"] == f"/deal/{deals['a-web']['id']}"
    customer = soup(page).find("a", string="Acme")
    assert customer["href"] == f"/customer/{deals['acme']['id']}"


def test_new_button_only_for_roles_that_may_create(app, deals):
    admin_page = soup(app.client().get("/deal/"))
    assert admin_page.find("a", string="New Deal")["href"] == "/deal/new"
    assert soup(app.client("viewer").get("/deal/")).find("a", string="New Deal") is None


def test_japanese_labels_follow_the_ui_language(app, deals):
    page = app.client().get("/deal/?lang=ja&f.source=web")
    assert soup(page).h1.get_text(strip=True) == "商談"
    options = [o.get_text(strip=True) for o in soup(page).select("select[name='f.source'] option")]
    assert "Webサイト" in options


# ---------------------------------------------------------------- search and filters

def test_search_box_narrows_the_list_and_keeps_its_text(app, deals):
    page = app.client().get("/deal/?q=KOBE")
    assert titles(page) == ["c-kobe"]
    assert soup(page).select_one("#list-filters input[name=q]")["value"] == "KOBE"


FILTERED = [
    ("f.stage=won", ["b-call", "e-big"]),
    ("f.source=web", ["a-web", "c-kobe"]),
    ("f.source.in=call,web&f.source.ne=web", ["b-call", "e-big"]),
    ("f.tags=vip", ["a-web", "c-kobe"]),
    ("f.hot=1", ["a-web", "d-none"]),
    ("f.hot=0", ["b-call", "c-kobe"]),
    ("f.owner=me", ["a-web", "c-kobe", "e-big"]),
    ("f.owner.empty=1", ["b-call", "d-none"]),
    ("f.amount.gte=250&f.amount.lte=900", ["b-call", "c-kobe"]),
    ("f.amount.gt=250&f.amount.lte=", ["c-kobe", "e-big"]),
    ("f.close_on.gte=2025-02-01&f.close_on.lt=2025-12-01", ["b-call", "d-none"]),
    ("f.close_on.empty=1", ["c-kobe"]),
    ("f.note.contains=BIG", ["e-big"]),
]


def test_each_kind_of_filter(app, deals):
    client = app.client()
    for query, expected in FILTERED:
        shown = titles(client.get(f"/deal/?{query}&page=1")) + titles(
            client.get(f"/deal/?{query}&page=2"))
        assert shown == expected, query


def test_link_and_user_filters_offer_readable_choices(app, deals):
    client = app.client()
    page = client.get(f"/deal/?f.customer={deals['kobe']['id']}")
    assert titles(page) == ["c-kobe", "d-none"]
    select = soup(page).select_one("select[name='f.customer']")
    assert [o.get_text(strip=True) for o in select.select("option")] == [
        "Any", "Acme", "神戸商事"]
    assert select.select_one("option[selected]").get_text(strip=True) == "神戸商事"
    owners = soup(page).select("select[name='f.owner'] option")
    assert [o.get_text(strip=True) for o in owners][:3] == ["Any", "Me", "Admin"]
    page = client.get(f"/deal/?f.owner={deals['admin']}")
    assert titles(page) == ["a-web", "c-kobe", "e-big"]


def test_a_filter_that_matches_nothing_offers_to_clear(app, deals):
    page = app.client().get("/deal/?f.amount.gte=100000")
    empty = soup(page).select_one(".list-empty")
    assert "No Deals match" in empty.get_text(" ", strip=True)
    assert empty.a["href"] == "/deal/"
    assert soup(page).table is None


def test_an_empty_list_says_so(app):
    page = app.client().get("/deal/")
    assert "No Deals yet." in soup(page).select_one(".list-empty").get_text(" ", strip=True)


# ---------------------------------------------------------------- sort

def test_headers_sort_both_ways(app, deals):
    client = app.client()
    by_amount = client.get("/deal/?sort=amount&f.amount.gte=0")
    assert titles(by_amount) == ["a-web", "b-call", "c-kobe"]
    header = soup(by_amount).find("th", attrs={"aria-sort": "ascending"})
    assert header.a["href"] == "/deal/?sort=-amount&f.amount.gte=0"
    assert titles(client.get(header.a["href"])) == ["e-big", "c-kobe", "b-call"]
    by_customer = client.get("/deal/?sort=-customer")
    assert titles(by_customer)[:2] == ["d-none", "c-kobe"]   # 神戸商事 after Acme


def test_unsortable_or_unknown_names_are_refused_with_400(app, deals):
    client = app.client()
    for query, says in [("sort=amout", 'cannot be sorted by "amout"'),
                        ("sort=note", 'cannot be sorted by "note"'),
                        ("f.amout=1", "f.amout"),
                        ("f.amount.about=1", "f.amount.about"),
                        ("f.amount.gte=abc", 'f.amount.gte: "abc" does not fit'),
                        ("page=-1", "page")]:
        page = client.get(f"/deal/?{query}")
        assert page.status_code == 400, query
        assert says in problems(page), query
        assert soup(page).select_one("form#list-filters") is not None


# ---------------------------------------------------------------- pages and the count cap

def test_pages_show_where_you_are_and_link_both_ways(app, deals):
    client = app.client()
    first = client.get("/deal/")
    assert "1–3 of 5" in soup(first).select_one(".list-summary").get_text()
    assert soup(first).find("a", rel="next")["href"] == "/deal/?page=2"
    assert soup(first).find("a", rel="prev") is None
    second = client.get("/deal/?page=2")
    assert titles(second) == ["d-none", "e-big"]
    assert "4–5 of 5" in soup(second).select_one(".list-summary").get_text()
    assert soup(second).find("a", rel="prev")["href"] == "/deal/"
    assert soup(second).find("a", rel="next") is None


def test_a_page_past_the_end_is_an_empty_state_not_an_error(app, deals):
    page = app.client().get("/deal/?page=9")
    assert page.status_code == 200
    note = soup(page).select_one(".list-empty")
    assert "past the end" in note.get_text() and note.a["href"] == "/deal/"


def test_the_count_stops_at_its_cap(make_app):
    app = make_app(ENTITIES, {"pipeline": PIPELINE}, config={"KARTE_LIST_COUNT_CAP": 4})
    for n in range(7):
        add(app, "deal", {"title": f"deal {n}"})
    client = app.client()
    assert "1–3 of 4+" in soup(client.get("/deal/")).select_one(".list-summary").get_text()
    last = client.get("/deal/?page=3")
    assert titles(last) == ["deal 6"]
    assert "7–7 of 7" in soup(last).select_one(".list-summary").get_text()


# ---------------------------------------------------------------- htmx

def test_htmx_gets_the_rows_alone_and_the_clean_url_to_push(app, deals):
    client = app.client()
    fragment = client.get("/deal/?q=e&f.amount.lte=&page=1", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert soup(fragment).find("html") is None and soup(fragment).find("form") is None
    assert titles(fragment) == ["a-web", "c-kobe", "d-none"]
    assert fragment.headers["HX-Push-Url"] == "/deal/?q=e"
    assert "HX-Request" in fragment.headers["Vary"]
    whole = client.get("/deal/?q=e")
    assert whole.headers["Vary"] and "HX-Request" in whole.headers["Vary"]
    assert soup(whole).find("html") is not None
    search = soup(whole).select_one("#list-filters input[name=q]")
    assert search["hx-trigger"] == "input changed delay:300ms, search"
    assert search["hx-get"] == "/deal/" and search.find_parent("form")["method"] == "get"
    restored = client.get("/deal/?q=e", headers={"HX-Request": "true",
                                                 "HX-History-Restore-Request": "true"})
    assert soup(restored).find("html") is not None


def test_an_htmx_error_is_a_fragment_with_400(app, deals):
    page = app.client().get("/deal/?sort=zzz", headers={"HX-Request": "true"})
    assert page.status_code == 400 and soup(page).find("html") is None
    assert 'cannot be sorted by "zzz"' in problems(page)


# ---------------------------------------------------------------- export

def exported(response) -> list[list[str]]:
    body = response.get_data().decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_export_is_the_current_view_in_plain_text(app, deals):
    client = app.client()
    page = client.get("/deal/?f.source=web")
    link = soup(page).find("a", string="Export CSV")["href"]
    assert link == "/deal/export.csv?f.source=web"
    response = client.get(link + "&sort=-amount")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="deal-')
    rows = exported(response)
    header = rows[0]
    assert header[:4] == ["ID", "Deal name", "Customer", "Amount"]
    assert [row[1] for row in rows[1:]] == ["c-kobe", "a-web"]
    kobe = dict(zip(header, rows[1], strict=True))
    assert (kobe["Customer"], kobe["Amount"], kobe["Source"], kobe["Tags"], kobe["Owner"],
            kobe["Stage"], kobe["Hot"]) == ("神戸商事", "900.00", "Website", "Vip; New",
                                            "Admin", "New", "No")
    assert kobe["Note"] == "'=SUM(A1)"


def test_export_streams_every_batch(app, monkeypatch):
    from karte.web import export

    monkeypatch.setattr(export, "EXPORT_BATCH", 2)
    for n in range(5):
        add(app, "deal", {"title": f"+deal {n}"})
    rows = exported(app.client().get("/deal/export.csv"))
    assert [row[1] for row in rows[1:]] == [f"'+deal {n}" for n in range(5)]


def test_export_refuses_a_bad_view_with_400(app, deals):
    response = app.client().get("/deal/export.csv?sort=nope")
    assert response.status_code == 400
    assert 'cannot be sorted by "nope"' in problems(response)


# ---------------------------------------------------------------- rights

def test_own_role_sees_only_own_rows_in_list_count_and_export(app):
    me = app.user("sales")
    other = app.user("clerk", "other@example.com")
    client = app.client("sales")
    for n in range(4):
        add(app, "deal", {"title": f"mine {n}", "owner": me})
        add(app, "deal", {"title": f"theirs {n}", "owner": other})
    page = client.get("/deal/")
    assert titles(page) == ["mine 0", "mine 1", "mine 2"]
    assert "1–3 of 4" in soup(page).select_one(".list-summary").get_text()
    rows = exported(client.get("/deal/export.csv"))
    assert sorted(row[1] for row in rows[1:]) == [f"mine {n}" for n in range(4)]


def test_a_role_that_may_not_read_gets_403(app, deals):
    client = app.client("blind")
    for url in ("/deal/", "/deal/export.csv"):
        response = client.get(url)
        assert response.status_code == 403
        assert "may not read" in response.get_data(as_text=True)
    assert client.send("/deal/bulk-delete", {"ids": "1"}).status_code == 403
    assert client.get("/nothing/").status_code == 404


# ---------------------------------------------------------------- bulk delete

def flashes(client) -> list[str]:
    return [p.get_text(" ", strip=True) for p in soup(client.get("/deal/")).select(".flash")]


def test_bulk_delete_reports_what_was_deleted_and_what_was_refused(app, deals):
    client = app.client()
    response = client.send("/customer/bulk-delete", {
        "ids": [deals["acme"]["id"], "999"], "back": "/customer/?q=a"})
    assert response.status_code == 303 and response.headers["Location"] == "/customer/?q=a"
    messages = [p.get_text(" ", strip=True)
                for p in soup(client.get("/customer/")).select(".flash")]
    assert messages[0] == "Deleted 0 records."
    assert messages[1] == "2 records were not deleted:"
    assert messages[2].startswith("“Acme” (#") and "3 deals" in messages[2]
    assert "There is no customer with id 999" in messages[3]
    response = client.send("/deal/bulk-delete", {
        "ids": [deals["a-web"]["id"], deals["b-call"]["id"]], "back": "/deal/?sort=-amount"})
    assert response.headers["Location"] == "/deal/?sort=-amount"
    assert flashes(client) == ["Deleted 2 records."]
    assert titles(client.get("/deal/")) == ["c-kobe", "d-none", "e-big"]


def test_bulk_delete_names_records_the_role_may_not_delete(app, deals):
    mine = add(app, "deal", {"title": "clerk's", "owner": app.user("clerk")})
    client = app.client("clerk")
    client.send("/deal/bulk-delete", {"ids": [mine["id"], deals["a-web"]["id"]]})
    assert flashes(client) == ["Deleted 1 record.", "1 record was not deleted:",
                               f"“a-web” (#{deals['a-web']['id']}): Your role (clerk) may "
                               "only delete your own deals."]


def test_bulk_delete_goes_back_only_to_its_own_list(app, deals):
    client = app.client()
    for back in ("https://evil.example/deal/", "//evil.example/deal/", "/customer/",
                 "/deal/\\evil"):
        response = client.send("/deal/bulk-delete", {"ids": [], "back": back})
        assert response.headers["Location"] == "/deal/", back
    assert client.post("/deal/bulk-delete", data={"ids": deals["a-web"]["id"]}
                       ).status_code == 400
    assert client.send("/deal/bulk-delete", {"ids": "x1"}).status_code == 400


def test_checkboxes_and_delete_button_only_when_the_role_may_delete(app, deals):
    admin = soup(app.client().get("/deal/"))
    form = admin.select_one("form#list-bulk")
    assert form["method"] == "post" and form["action"] == "/deal/bulk-delete"
    assert len(form.select("tbody input[name=ids]")) == 3
    assert form.select_one("input[name=back]")["value"] == "/deal/"
    assert form.find("button", string="Delete selected")
    every = soup(app.client().get("/deal/?select=page")).select("tbody input[name=ids]")
    assert all(box.has_attr("checked") for box in every) and len(every) == 3
    viewer = soup(app.client("viewer").get("/deal/"))
    assert viewer.select("input[name=ids]") == []
    assert viewer.find("button", string="Delete selected") is None
