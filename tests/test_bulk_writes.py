"""Bulk writes (issue 11): `create_many` reads and writes per batch, not per row, and
stores exactly what `create` row by row stores — records, lines, junctions, rollups,
series numbers, audit rows and stage history — names each problem's row, and writes
nothing when one row is refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from karte.store import Records
from karte.store.db import make_engine
from karte.store.errors import ValidationFailed
from karte.store.migrate import migrate
from tests.conftest import DATABASES, fresh_database

ENTITIES = {
    "customer": {"name": "customer", "fields": {
        "name": {"type": "string", "required": True},
        "email": {"type": "email", "unique": True},
        "discount": {"type": "percent"},
        "quotes": {"type": "rollup", "of": "quote.customer", "agg": "count"},
        "quoted": {"type": "rollup", "of": "quote.customer", "agg": "sum", "field": "total",
                   "result": "money"}}},
    "product": {"name": "product", "fields": {
        "name": {"type": "string", "required": True}, "price": {"type": "money"}}},
    "quote": {"name": "quote", "fields": {
        "title": {"type": "string", "required": True},
        "number": {"type": "string", "series": "Q-{YYYY}-{####}"},
        "customer": {"type": "link", "to": "customer"},
        "discount": {"type": "percent", "fetch": "customer.discount"},
        "also": {"type": "links", "to": "customer"},
        "lines": {"type": "lines", "of": "quote_line", "max": 4},
        "total": {"type": "rollup", "of": "quote_line.quote", "agg": "sum", "field": "amount",
                  "result": "money"}}},
    "quote_line": {"name": "quote_line", "part_of": "quote", "title_field": "product",
                   "fields": {
                       "product": {"type": "link", "to": "product", "required": True},
                       "quantity": {"type": "decimal", "required": True, "min": 0},
                       "unit_price": {"type": "money", "fetch": "product.price"},
                       "amount": {"type": "formula", "formula": "quantity * unit_price",
                                  "result": "money"}}},
}
FLOW = {"name": "quote_flow", "entity": "quote", "field": "stage",
        "stages": [{"key": "draft"}, {"key": "sent"}, {"key": "won", "final": "won"}]}
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
SKIPPED = {"karte_schema_history", "karte_session"}


@pytest.fixture
def pack(make_pack):
    return make_pack(ENTITIES, {"quote_flow": FLOW})


def _service(url: str, pack: Any) -> Records:
    engine = make_engine(url)
    migrate(engine, pack)
    service = Records(engine, pack)
    service.store.clock = lambda: NOW
    return service


def _setup(service: Records) -> list[int]:
    """Two customers and two products by `create`: the same ids in both databases."""
    service.create_many("customer", [
        {"name": "Ann", "email": "ann@example.com", "discount": "10"},
        {"name": "Bob", "email": "bob@example.com"}])
    service.create_many("product", [{"name": "Cement", "price": "10"},
                                    {"name": "Sand", "price": "2.50"}])
    return [1, 2]


def _quotes() -> list[dict[str, Any]]:
    """Quotes with and without lines, links, placed stages, given and empty values."""
    rows = [{"title": "Given", "number": "Q-2026-0900", "customer": 2,    # an import's own
             "lines": [{"product": 2, "quantity": "1.5", "unit_price": "3"}]}]
    for i in range(7):
        lines = [{"product": 1 + (i + n) % 2, "quantity": str(n + i)} for n in range(i % 4)]
        rows.append({"title": f"Q{i}", "customer": 1 + i % 2 if i != 3 else None,
                     "also": [2, 1] if i % 3 == 0 else [], "lines": lines,
                     **({"stage": "sent"} if i % 2 else {})})
    return rows


def _stored(service: Records) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the writes touched, without the database's own ids of
    the audit and stage history rows (their order is compared instead)."""
    found = {}
    with service.engine.connect() as conn:
        for name, table in service.store.tables.items():
            if name in SKIPPED:
                continue
            order = [table.c[c] for c in ("entity", "record_id", "id") if c in table.c] \
                + list(table.primary_key.columns) or list(table.c)
            rows = [dict(r) for r in conn.execute(sa.select(table).order_by(*order)).mappings()]
            if name in ("karte_audit", "karte_stage_move"):
                rows = [{k: v for k, v in r.items() if k != "id"} for r in rows]
            found[name] = rows
    return found


