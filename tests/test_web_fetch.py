"""Fetch on forms (SPEC §3.6) and derived values shown as their type: the fetched value
appears as soon as the link is picked (the live form), a typed value is never replaced,
without JavaScript the save copies it; the fetch endpoint a lines grid calls; formulas
shown with currency, %, dates and yes/no, aligned as their type, and marked derived."""

from __future__ import annotations

from decimal import Decimal

import pytest
from bs4 import BeautifulSoup

from tests.test_web_forms import field, page, services, submitted

PRODUCT = {"label": {"en": "Product", "ja": "商品"},
           "fields": {"name": {"type": "string", "required": True},
                      "price": {"type": "money", "label": {"en": "Price", "ja": "価格"}},
                      "owner": {"type": "user"}}}
LINE = {"label": {"en": "Line"}, "plural": {"en": "Lines"},
        "fields": {"title": {"type": "string"},
                   "product": {"type": "link", "to": "product",
                               "label": {"en": "Product", "ja": "商品"}},
                   "unit_price": {"type": "money", "fetch": "product.price",
                                  "label": {"en": "Unit price", "ja": "単価"}},
                   "quantity": {"type": "integer"},
                   "amount": {"type": "formula", "formula": "quantity * unit_price",
                              "result": "money"},
                   "share": {"type": "formula", "formula": "quantity / 4 * 100",
                             "result": "percent"},
                   "due": {"type": "formula", "formula": "add_days(start, 30)",
                           "result": "date"},
                   "big": {"type": "formula", "formula": "quantity > 2", "result": "boolean"},
                   "units": {"type": "formula", "formula": "quantity * 2",
                             "result": "integer"},
                   "start": {"type": "date"}},
        "list": {"columns": ["title", "amount", "share", "due", "big", "units"]}}
ROLES = {"rep": {"*": {"read": "all", "create": True, "update": "all"},
                 "product": {"read": "own", "create": False, "update": False}}}


@pytest.fixture
def app(make_app):
    return make_app({"product": PRODUCT, "line": LINE}, pack={"name": "shop", "roles": ROLES})


@pytest.fixture
def products(app):
    service = services(app)
    return [service.create("product", {"name": name, "price": price})
            for name, price in (("Widget", "9.50"), ("Gadget", "20"))]


def live(client, data) -> BeautifulSoup:
    """The live form as the no-script "Update form" button gets it (a whole page); htmx
    gets the same fields as a fragment."""
    fragment = client.send("/line/form", data, headers={"HX-Request": "true"})
    response = client.send("/line/form", data)
    assert fragment.status_code == response.status_code == 200
    assert str(page(fragment).select_one("#form-fields")) == str(
        page(response).select_one("#form-fields"))
    return page(response)


def value(soup: BeautifulSoup, name: str) -> str:
    return soup.find("input", attrs={"name": name})["value"]


def test_picking_the_link_fills_the_fetched_field_at_once(app, products):
    client = app.client()
    soup = page(client.get("/line/new"))
    assert field(soup, "product")["hx-post"] == "/line/form"
    data = {**submitted(soup), "product": [str(products[0]["id"])]}

    shown = live(client, data)

    assert value(shown, "unit_price") == "9.50"
    assert services(app).count("line") == 0


def test_a_typed_value_survives_a_new_pick_and_an_untouched_one_follows(app, products):
    client = app.client()
    widget, gadget = (str(p["id"]) for p in products)
    first = live(client, {**submitted(page(client.get("/line/new"))), "product": [widget]})
    untouched = live(client, {**submitted(first), "product": [gadget]})
    typed = live(client, {**submitted(first), "unit_price": ["7"], "product": [gadget]})

    assert value(untouched, "unit_price") == "20.00"
    assert value(typed, "unit_price") == "7"


def test_without_javascript_the_save_copies_the_value(app, products):
    client = app.client()
    data = {**submitted(page(client.get("/line/new"))), "title": ["A"],
            "product": [str(products[1]["id"])], "quantity": ["3"]}

    response = client.send("/line/new", data)
    [line] = services(app).query("line")

    assert response.status_code == 303
    assert (line["unit_price"], line["amount"]) == (Decimal("20.00"), Decimal("60.00"))


def test_editing_and_repointing_the_link_copies_unless_typed(app, products):
    client = app.client()
    line = services(app).create("line", {"title": "A", "product": products[0]["id"]})
    form = submitted(page(client.get(f"/line/{line['id']}/edit")))

    client.send(f"/line/{line['id']}/edit", {**form, "product": [str(products[1]["id"])]})
    moved = services(app).get("line", line["id"])
    form = submitted(page(client.get(f"/line/{line['id']}/edit")))
    client.send(f"/line/{line['id']}/edit", {**form, "product": [str(products[0]["id"])],
                                             "unit_price": ["1"]})

    assert moved["unit_price"] == Decimal("20.00")
    assert services(app).get("line", line["id"])["unit_price"] == Decimal("1.00")


