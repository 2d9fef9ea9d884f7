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
