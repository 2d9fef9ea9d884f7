"""Keyset export (`Records.iterate`, `/<entity>/export.csv`): every row of the view exactly
once, in the list's order, for every kind of sort; rows written between batches never make
an existing row appear twice or go missing; filters, search, read scope and hidden fields
are the list's own."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re

import pytest

from karte.store import Records
from karte.store.actor import Actor
from karte.store.migrate import migrate

ENTITIES = {
    "item": {"name": "item", "title_field": "name", "fields": {
        "name": {"type": "string"},
        "size": {"type": "integer"},
        "due": {"type": "date"},
        "level": {"type": "enum", "options": ["low", "mid", "high"]},
        "maker": {"type": "link", "to": "maker"},
        "secret": {"type": "string"}},
        "list": {"search": ["name", "secret"], "sort": "name",
                 "filters": ["level", "size"]},
        "permissions": {"sales": {"hidden": ["secret"]}}},
    "maker": {"name": "maker", "title_field": "name",
              "fields": {"name": {"type": "string"}}},
}
ROLES = {"sales": {"*": {"read": "all", "create": True, "update": "all", "delete": False}}}
SORTS = ["name", "-name", "size", "-size", "due", "-due", "level", "-level", "maker",
         "-maker", "-updated_at", "updated_at", "-id"]
NAMES = ["beta", None, "alpha", "beta", "Gamma", None, "alpha", "delta", "beta", "épée"]


@pytest.fixture
def service(engine, make_pack) -> Records:
    pack = make_pack(ENTITIES, pack={"roles": ROLES})
    migrate(engine, pack)
    records = Records(engine, pack)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ticks = itertools.count()
    records.store.clock = lambda: start + dt.timedelta(minutes=next(ticks) % 7)
    makers = [records.create("maker", {"name": name})["id"] for name in ("Zed", "Abe", None)]
    for n, name in enumerate(NAMES * 3):
        records.create("item", {
            "name": name, "size": None if n % 4 == 0 else n % 5,
            "due": None if n % 3 == 0 else f"2026-0{n % 4 + 1}-1{n % 3}",
            "level": [None, "high", "low", "mid"][n % 4],
            "maker": [None, *makers][n % 4], "secret": f"s{n}"})
    return records


def every(records: Records, size: int, **view) -> list[dict]:
    return [row for batch in records.iterate("item", batch=size, **view) for row in batch]


def paged(records: Records, **view) -> list[dict]:
    return records.query("item", limit=1000, **view)


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("size", [1, 3, 1000])
def test_every_row_once_in_the_lists_order(service, sort, size):
    expected = [row["id"] for row in paged(service, sort=sort)]
    assert len(expected) == len(NAMES) * 3
    assert [row["id"] for row in every(service, size, sort=sort)] == expected


def test_the_default_sort_and_its_empty_names_last(service):
    found = every(service, 2)
    assert [row["id"] for row in found] == [row["id"] for row in paged(service)]
    assert [row["name"] for row in found][-6:] == [None] * 6


def test_filters_search_and_batches_of_the_size_asked(service):
    view = {"where": {"field": "level", "op": "=", "value": "low"}, "search": "ALP",
            "sort": "-size"}
    batches = list(service.iterate("item", batch=2, **view))
    assert all(len(batch) <= 2 for batch in batches)
    found = [row for batch in batches for row in batch]
    assert found and all(row["level"] == "low" and "alp" in row["name"] for row in found)
    assert [row["id"] for row in found] == [row["id"] for row in paged(service, **view)]


def test_hidden_fields_are_stripped_and_cannot_be_searched(service):
    sales = Actor(1, "s@example.com", role="sales")
    found = every(service, 4, actor=sales)
    assert len(found) == len(NAMES) * 3 and all("secret" not in row for row in found)
    assert every(service, 4, actor=sales, search="s1") == []
    assert len(every(service, 4, search="s1")) > 0


@pytest.mark.parametrize("sort", ["name", "-name", "-updated_at", "size", "-level"])
def test_rows_written_between_batches_never_repeat_or_lose_a_row(service, sort):
    before = [row["id"] for row in paged(service, sort=sort)]
    seen: list[int] = []
    for n, batch in enumerate(service.iterate("item", sort=sort, batch=2)):
        seen += [row["id"] for row in batch]
        for name in ("aaa", "zzz", None, "beta"):      # before, after and among the rows
            service.create("item", {"name": name, "size": n % 5})
    assert len(seen) == len(set(seen))
    assert set(before) <= set(seen)
    assert [id for id in seen if id in set(before)] == before


def test_rows_deleted_between_batches_do_not_shift_the_rest(service):
    before = [row["id"] for row in paged(service, sort="size")]
    seen: list[int] = []
    for batch in service.iterate("item", sort="size", batch=3):
        seen += [row["id"] for row in batch]
        gone = [id for id in before if id not in seen][:1]
        for id in gone:
            service.delete("item", id)
            before.remove(id)
    assert seen == before


# ---------------------------------------------------------------- the CSV route

def exported(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_csv_keeps_the_view_and_hides_hidden_columns(make_app):
    app = make_app(ENTITIES, pack={"roles": ROLES},
                   config={"KARTE_EXPORT_BATCH": 2})
    records = app.extensions["karte"]["records"]
    for n, name in enumerate(NAMES):
        records.create("item", {"name": name, "size": n, "level": "low" if n % 2 else "high",
                                "secret": f"hush{n}"})
    rows = exported(app.client("sales").get("/item/export.csv?sort=-size&f.level=low"))
    assert "Secret" not in rows[0]
    assert not any("hush" in cell for row in rows for cell in row)
    size = rows[0].index("Size")
    assert [row[size] for row in rows[1:]] == ["9", "7", "5", "3", "1"]
    everything = exported(app.client().get("/item/export.csv"))
    assert len(everything) == len(NAMES) + 1 and "Secret" in everything[0]


# ---------------------------------------------------------------- plans

def _plan(engine, query) -> str:
    """The plan, with the statistics the app gathers at startup (`refresh_statistics`)."""
    from karte.store.db import refresh_statistics

    refresh_statistics(engine, full=True)
    sql = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # a tiny table: prove the index path exists (ties on the key may be sorted by
            # id as they come, "Incremental Sort"; never the whole table)
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_sort = off")
            return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
        return "\n".join(str(row[-1]) for row in
                         conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))


@pytest.mark.parametrize(("sort", "last", "index"), [
    ("name", ("beta", 5), "ix_item_name"), ("-name", ("beta", 5), "ix_item_name"),
    ("size", (3, 5), "ix_item_size"), ("-size", (3, 5), "ix_item_size")])
def test_a_later_batch_starts_in_the_sort_index_without_sorting(service, engine, sort, last,
                                                                index):
    from karte.store.records.keyset import keyset

    entity = service.store.entity("item")
    plan = keyset(service.store, entity, sort=sort)
    for query in (plan.next_keyed(None, 500), plan.next_keyed(last, 500)):
        shown = _plan(engine, query)
        assert index in shown, shown
        assert "TEMP B-TREE" not in shown, shown
        assert not re.search(r"(^|-> +)Sort ", shown, re.M), shown
    shown = _plan(engine, plan.next_empty(5, 500))
    assert "SCAN item\n" not in shown + "\n" and "Seq Scan" not in shown, shown