def test_the_fetch_endpoint_gives_the_texts_of_a_readable_record_only(app, products):
    rep = app.client("rep")
    own = services(app).create("product", {"name": "Mine", "price": "3",
                                           "owner": app.user("rep")})

    assert app.client().get(f"/line/fetch/product?id={products[0]['id']}").get_json() == {
        "unit_price": "9.50"}
    assert rep.get(f"/line/fetch/product?id={products[0]['id']}").get_json() == {}
    assert rep.get(f"/line/fetch/product?id={own['id']}").get_json() == {"unit_price": "3.00"}
    assert rep.get("/line/fetch/title?id=1").status_code == 404


def test_picking_an_unreadable_record_fetches_nothing(app, products):
    rep = app.client("rep")
    soup = live(rep, {**submitted(page(rep.get("/line/new"))),
                      "product": [str(products[0]["id"])]})

    assert value(soup, "unit_price") == ""


# ---------------------------------------------------------------- derived values shown

def made(app, products):
    return services(app).create("line", {"title": "A", "product": products[0]["id"],
                                         "quantity": 3, "start": "2026-01-10"})


def test_a_list_shows_formulas_as_their_result_type_and_aligns_numbers_only(app, products):
    made(app, products)
    soup = page(app.client().get("/line/"))
    headers = [th.get_text(" ", strip=True) for th in soup.select("table thead th")]
    [row] = soup.select("table tbody tr")
    cells = dict(zip(headers, row.select("td"), strict=True))

    assert cells["Amount"].get_text(strip=True) == "$28.50"
    assert cells["Share"].get_text(strip=True) == "75%"
    assert cells["Due"].find("time")["datetime"] == "2026-02-09"
    assert cells["Big"].get_text(strip=True) == "Yes"
    assert cells["Units"].get_text(strip=True) == "6"
    aligned = {name for name, cell in cells.items() if "num" in (cell.get("class") or [])}
    assert aligned == {"Amount", "Share", "Units"}


def test_a_card_shows_derived_values_as_derived_in_words(app, products):
    line = made(app, products)
    soup = page(app.client().get(f"/line/{line['id']}"))
    amount = soup.select_one(".field-formula.derived[title]")

    assert amount["title"] == "Computed: Quantity × Unit price"
    assert amount.dd.get_text(strip=True) == "$28.50"
    fetched = soup.select_one(".field-money.derived")
    assert fetched["title"] == "Copied from Product → Price"
    assert soup.select_one(".field-integer:not(.derived)") is not None


def test_in_japanese_the_words_and_values_follow_the_language(app, products):
    line = made(app, products)
    soup = page(app.client().get(f"/line/{line['id']}?lang=ja"))
    titles = {div.dt.get_text(strip=True): div["title"]
              for div in soup.select(".field.derived")}

    assert titles["単価"] == "商品 → 価格 からコピー"
    assert titles["Amount"] == "計算: Quantity × 単価"
    shown = {div.dt.get_text(strip=True): div.dd.get_text(strip=True)
             for div in soup.select(".field-formula")}
    assert shown["Big"] == "はい"
    assert shown["Share"] == "75%"


def test_a_form_shows_formulas_read_only_with_where_they_come_from(app, products):
    line = made(app, products)
    soup = page(app.client().get(f"/line/{line['id']}/edit"))

    amount = field(soup, "amount")
    assert amount.select_one(".readonly.derived")["title"] == \
        "Computed: Quantity × Unit price"
    assert amount.find("input", attrs={"name": "amount"}) is None
    price = field(soup, "unit_price")
    assert price.select_one(".derived-how").get_text(strip=True) == \
        "Copied from Product → Price"


def test_a_read_only_fetched_field_shows_what_the_save_will_copy(make_app):
    line = {"fields": {"product": {"type": "link", "to": "product"},
                       "list_price": {"type": "money", "fetch": "product.price",
                                      "read_only": True}}}
    app = make_app({"product": PRODUCT, "line": line}, pack={"name": "ro"})
    product = services(app).create("product", {"name": "W", "price": "4"})
    client = app.client()
    soup = page(client.get("/line/new"))
    assert soup.find("input", attrs={"name": "list_price"}) is None

    shown = live(client, {**submitted(soup), "product": [str(product["id"])]})
    client.send("/line/new", submitted(shown))

    assert field(shown, "list_price").select_one(".readonly").get_text(strip=True) == "$4.00"
    assert [r["list_price"] for r in services(app).query("line")] == [Decimal("4.00")]
