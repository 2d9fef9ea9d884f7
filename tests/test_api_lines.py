"""Lines through the API (SPEC §3.5, §11.1, issue 14): a record and its lines created in one
body; PATCH replaces the lines with ids (an object with `id` updates that line, one without
adds a line, a line left out is removed); problems named `lines[2].quantity`; totals
recomputed in the same write — on both databases."""

from __future__ import annotations

import pytest

from tests.api_live import api_client

PRODUCT = {"fields": {"name": {"type": "string", "required": True},
                      "price": {"type": "money"}}}
QUOTE = {"label": {"en": "Quote", "ja": "見積"}, "title_field": "title",
         "fields": {"title": {"type": "string", "required": True},
                    "lines": {"type": "lines", "of": "quote_line", "max": 3},
                    "total": {"type": "rollup", "of": "lines", "agg": "sum",
                              "field": "amount", "result": "money"}}}
QUOTE_LINE = {"label": {"en": "Quote line", "ja": "見積明細"}, "part_of": "quote",
              "title_field": "product",
              "fields": {"product": {"type": "link", "to": "product", "required": True},
                         "quantity": {"type": "decimal", "required": True, "min": 0},
                         "unit_price": {"type": "money", "fetch": "product.price"},
                         "amount": {"type": "formula", "formula": "quantity * unit_price",
                                    "result": "money"}}}
ENTITIES = {"product": PRODUCT, "quote": QUOTE, "quote_line": QUOTE_LINE}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack={"name": "lines", "currency": "USD"})


@pytest.fixture
def products(app) -> list[int]:
    records = app.extensions["karte"]["records"]
    return [records.create("product", {"name": name, "price": price})["id"]
            for name, price in (("Brick", "2.50"), ("Cement", "10"), ("Sand", "4"))]


def errors(response) -> dict[str, str]:
    return {e["field"]: e["code"] for e in response.get_json()["errors"]}


def quote(client, products, *quantities: str) -> dict:
    response = client.post("/api/v1/quote", json={"title": "Q1", "lines": [
        {"product": products[i], "quantity": q} for i, q in enumerate(quantities)]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def cells(body: dict, *names: str) -> list[tuple]:
    return [tuple(line[n] for n in names) for line in body["lines"]]


def test_a_record_is_created_with_its_lines_and_their_totals(app, products):
    body = quote(api_client(app), products, "4", "1")

    assert cells(body, "product", "quantity", "unit_price", "amount") == [
        (products[0], "4.00", "2.50", "10.00"), (products[1], "1.00", "10.00", "10.00")]
    assert body["total"] == "20.00"
    assert all(isinstance(line["id"], int) for line in body["lines"])


def test_patch_replaces_the_lines_by_id_update_add_and_drop(app, products):
    client = api_client(app)
    body = quote(client, products, "4", "1")
    first, second = (line["id"] for line in body["lines"])

    response = client.patch(f"/api/v1/quote/{body['id']}", headers={"If-Match": '"1"'},
                            json={"lines": [{"product": products[2], "quantity": "3"},
                                            {"id": first, "quantity": "2"}]})

    assert response.status_code == 200, response.get_json()
    after = response.get_json()
    assert after["version"] == 2
    assert cells(after, "product", "quantity", "amount") == [
        (products[2], "3.00", "12.00"), (products[0], "2.00", "5.00")]
    assert after["lines"][1]["id"] == first
    assert second not in [line["id"] for line in after["lines"]]
    assert after["total"] == "17.00"


def test_lines_left_out_of_a_patch_stay_and_an_empty_array_removes_them(app, products):
    client = api_client(app)
    body = quote(client, products, "4")
    url = f"/api/v1/quote/{body['id']}"

    titled = client.patch(url, json={"title": "Q2"}, headers={"If-Match": '"1"'})
    emptied = client.patch(url, json={"lines": []}, headers={"If-Match": '"2"'})

    assert cells(titled.get_json(), "quantity") == [("4.00",)]
    assert emptied.get_json()["lines"] == []
    assert emptied.get_json()["total"] in (None, "0.00")


def test_lines_read_may_be_sent_back_without_their_computed_cells(app, products):
    client = api_client(app)
    body = quote(client, products, "4", "1")
    echoed = [{k: v for k, v in line.items() if k != "amount"} for line in body["lines"]]

    response = client.patch(f"/api/v1/quote/{body['id']}", json={"lines": echoed},
                            headers={"If-Match": '"1"'})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 1          # nothing changed: nothing written


def test_line_problems_are_named_by_line_and_field(app, products):
    client = api_client(app)

    checked = client.post("/api/v1/quote", json={"title": "Q", "lines": [
        {"product": products[0], "quantity": "1"}, {"product": products[1], "quantity": "-1"},
        {"quantity": "2"}]})
    named = client.post("/api/v1/quote", json={"title": "Q", "lines": [
        {"product": products[0], "quantity": "1", "colour": "red", "amount": "3"},
        {"product": products[1], "quantity": True, "position": 1}]})
    shape = client.post("/api/v1/quote", json={"title": "Q", "lines": {"quantity": "1"}})
    many = client.post("/api/v1/quote", json={"title": "Q", "lines": [
        {"product": products[0], "quantity": "1"}] * 4})

    assert checked.status_code == 422
    assert errors(checked) == {"lines[2].quantity": "invalid", "lines[3].product": "required"}
    assert named.status_code == 422
    assert errors(named) == {"lines[1].colour": "unknown", "lines[1].amount": "read_only",
                             "lines[2].quantity": "type", "lines[2].position": "read_only"}
    assert errors(shape) == {"lines": "type"}
    assert errors(many) == {"lines": "lines_max"}
    assert app.extensions["karte"]["records"].count("quote") == 0


def test_a_line_of_another_record_cannot_be_taken_over(app, products):
    client = api_client(app)
    mine, other = quote(client, products, "1"), quote(client, products, "2")

    response = client.patch(f"/api/v1/quote/{mine['id']}", headers={"If-Match": '"1"'},
                            json={"lines": [{"id": other["lines"][0]["id"], "quantity": "9"}]})

    assert response.status_code == 422
    assert errors(response) == {"lines[1].id": "line"}


def test_line_messages_use_the_part_labels_in_the_callers_language(app, products):
    client = api_client(app)

    response = client.post("/api/v1/quote?lang=ja", json={"title": "Q", "lines": [
        {"quantity": "2"}]})

    [error] = response.get_json()["errors"]
    assert error["field"] == "lines[1].product"
    assert error["message"] == "Productを入力してください。"
