"""The grid of lines on the parent's form, the card's table of lines and a part's own
pages, through HTTP (SPEC §3.5, issue 10 "Pages"). Forms are submitted the way a browser
would (inputs in document order) with the Flask test client, on both databases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from werkzeug.datastructures import MultiDict

PRODUCT = {"label": {"en": "Product", "ja": "商品"}, "plural": {"en": "Products", "ja": "商品"},
           "fields": {"name": {"type": "string", "required": True},
                      "price": {"type": "money"}, "cost": {"type": "money"}}}
CUSTOMER = {"label": {"en": "Customer"}, "plural": {"en": "Customers"},
            "fields": {"name": {"type": "string", "required": True}}}
QUOTE = {"label": {"en": "Quote", "ja": "見積"}, "plural": {"en": "Quotes", "ja": "見積"},
         "fields": {"title": {"type": "string", "required": True},
                    "customer": {"type": "link", "to": "customer"},
                    "lines": {"type": "lines", "of": "quote_line", "label": {"en": "Lines"}}}}
QUOTE_LINE = {"label": {"en": "Quote line", "ja": "見積明細"},
              "plural": {"en": "Quote lines", "ja": "見積明細"},
              "part_of": "quote", "title_field": "product",
              "fields": {"product": {"type": "link", "to": "product", "required": True},
                         "quantity": {"type": "decimal", "required": True, "min": 0},
                         "unit_price": {"type": "money"},
                         "amount": {"type": "formula", "formula": "quantity * unit_price",
                                    "result": "money"}}}
ENTITIES = {"product": PRODUCT, "customer": CUSTOMER, "quote": QUOTE,
            "quote_line": QUOTE_LINE}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack={"name": "lines", "currency": "USD"})


def services(app):
    return app.extensions["karte"]["records"]


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def submitted(soup: BeautifulSoup) -> MultiDict:
    """What a browser sends for the record form, in document order (the order of the rows
    is the order of the lines); no submit button."""
    data: MultiDict = MultiDict()
    form = soup.select_one("#record-form")
    for element in form.select("input, select, textarea"):
        name = element.get("name")
        kind = element.get("type", "")
        if not name or element.name == "button" or kind == "submit":
            continue
        if kind == "checkbox" and not element.has_attr("checked"):
            continue
        if element.name == "select":
            chosen = element.select_one("option[selected]") or element.select_one("option")
            data.add(name, chosen.get("value", "") if chosen else "")
        elif element.name == "textarea":
            data.add(name, element.get_text().removeprefix("\n"))
        else:
            data.add(name, element.get("value", ""))
    return data


def products(app):
    rec = services(app)
    return [rec.create("product", {"name": name, "price": price})["id"]
            for name, price in (("Brick", "2.50"), ("Cement", "10"), ("Sand", "4"))]


def fill(data: MultiDict, row: int, **cells: str) -> None:
    for name, value in cells.items():
        data.setlist(f"lines-{row}-{name}", [value])


def test_new_form_shows_the_grid_with_empty_rows(app):
    products(app)
    soup = page(app.client().get("/quote/new"))
    grid = soup.select_one(".lines-grid")
    assert grid is not None
    heads = [th.get_text(" ", strip=True) for th in grid.select("thead th")]
    assert heads[1:5] == ["Product *", "Quantity *", "Unit price", "Amount"]
    rows = grid.select("tbody tr.line-row")
    assert len(rows) == 3
    assert rows[0].select_one('select[name="lines-0-product"]') is not None
    assert rows[0].select_one('input[name="lines-0-quantity"]') is not None
    assert rows[0].select_one('input[name="lines-0-id"]')["value"] == ""
    assert rows[0].select_one("output#v-lines-0-amount") is not None     # formula: read-only
    assert rows[0].select_one('input[name="lines-0-amount"]') is None
    assert grid.select_one("td[data-label='Quantity']") is not None


def test_save_with_three_lines(app):
    brick, cement, sand = products(app)
    client = app.client()
    data = submitted(page(client.get("/quote/new")))
    data.setlist("title", ["Big job"])
    fill(data, 0, product=str(brick), quantity="100", unit_price="2.50")
    fill(data, 1, product=str(cement), quantity="3", unit_price="10")
    fill(data, 2, product=str(sand), quantity="1.5", unit_price="4")
    response = client.post("/quote/new", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    lines = services(app).get("quote", id)["lines"]
    assert [line["product"] for line in lines] == [brick, cement, sand]
    assert [line["amount"] for line in lines] == [Decimal("250"), Decimal("30"),
                                                  Decimal("6")]


def test_error_in_line_two_is_in_its_cell_and_nothing_is_lost(app):
    brick, cement, _sand = products(app)
    client = app.client()
    data = submitted(page(client.get("/quote/new")))
    data.setlist("title", ["Half typed"])
    fill(data, 0, product=str(brick), quantity="7", unit_price="2.50")
    fill(data, 1, product=str(cement), quantity="", unit_price="12.25")
    response = client.post("/quote/new", data=data)
    assert response.status_code == 422
    soup = page(response)
    cell = soup.select_one('td.has-error input[name="lines-1-quantity"]')
    assert cell is not None
    errors = cell.find_parent("td").select_one(".field-errors").get_text(" ", strip=True)
    assert "Quantity is required" in errors
    summary = soup.select_one("#form-problems").get_text(" ", strip=True)
    assert "Line 2" in summary and "Quantity is required" in summary
    assert soup.select_one('input[name="lines-1-unit_price"]')["value"] == "12.25"
    assert soup.select_one('input[name="lines-0-quantity"]')["value"] == "7"
    assert soup.select_one('input[name="title"]')["value"] == "Half typed"
    assert services(app).count("quote") == 0


def test_add_rows_without_javascript_keeps_what_was_typed(app):
    brick, *_ = products(app)
    client = app.client()
    data = submitted(page(client.get("/quote/new")))
    data.setlist("title", ["More rows"])
    fill(data, 0, product=str(brick), quantity="2")
    data.add("_grid", "lines:add")
    response = client.post("/quote/form", data=data)
    assert response.status_code == 200
    soup = page(response)
    assert len(soup.select(".lines-grid tbody tr.line-row")) == 6
    assert soup.select_one('input[name="lines-0-quantity"]')["value"] == "2"
    assert soup.select_one('input[name="lines-5-quantity"]')["value"] == ""
    assert services(app).count("quote") == 0


def _saved(app, client, *rows):
    data = submitted(page(client.get("/quote/new")))
    data.setlist("title", ["Job"])
    for i, (product, quantity) in enumerate(rows):
        fill(data, i, product=str(product), quantity=quantity, unit_price="1")
    response = client.post("/quote/new", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_remove_and_reorder(app):
    brick, cement, sand = products(app)
    client = app.client()
    id = _saved(app, client, (brick, "1"), (cement, "2"), (sand, "3"))
    soup = page(client.get(f"/quote/{id}/edit"))
    data = submitted(soup)
    # remove the first line; move the third (sand) above the second (cement) by order
    data.setlist("lines-0-remove", ["1"])
    ordered = MultiDict()
    rows = {}
    for key, value in data.items(multi=True):
        if key.startswith("lines-"):
            rows.setdefault(key.split("-")[1], []).append((key, value))
        else:
            ordered.add(key, value)
    for index in ("0", "2", "1", "3", "4", "5"):
        for key, value in rows.get(index, []):
            ordered.add(key, value)
    stored = services(app).get("quote", id)["lines"]
    response = client.post(f"/quote/{id}/edit", data=ordered)
    assert response.status_code == 303, response.get_data(as_text=True)
    lines = services(app).get("quote", id)["lines"]
    assert [line["product"] for line in lines] == [sand, cement]
    assert {line["id"] for line in lines} == {stored[1]["id"], stored[2]["id"]}


def test_up_button_without_javascript_moves_the_row(app):
    brick, cement, _sand = products(app)
    client = app.client()
    id = _saved(app, client, (brick, "1"), (cement, "2"))
    data = submitted(page(client.get(f"/quote/{id}/edit")))
    data.add("_grid", "lines:up:1")
    soup = page(client.post("/quote/form", data=data))
    moved = submitted(soup)
    response = client.post(f"/quote/{id}/edit", data=moved)
    assert response.status_code == 303
    assert [line["product"] for line in services(app).get("quote", id)["lines"]] == [
        cement, brick]


def test_card_shows_the_lines_with_totals(app):
    brick, cement, _sand = products(app)
    client = app.client()
    id = _saved(app, client, (brick, "4"), (cement, "2.5"))
    soup = page(client.get(f"/quote/{id}"))
    table = soup.select_one("table.lines-card")
    assert table is not None
    rows = table.select("tbody tr")
    assert [r.select("td")[1].get_text(strip=True) for r in rows] == ["Brick", "Cement"]
    totals = table.select_one("tfoot .totals").get_text(" ", strip=True)
    assert "$6.50" in totals and "6.5" in totals


def test_part_list_page_and_refused_pages(app):
    brick, *_ = products(app)
    client = app.client()
    id = _saved(app, client, (brick, "4"))
    line = services(app).get("quote", id)["lines"][0]
    listing = client.get("/quote_line/")
    assert listing.status_code == 200
    soup = page(listing)
    assert soup.select_one(f'a[href="/quote/{id}"]') is not None       # the parent column
    assert soup.find("a", string="New Quote line") is None
    assert client.get("/quote_line/new").status_code == 404
    assert "form of their quote" in page(client.get("/quote_line/new")).get_text()
    assert client.get(f"/quote_line/{line['id']}/edit").status_code == 404
    card = client.get(f"/quote_line/{line['id']}")
    assert card.status_code == 303 and card.headers["Location"].endswith(f"/quote/{id}")
    nav = page(client.get("/")).select_one(".mainnav").get_text(" ", strip=True)
    assert "Quote lines" not in nav and "Quotes" in nav


def test_preview_computes_line_formulas_and_totals(app):
    brick, cement, _sand = products(app)
    client = app.client()
    data = submitted(page(client.get("/quote/new")))
    fill(data, 0, product=str(brick), quantity="3", unit_price="2")
    fill(data, 1, product=str(cement), quantity="1", unit_price="0.5")
    response = client.post("/quote/form/preview", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    soup = page(response)
    assert soup.select_one("#v-lines-0-amount").get_text(strip=True) == "$6.00"
    assert soup.select_one("#v-lines-1-amount").get_text(strip=True) == "$0.50"
    assert soup.select_one("#t-lines-amount").get_text(strip=True) == "$6.50"
    assert services(app).count("quote") == 0


def test_grid_and_line_errors_in_japanese(app):
    brick, *_ = products(app)
    client = app.client()
    soup = page(client.get("/quote/new?lang=ja"))
    assert soup.select_one(".add-rows").get_text(strip=True) == "行を追加"
    assert soup.select_one(".lines-grid .remove-row").get_text(strip=True) == "削除"
    data = submitted(soup)
    data.setlist("title", ["見積"])
    fill(data, 0, product=str(brick), quantity="1")
    fill(data, 1, product=str(brick), quantity="")
    summary = page(client.post("/quote/new", data=data)).select_one("#form-problems")
    assert "2行目" in summary.get_text(" ", strip=True)


def test_a_searching_picker_in_a_cell_finds_the_record_by_its_title(app, monkeypatch):
    import karte.web.form_model as form_model

    monkeypatch.setattr(form_model, "SELECT_MAX", 1)        # too many products to list
    _brick, cement, _sand = products(app)
    client = app.client()
    soup = page(client.get("/quote/new"))
    box = soup.select_one('input[name="_q.lines-0-product"]')
    assert box is not None and box["hx-get"] == "/product/pick"
    assert box["aria-controls"] == "o-lines-0-product"
    data = submitted(soup)
    data.setlist("title", ["Typed"])
    data.setlist("_q.lines-0-product", ["Cement"])
    fill(data, 0, quantity="2")
    response = client.post("/quote/new", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert [line["product"] for line in services(app).get("quote", id)["lines"]] == [cement]
    data.setlist("_q.lines-0-product", ["Nothing like it"])
    soup = page(client.post("/quote/new", data=data))
    assert "Line 1" in soup.select_one("#form-problems").get_text(" ", strip=True)
    assert soup.select_one('input[name="_q.lines-0-product"]')["value"] == "Nothing like it"


def test_preview_swaps_the_parents_derived_values_too(make_app):
    quote = {**QUOTE, "fields": {**QUOTE["fields"], "rate": {"type": "decimal"},
                                 "doubled": {"type": "formula", "formula": "rate * 2",
                                             "result": "money"}}}
    app = make_app({**ENTITIES, "quote": quote}, pack={"name": "lines", "currency": "USD"})
    client = app.client()
    soup = page(client.get("/quote/new"))
    assert soup.select_one("#v-doubled") is not None     # on a new record too: live target
    data = submitted(soup)
    data.setlist("rate", ["1.25"])
    response = client.post("/quote/form/preview", data=data, headers={"HX-Request": "true"})
    swapped = page(response).select_one("#v-doubled")
    assert swapped is not None and swapped["hx-swap-oob"] == "innerHTML"
    assert swapped.get_text(strip=True) == "$2.50"


@pytest.mark.parametrize(("lang", "said"), [("en", "A Quote needs at least 1 line (it has 0)."),
                                            ("ja", "見積には明細が1行以上必要です（現在0行）。")])
def test_too_few_lines_is_said_on_the_grid_in_the_ui_language(make_app, lang, said):
    quote = {**QUOTE, "fields": {**QUOTE["fields"],
                                 "lines": {**QUOTE["fields"]["lines"], "min": 1}}}
    app = make_app({**ENTITIES, "quote": quote}, pack={"name": "lines", "currency": "USD"})
    client = app.client()
    data = submitted(page(client.get(f"/quote/new?lang={lang}")))
    data.setlist("title", ["Empty"])
    response = client.post("/quote/new", data=data)
    assert response.status_code == 422
    grid = page(response).select_one(".lines-grid")
    assert grid.select_one(".field-errors").get_text(strip=True) == said
    assert services(app).count("quote") == 0


def test_a_problem_with_a_whole_line_shows_on_its_row(app):
    brick, *_ = products(app)
    client = app.client()
    id = _saved(app, client, (brick, "1"))
    data = submitted(page(client.get(f"/quote/{id}/edit")))
    data.setlist("lines-0-id", ["999999"])                 # no such line of this quote
    response = client.post(f"/quote/{id}/edit", data=data)
    assert response.status_code == 422
    soup = page(response)
    row = soup.select_one("tr.line-row")
    assert "row-has-error" in row["class"]
    assert row.select_one(".row-tools .field-errors") is not None
    assert "Line 1" in soup.select_one("#form-problems").get_text(" ", strip=True)


def test_history_names_a_line_change_by_its_line_and_label(app):
    brick, cement, _sand = products(app)
    client = app.client()
    id = _saved(app, client, (brick, "1"), (cement, "2"))
    data = submitted(page(client.get(f"/quote/{id}/edit")))
    data.setlist("lines-0-quantity", ["5"])
    assert client.post(f"/quote/{id}/edit", data=data).status_code == 303
    said = page(client.get(f"/quote/{id}/history")).select_one("ul.changes").get_text(" ",
                                                                                       strip=True)
    assert "Line 1 · Quantity:" in said and "lines[1]" not in said
    timeline = page(client.get(f"/quote/{id}")).select_one("ul.changes").get_text(" ", strip=True)
    assert "Line 1 · Quantity:" in timeline
    japanese = page(client.get(f"/quote/{id}/history?lang=ja")).select_one("ul.changes")
    assert "1行目" in japanese.get_text(" ", strip=True)