@pytest.mark.parametrize("kind", DATABASES)
def test_create_many_stores_what_create_stores_row_by_row(kind, pack):
    with fresh_database(kind) as one_url, fresh_database(kind) as many_url:
        one, many = _service(one_url, pack), _service(many_url, pack)
        _setup(one)
        _setup(many)
        made_one = [one.create("quote", row, moving=True)["id"] for row in _quotes()]
        made_many = many.create_many("quote", _quotes(), batch_size=3, moving=True)

        assert made_many == made_one
        stored_one, stored_many = _stored(one), _stored(many)
        assert stored_many == stored_one
        # the facts the comparison rests on are there at all
        assert [q["number"] for q in stored_many["quote"]][:2] == ["Q-2026-0900",
                                                                  "Q-2026-0901"]
        assert sum(len(q) for q in stored_many["quote_line"]) > 0
        assert any("lines[3]" in a["changes"] for a in stored_many["karte_audit"])
        customers = {c["id"]: c for c in stored_many["customer"]}
        assert customers[1]["quotes"] == 4 and customers[2]["quotes"] == 3
        one.engine.dispose()
        many.engine.dispose()


def test_every_problem_names_its_row_and_nothing_is_written(engine, pack):
    service = Records(engine, pack)
    migrate(engine, pack)
    _setup(service)
    rows = _quotes()
    rows[2]["lines"][0]["product"] = 99           # a line linking to nothing
    rows[3]["lines"][1]["quantity"] = "-1"         # a line below its minimum
    rows[5]["customer"] = 77                       # a dead link on the record itself
    rows[6]["lines"] = [{"product": 1, "quantity": "1"}] * 5   # one line too many
    rows[7]["title"] = ""

    with pytest.raises(ValidationFailed) as error:
        service.create_many("quote", rows, batch_size=3, moving=True)

    assert [p.where for p in error.value.problems] == [
        "row 3: lines[1].product", "row 4: lines[2].quantity", "row 6: customer",
        "row 7: lines", "row 8: title"]
    assert "no product with id 99" in error.value.problems[0].message
    assert service.count("quote", include_deleted=True) == 0
    with engine.connect() as conn:
        for name in ("quote_line", "karte_audit", "karte_stage_move", "karte_series"):
            table = service.store.tables[name]
            rows_now = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            expected = 4 if name == "karte_audit" else 0      # the setup's customers, products
            assert rows_now == expected, name


def test_a_refusal_in_a_later_batch_undoes_the_earlier_batches(engine, pack):
    service = Records(engine, pack)
    migrate(engine, pack)
    _setup(service)
    rows = _quotes()
    rows[-1]["lines"][0]["product"] = 42

    with pytest.raises(ValidationFailed) as error:
        service.create_many("quote", rows, batch_size=2, moving=True)

    assert [p.where for p in error.value.problems] == [f"row {len(rows)}: lines[1].product"]
    assert service.count("quote", include_deleted=True) == 0
    assert service.get("customer", 1)["quotes"] == 0


def test_text_holding_nul_is_refused_in_bulk_too(engine, pack):
    service = Records(engine, pack)
    migrate(engine, pack)
    _setup(service)

    with pytest.raises(ValidationFailed) as error:
        service.create_many("quote", [{"title": "fine"}, {"title": "bad\x00"}])

    assert [p.where for p in error.value.problems] == ["row 2: title"]
    assert service.count("quote") == 0


@pytest.mark.parametrize("many", [1, 3])
def test_the_statement_guard_still_refuses_nul_in_any_row(engine, pack, many):
    service = Records(engine, pack)
    migrate(engine, pack)
    note = service.store.tables["karte_note"]
    rows = [{"entity": "quote", "record_id": n, "body": "ok", "created_at": NOW}
            for n in range(many)]
    rows[-1]["body"] = "hidden\x00"

    with pytest.raises(ValidationFailed), engine.begin() as conn:
        conn.execute(note.insert(), rows if many > 1 else rows[0])
    with pytest.raises(ValidationFailed), engine.begin() as conn:   # one multi-row INSERT
        conn.execute(note.insert().values(rows))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(note)).scalar_one() == 0
