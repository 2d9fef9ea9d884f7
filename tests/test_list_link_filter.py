"""A list filter on a link (web/list_pickers.py): a <select> of every readable target
when they are few; beyond 50, the forms' type-ahead — a hidden id and a text box — whose
typed title the server finds when there is no JavaScript (issue 11: no page reads and
renders hundreds of targets per link filter)."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

ENTITIES = {
    "customer": {"label": {"en": "Customer", "ja": "顧客"}, "plural": {"en": "Customers"},
                 "fields": {"name": {"type": "string", "required": True}}},
    "deal": {"label": {"en": "Deal"}, "plural": {"en": "Deals"}, "title_field": "title",
             "fields": {"title": {"type": "string", "required": True},
                        "customer": {"type": "link", "to": "customer"}},
             "list": {"columns": ["title", "customer"], "sort": "title",
                      "filters": ["customer"], "page_size": 3}},
}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES)


def add(app, entity, values):
    return app.extensions["karte"]["records"].create(entity, values)


def titles(response) -> list[str]:
    """The record titles the list shows, top to bottom."""
    return [row.select("td a")[0].get_text(strip=True)
            for row in _soup(response).select("table.list-table tbody tr")]


def _customers(app, names):
    records = app.extensions["karte"]["records"]
    ids = records.create_many("customer", [{"name": n} for n in names])
    return dict(zip(names, ids, strict=True))


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_few_targets_are_a_select_of_them_all(app):
    made = _customers(app, [f"Firm {i:02d}" for i in range(50)])
    page = _soup(app.client().get("/deal/"))
    options = page.select("select[name='f.customer'] option")
    assert len(options) == 51 and options[1].get_text() == "Firm 00"   # "Any", then all
    assert page.select_one(".filter.picker") is None
    assert made


@pytest.fixture
def many(app):
    """60 customers (a type-ahead filter), two of them called alike, and a deal of each."""
    names = [f"Firm {i:02d}" for i in range(58)] + ["Acme Kobe", "Acme Osaka"]
    made = _customers(app, names)
    for name in ("Firm 07", "Acme Kobe", "Acme Osaka"):
        add(app, "deal", {"title": f"deal of {name}", "customer": made[name]})
    return made


def test_many_targets_make_a_type_ahead_showing_the_chosen_title(app, many):
    client = app.client()
    page = _soup(client.get(f"/deal/?f.customer={many['Firm 07']}"))
    assert page.select_one("select[name='f.customer']") is None
    picker = page.select_one(".filter.picker")
    assert picker.select_one("input[type=hidden][name='f.customer']")["value"] == \
        str(many["Firm 07"])
    box = picker.select_one("input[name='_q.f.customer']")
    assert box["value"] == "Firm 07" and box["role"] == "combobox"
    assert box["hx-get"] == "/customer/pick"
    assert picker.select_one("label")["for"] == box["id"]
    assert titles(client.get(f"/deal/?f.customer={many['Firm 07']}")) == ["deal of Firm 07"]


def test_a_typed_title_is_found_without_javascript(app, many):
    client = app.client()
    # the exact title, or the only one containing it
    assert titles(client.get("/deal/?f.customer=&_q.f.customer=firm 07")) == ["deal of Firm 07"]
    assert titles(client.get("/deal/?_q.f.customer=Acme Osaka")) == ["deal of Acme Osaka"]
    # the chosen id stands while its title is unchanged; an edited text wins over it
    chosen = f"f.customer={many['Acme Kobe']}"
    assert titles(client.get(f"/deal/?{chosen}&_q.f.customer=Acme Kobe")) == [
        "deal of Acme Kobe"]
    assert titles(client.get(f"/deal/?{chosen}&_q.f.customer=Firm 07")) == ["deal of Firm 07"]
    # clearing the text clears the filter
    assert len(titles(client.get(f"/deal/?{chosen}&_q.f.customer="))) == 3
    # the page's links (sorts, pages) carry the id, not the text; the box shows the title
    page = _soup(client.get("/deal/?_q.f.customer=Firm 07"))
    links = [a["href"] for a in page.select("#list-rows a[href*='sort=']")]
    assert links and all("_q." not in href for href in links), links
    assert page.select_one("input[name='_q.f.customer']")["value"] == "Firm 07"


def test_a_text_naming_several_or_none_says_so(app, many):
    client = app.client()
    several = client.get("/deal/?_q.f.customer=Acme")
    assert several.status_code == 400
    assert '2 customers match "Acme"' in _soup(several).get_text()
    none = client.get("/deal/?_q.f.customer=Nobody")
    assert none.status_code == 400
    assert 'No customer matches "Nobody"' in _soup(none).get_text()
