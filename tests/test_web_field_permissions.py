"""Field-level permissions (SPEC §3.4) on the pages: a `sales` or `support` user never finds
a hidden value anywhere in the HTML (or CSV) of a list, card, form, board, history or
export, cannot filter or sort by a hidden field, and is shown read-only fields as text,
never as inputs the service would refuse."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

COST, NOTE, MARGIN = "4242.17", "Kobe-Steel-XJ9", "757.83"
SECRETS = ("4242", "4,242", NOTE, "757.83", "Quiet-Offer-77")
ENTITIES = {
    "product": {
        "name": "product", "title_field": "name",
        "fields": {
            "name": {"type": "string", "required": True},
            "price": {"type": "money"},
            "unit_cost": {"type": "money"},
            "margin": {"type": "formula", "formula": "price - unit_cost"},
            "discount": {"type": "percent"},
            "supplier_note": {"type": "string"},
            "owner": {"type": "user"},
        },
        "list": {"columns": ["name", "price", "unit_cost", "margin", "supplier_note"],
                 "filters": ["unit_cost", "price"], "search": ["name", "supplier_note"]},
        "card": {"sections": [{"label": "Product", "fields": [
            "name", "price", "unit_cost", "margin", "discount", "supplier_note"]}],
                 "related": ["offer.product"]},
        "permissions": {"sales": {"read_only": ["discount"]}},
    },
    "offer": {
        "name": "offer", "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "product": {"type": "link", "to": "product"},
                   "floor": {"type": "string"}},
        "list": {"columns": ["title", "product", "floor"]},
    },
}
WORKFLOWS = {"launch": {"name": "launch", "entity": "product", "field": "stage",
                        "stages": [{"key": "draft"},
                                   {"key": "live", "requires": ["discount"], "final": "won"}]}}
HIDE = ["unit_cost", "margin", "supplier_note"]
ROLES = {
    "sales": {"*": {"read": "all", "create": True, "update": "all", "delete": False},
              "product": {"hidden": HIDE}, "offer": {"hidden": ["floor"]}},
    "support": {"*": {"read": "all", "create": False, "update": "all", "delete": False},
                "product": {"hidden": HIDE}, "offer": {"hidden": ["floor"]}},
}


@pytest.fixture
def app(make_app):
    app = make_app(ENTITIES, WORKFLOWS, {"roles": ROLES})
    records = app.extensions["karte"]["records"]
    made = records.create("product", {"name": "Rebar 10mm", "price": "5000",
                                      "unit_cost": COST, "supplier_note": NOTE})
    records.update("product", made["id"], {"unit_cost": "4242.18"}, made["version"])
    records.create("offer", {"title": "Spring offer", "product": made["id"],
                             "floor": "Quiet-Offer-77"})
    app.product = made["id"]
    return app


def html(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    return response.get_data(as_text=True)


def assert_secret_free(page: str) -> None:
    for secret in SECRETS:
        assert secret not in page, secret


def test_admin_sees_the_values_the_test_looks_for(app):
    admin = app.client("admin")
    page = html(admin, f"/product/{app.product}")
    assert NOTE in page and "4,242.18" in page
    assert NOTE in html(admin, "/product/export.csv")


@pytest.mark.parametrize("role", ["sales", "support"])
def test_no_page_shows_a_hidden_value(app, role):
    client = app.client(role)
    id = app.product
    for url in ("/product/", f"/product/{id}", f"/product/{id}/edit", f"/product/{id}/history",
                "/board/launch", "/product/export.csv", "/product/?q=XJ9", "/product/new",
                f"/product/{id}/related/offer/product", "/"):
        response = client.get(url)
        creating = url == "/product/new" and role == "support"      # may not create
        assert response.status_code == (403 if creating else 200), url
        assert_secret_free(response.get_data(as_text=True))
    # home's "changed by others" on the user's own product: the cost change is left out
    from karte.auth.users import get_user

    records = app.extensions["karte"]["records"]
    admin = get_user(app.extensions["karte"]["engine"], app.user("admin"))
    mine = records.update("product", id, {"owner": app.user(role)},
                          records.get("product", id)["version"])
    changed = records.update("product", id, {"unit_cost": "4242.19"}, mine["version"], admin)
    records.update("product", id, {"price": "5100"}, changed["version"], admin)
    page = html(client, "/")
    assert_secret_free(page)
    home = BeautifulSoup(page, "html.parser").get_text()
    assert "Rebar 10mm" in home and "Price" in home and "Unit cost" not in home
    listing = BeautifulSoup(html(client, "/product/?q=Rebar"), "html.parser")
    assert "Rebar 10mm" in listing.get_text()
    assert "Unit cost" not in listing.get_text()


def test_filter_or_sort_by_a_hidden_field_is_refused_like_an_unknown_one(app):
    sales = app.client("sales")
    filtered = html(sales, "/product/?f.unit_cost.gt=100", 400)
    assert "is not a field of" in filtered
    html(sales, "/product/?sort=-unit_cost", 400)
    assert_secret_free(html(sales, "/product/?f.price.gt=100"))
    html(app.client("admin"), "/product/?f.unit_cost.gt=100")


def test_the_form_shows_read_only_fields_as_text_and_hidden_ones_not_at_all(app):
    sales = app.client("sales")
    soup = BeautifulSoup(html(sales, f"/product/{app.product}/edit"), "html.parser")
    names = {tag.get("name") for tag in soup.select("input, select, textarea")}
    assert "name" in names and "price" in names
    assert not names & {"discount", "unit_cost", "margin", "supplier_note"}
    assert "Your role may not change this field." in soup.get_text()
    assert "Discount" in soup.get_text()


def test_saving_the_form_as_sales_keeps_the_hidden_values(app):
    sales = app.client("sales")
    soup = BeautifulSoup(html(sales, f"/product/{app.product}/edit"), "html.parser")
    data = {tag["name"]: tag.get("value", "") for tag in soup.select("form input[name]")
            if tag.get("type") != "checkbox"}
    data["name"] = "Rebar 12mm"
    response = sales.send(f"/product/{app.product}/edit", data)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    stored = app.extensions["karte"]["records"].get("product", app.product)
    assert stored["name"] == "Rebar 12mm" and str(stored["unit_cost"]) == "4242.18"


def test_a_posted_read_only_change_is_refused_naming_the_field(app):
    sales = app.client("sales")
    record = app.extensions["karte"]["records"].get("product", app.product)
    response = sales.send(f"/product/{app.product}/edit",
                          {"name": "X", "discount": "90", "version": record["version"]})
    assert response.status_code in (303, 403)
    stored = app.extensions["karte"]["records"].get("product", app.product)
    assert stored["discount"] is None      # the form never reads a field it did not offer


def test_the_export_has_no_hidden_column(app):
    text = html(app.client("sales"), "/product/export.csv")
    header = text.splitlines()[0]
    assert "Price" in header and "Unit cost" not in header and "Margin" not in header


def test_a_move_needing_a_read_only_field_explains_instead_of_asking(app):
    url = f"/product/{app.product}/move?to=live"
    soup = BeautifulSoup(html(app.client("sales"), url, 409), "html.parser")
    assert "Your role (sales) may not change Discount." in soup.get_text()
    assert soup.select("[name=discount]") == []
    asked = BeautifulSoup(html(app.client("admin"), url), "html.parser")
    assert asked.select("[name=discount]")
