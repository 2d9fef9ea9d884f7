"""An entity's `unique` combinations (SPEC §3.7): the same values in every field of a
combination as another live record is a 422 naming all its fields — from the records
service for every caller, on the form next to each field, and for a race the database
catches. The unique index follows the definitions in migrations."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

import karte.store.records.service as records_module
from karte.store.errors import ValidationFailed
from karte.store.migrate import migrate

PLACE = {"fields": {"name": {"type": "string", "required": True}}}
STOCK = {"label": {"en": "Stock item", "ja": "在庫"},
         "fields": {"name": {"type": "string", "required": True},
                    "product": {"type": "link", "to": "product",
                                "label": {"en": "Product", "ja": "商品"}},
                    "warehouse": {"type": "link", "to": "warehouse",
                                  "label": {"en": "Warehouse", "ja": "倉庫"}},
                    "code": {"type": "string"}, "since": {"type": "date"}},
         "unique": [["product", "warehouse"], ["code", "since"]]}
NOW = dt.datetime(2026, 1, 1, 9, 30)
ENTITIES = {"product": PLACE, "warehouse": PLACE, "stock": STOCK}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES)


def service(app):
    return app.extensions["karte"]["records"]


@pytest.fixture
def places(app):
    """Ids of two products and two warehouses."""
    make = service(app).create
    return {"p1": make("product", {"name": "Bolt"})["id"],
            "p2": make("product", {"name": "Nut"})["id"],
            "w1": make("warehouse", {"name": "Osaka"})["id"],
            "w2": make("warehouse", {"name": "Kobe"})["id"]}


def stock(app, name: str, **values):
    return service(app).create("stock", {"name": name, **values})


def refusal(write) -> list:
    with pytest.raises(ValidationFailed) as error:
        write()
    return error.value.problems


# ---------------------------------------------------------------- the records service

def test_the_service_refuses_the_combination_on_each_of_its_fields(app, places):
    first = stock(app, "A", product=places["p1"], warehouse=places["w1"])

    problems = refusal(lambda: stock(app, "B", product=places["p1"], warehouse=places["w1"]))

    assert [(p.where, p.code, p.record) for p in problems] == [
        ("product", "unique", first["id"]), ("warehouse", "unique", first["id"])]
    assert problems[0].message == (f'Another stock item already has this product and '
                                   f'warehouse: "A" (#{first["id"]}).')
    assert service(app).count("stock") == 1


def test_other_combinations_and_empty_fields_do_not_clash(app, places):
    stock(app, "A", product=places["p1"], warehouse=places["w1"], code="X")
    stock(app, "B", product=places["p1"], warehouse=places["w2"], code="X")
    stock(app, "C", product=places["p2"], warehouse=places["w1"])
    stock(app, "D", product=places["p1"])
    stock(app, "E", product=places["p1"])

    assert service(app).count("stock") == 5


def test_a_combination_with_a_date_is_compared_by_value(app):
    stock(app, "A", code="X", since="2026-01-05")
    stock(app, "B", code="X", since="2026-01-06")

    problems = refusal(lambda: stock(app, "C", code="X", since="2026-01-05"))

    assert [p.where for p in problems] == ["code", "since"]


def test_soft_deleted_records_do_not_clash_until_restored(app, places):
    first = stock(app, "A", product=places["p1"], warehouse=places["w1"])
    service(app).delete("stock", first["id"], version=first["version"])

    stock(app, "B", product=places["p1"], warehouse=places["w1"])

    problems = refusal(lambda: service(app).restore("stock", first["id"]))
    assert [p.where for p in problems] == ["product", "warehouse"]


def test_a_batch_repeating_a_combination_names_the_later_row(app, places):
    rows = [{"name": n, "product": places["p1"], "warehouse": places["w2"]} for n in "AB"]

    problems = refusal(lambda: service(app).create_many("stock", rows))

    assert [p.where for p in problems] == ["row 2: product", "row 2: warehouse"]
    assert service(app).count("stock") == 0


def test_editing_into_a_clash_is_refused_and_keeping_ones_own_values_is_not(app, places):
    stock(app, "A", product=places["p1"], warehouse=places["w1"])
    second = stock(app, "B", product=places["p1"], warehouse=places["w2"])

    problems = refusal(lambda: service(app).update("stock", second["id"],
                                                   {"warehouse": places["w1"]}, 1))
    renamed = service(app).update("stock", second["id"], {"name": "B2"}, 1)

    assert [p.where for p in problems] == ["product", "warehouse"]
    assert renamed["name"] == "B2"


def test_a_race_the_database_catches_is_the_same_problem(app, places, monkeypatch):
    stock(app, "A", product=places["p1"], warehouse=places["w1"], code="X",
          since="2026-01-05")
    monkeypatch.setattr(records_module, "unique_problems", lambda *args: [])

    links = refusal(lambda: stock(app, "B", product=places["p1"], warehouse=places["w1"]))
    dated = refusal(lambda: stock(app, "C", code="X", since="2026-01-05"))

    assert [(p.where, p.code) for p in links] == [("product", "unique"),
                                                  ("warehouse", "unique")]
    assert [(p.where, p.code) for p in dated] == [("code", "unique"), ("since", "unique")]
    assert service(app).count("stock") == 1


# ---------------------------------------------------------------- forms

def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def errors_of(soup: BeautifulSoup, name: str) -> str:
    return soup.select_one(f'.field[data-field="{name}"] .field-errors')


def test_the_form_shows_the_clash_next_to_every_field_keeping_what_was_typed(app, places):
    first = stock(app, "A", product=places["p1"], warehouse=places["w1"])
    typed = {"name": "B", "product": str(places["p1"]), "warehouse": str(places["w1"]),
             "code": "Z9"}

    response = app.client().send("/stock/new", typed)

    assert response.status_code == 422
    soup = page(response)
    for name in ("product", "warehouse"):
        errors = errors_of(soup, name)
        assert errors.get_text(" ", strip=True) == (
            "Another stock item already has this product and warehouse: A .")
        assert errors.find("a")["href"] == f"/stock/{first['id']}"
        chosen = soup.find("select", attrs={"name": name}).find("option", selected=True)
        assert chosen["value"] == typed[name]
    assert soup.find("input", attrs={"name": "code"})["value"] == "Z9"
    assert service(app).count("stock") == 1


def test_the_form_says_the_combination_in_the_ui_language(app, places):
    stock(app, "A", product=places["p1"], warehouse=places["w1"])
    client = app.client()
    client.get("/?lang=ja")

    response = client.send("/stock/new", {"name": "B", "product": str(places["p1"]),
                                          "warehouse": str(places["w1"])})

    assert errors_of(page(response), "warehouse").get_text(strip=True) == (
        "この商品と倉庫は別の在庫（A）ですでに使われています。")


# ---------------------------------------------------------------- migrations

def unique_indexes(engine, table: str) -> dict[str, list[str]]:
    return {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes(table)
            if i["unique"]}


def insert(engine, table: str, *rows: dict) -> list[int]:
    target = sa.Table(table, sa.MetaData(), autoload_with=engine)
    at = {"created_at": NOW, "updated_at": NOW}
    with engine.begin() as conn:
        return [conn.execute(target.insert().values({**at, **row})).inserted_primary_key[0]
                for row in rows]


def coded(unique: list | None = None) -> dict:
    fields = {"title": {"type": "string"}, "code": {"type": "string"},
              "region": {"type": "string"}}
    return {"deal": {"fields": fields, **({"unique": unique} if unique else {})}}


def test_adding_a_combination_creates_its_index_and_removing_it_drops_it(engine, make_pack):
    migrate(engine, make_pack(coded()))
    insert(engine, "deal", {"code": "A", "region": "east"}, {"code": "A", "region": "west"},
           {"code": "A"}, {"code": "A"})

    added = migrate(engine, make_pack(coded([["code", "region"]])))
    created = unique_indexes(engine, "deal")
    removed = migrate(engine, make_pack(coded()))

    assert [s.kind for s in added.applied] == ["add_index"] and not added.blocking
    assert created == {"uq_deal_code__region": ["code", "region"]}
    assert [s.kind for s in removed.applied] == ["drop_index"]
    assert unique_indexes(engine, "deal") == {}


def test_a_combination_repeated_among_live_rows_is_refused_with_the_ids(engine, make_pack):
    migrate(engine, make_pack(coded()))
    ids = insert(engine, "deal", {"code": "A", "region": "east"},
                 {"code": "A", "region": "east"}, {"code": "B", "region": "east"},
                 {"code": "B", "region": "east", "deleted_at": NOW})

    result = migrate(engine, make_pack(coded([["code", "region"]])), apply_risky=True)

    [step] = result.refused
    assert (step.kind, step.detail["duplicated"], step.detail["examples"]) == (
        "add_index", 1, ids[:2])
    assert "make them unique" in step.description
    assert unique_indexes(engine, "deal") == {}


def test_the_app_starts_while_the_index_waits_and_still_refuses_new_repeats(make_app):
    plain = {**ENTITIES, "stock": {**STOCK, "unique": []}}
    before = service(make_app(plain))
    for name in "AB":
        before.create("stock", {"name": name, "code": "X", "since": "2026-01-05"})

    app = make_app(ENTITIES)

    [waiting] = app.extensions["karte"]["waiting"]
    assert waiting.step.kind == "add_index" and waiting.entity == "stock"
    assert "2 value" not in waiting.description and "1 value" in waiting.description
    problems = refusal(lambda: stock(app, "C", code="X", since="2026-01-05"))
    assert [p.where for p in problems] == ["code", "since"]
