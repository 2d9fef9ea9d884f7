"""Bulk inserts by COPY on PostgreSQL (store/bulk_insert.py, issue 11): a batch large
enough to be copied stores exactly what `create` row by row stores (records, links,
lines, audit JSON, stage history, UTC times), and text holding NUL is refused before
anything is sent, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from karte.store import Records
from karte.store.bulk_insert import COPY_FROM, insert_rows
from karte.store.errors import ValidationFailed
from karte.store.migrate import migrate
from tests.conftest import DATABASES, fresh_database
from tests.test_bulk_writes import ENTITIES, FLOW, NOW, _service, _setup, _stored


@pytest.fixture
def pack(make_pack):
    return make_pack(ENTITIES, {"quote_flow": FLOW})


def _many_quotes() -> list[dict[str, Any]]:
    """More quotes, lines, links, audit rows and stage moves than COPY_FROM."""
    return [{"title": f"Quote {i}", "customer": 1 + i % 2, "also": [1, 2][: i % 3],
             "stage": ["draft", "sent", "won"][i % 3],
             "lines": [{"product": 1 + (i + n) % 2, "quantity": f"{n}.5"}
                       for n in range(1 + i % 3)]}
            for i in range(COPY_FROM + 10)]


@pytest.mark.parametrize("kind", DATABASES)
def test_a_copied_batch_stores_what_create_stores_row_by_row(kind, pack):
    with fresh_database(kind) as one_url, fresh_database(kind) as many_url:
        one, many = _service(one_url, pack), _service(many_url, pack)
        _setup(one)
        _setup(many)
        made_one = [one.create("quote", row, moving=True)["id"] for row in _many_quotes()]
        made_many = many.create_many("quote", _many_quotes(), moving=True)

        assert made_many == made_one
        stored_one, stored_many = _stored(one), _stored(many)
        assert stored_many == stored_one
        assert len(stored_many["quote_line"]) >= COPY_FROM
        assert stored_many["quote"][0]["created_at"] == NOW
        one.engine.dispose()
        many.engine.dispose()


def test_nul_in_a_copied_batch_is_refused_and_nothing_is_written(engine, pack):
    service = Records(engine, pack)
    migrate(engine, pack)
    audit = service.store.tables["karte_audit"]
    rows = [{"entity": "quote", "record_id": n, "action": "create", "user_id": None,
             "at": NOW, "changes": {"title": [None, "ok"]}} for n in range(COPY_FROM + 5)]
    rows[-1]["action"] = "hidden\x00"

    with pytest.raises(ValidationFailed) as error, engine.begin() as conn:
        insert_rows(conn, audit, rows)

    assert error.value.problems[0].code == "nul"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar_one() == 0


def test_copied_rows_read_back_as_executemany_writes_them(engine, pack):
    service = Records(engine, pack)
    migrate(engine, pack)
    audit = service.store.tables["karte_audit"]
    rows = [{"entity": "quote", "record_id": n, "action": "create", "user_id": None,
             "at": NOW, "changes": {"n": [None, str(n)], "version": [None, 1]}}
            for n in range(COPY_FROM + 5)]
    with engine.begin() as conn:
        insert_rows(conn, audit, rows)
        insert_rows(conn, audit, rows[:2])              # few rows: executemany
    with engine.connect() as conn:
        found = [dict(r) for r in conn.execute(
            sa.select(audit).order_by(audit.c.id)).mappings()]
    assert [{k: r[k] for k in rows[0]} for r in found] == rows + rows[:2]


def test_collections_are_fewer_while_bulk_writes_run_and_restored_after():
    import gc

    from karte.store.records.gc_pause import BULK_THRESHOLD, fewer_collections

    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == max(before[0], BULK_THRESHOLD)
        with fewer_collections():                   # overlapping writes share the raise
            assert gc.get_threshold()[0] == max(before[0], BULK_THRESHOLD)
        assert gc.get_threshold()[0] == max(before[0], BULK_THRESHOLD)
    assert gc.get_threshold() == before
    try:
        with fewer_collections():
            raise ValueError
    except ValueError:
        pass
    assert gc.get_threshold() == before
