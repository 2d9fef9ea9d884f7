"""Derived cells of the lines grid (issue 10): a read-only value fetched through a line's
link (a unit cost) and the formulas reading it are shown from the stored line on the edit
form, and the live preview copies them from a newly picked product as saving would; the
totals row adds up only computed columns (a total of unit prices means nothing)."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

PRODUCT = {"fields": {"name": {"type": "string", "required": True},
                      "price": {"type": "money"}, "cost": {"type": "money"}}}
QUOTE = {"fields": {"title": {"type": "string", "required": True},
                    "lines": {"type": "lines", "of": "quote_line"}}}
QUOTE_LINE = {"part_of": "quote", "title_field": "product",
              "fields": {"product": {"type": "link", "to": "product", "required": True},
                         "quantity": {"type": "decimal", "required": True},
                         "unit_price": {"type": "money", "fetch": "product.price"},
                         "unit_cost": {"type": "money", "fetch": "product.cost",
                                       "read_only": True},
                         "cost_amount": {"type": "formula", "formula": "quantity * unit_cost",
                                         "result": "money"}}}


@pytest.fixture
def app(make_app):
    return make_app({"product": PRODUCT, "quote": QUOTE, "quote_line": QUOTE_LINE},
                    pack={"name": "derived", "currency": "USD"})


def _page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_the_edit_grid_shows_a_stored_fetched_cost_and_the_formula_reading_it(app):
    records = app.extensions["karte"]["records"]
    cement = records.create("product", {"name": "Cement", "price": "12", "cost": "8"})
    quote = records.create("quote", {"title": "Q", "lines": [
        {"product": cement["id"], "quantity": "3"}]})
    soup = _page(app.client().get(f"/quote/{quote['id']}/edit"))
    assert "$8.00" in soup.select_one("#v-lines-0-unit_cost").get_text()
    assert "$24.00" in soup.select_one("#v-lines-0-cost_amount").get_text()
    totals = soup.select_one("#grid-lines tfoot").get_text(" ", strip=True)
    assert "$24.00" in totals and "$12.00" not in totals, "unit prices are not added up"


def test_the_preview_copies_the_cost_of_a_newly_picked_product(app):
    records = app.extensions["karte"]["records"]
    cement = records.create("product", {"name": "Cement", "price": "12", "cost": "8"})
    client = app.client()
    client.get("/quote/new")
    response = client.send("/quote/form/preview", {
        "title": "Q", "lines-0-id": "", "lines-0-product": str(cement["id"]),
        "lines-0-quantity": "5", "lines-0-unit_price": ""})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    assert "$40.00" in html, "5 × the fetched unit cost of 8"
