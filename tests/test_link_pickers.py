"""Link pickers and link filters by index (`karte.store.title_index`, `lookup.pick`): a
big target table is read through its case-folded title index (EXPLAIN on both databases),
titles starting with the text, case folded, `%` and `_` literal, within the read scope;
a small table keeps offering every title containing the text; the migration creates the
index and never proposes to drop it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from karte.store import Records, lookup, title_index
from karte.store.actor import Actor
from karte.store.migrate import migrate, plan

ENTITIES = {
    "maker": {"name": "maker", "title_field": "name",
              "fields": {"name": {"type": "string"}}},
    "item": {"name": "item", "title_field": "title",
             "fields": {"title": {"type": "string"}, "maker": {"type": "link", "to": "maker"}}},
}
ROLES = {"rep": {"*": {"read": "own", "create": True, "update": "own", "delete": False}}}
NAMES = ["Acme", "acme japan", "ACME Holdings", "Globex Acme", "50% off", "50x off",
         "a_b", "axb", None, "Zeta"]


@pytest.fixture
def service(engine, make_pack) -> Records:
    pack = make_pack(ENTITIES, pack={"roles": ROLES})
    migrate(engine, pack)
    records = Records(engine, pack)
    for name in NAMES:
        records.create("maker", {"name": name})
    return records


@pytest.fixture
def big(monkeypatch):
    """Every table counts as big: pickers take the index path."""
    monkeypatch.setattr(lookup, "SMALL", 2)


def titles(found: list[tuple[int, str]]) -> list[str]:
    return [title for _id, title in found]


def test_the_migration_makes_the_index_and_then_has_nothing_to_do(service, engine):
    listed = ("SELECT name FROM sqlite_master WHERE type = 'index'"
              if engine.dialect.name == "sqlite" else
              "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    with engine.connect() as conn:
        names = set(conn.exec_driver_sql(listed).scalars())
    assert "kx_maker_name_fold" in names            # a link's target
    assert "kx_item_title_fold" not in names        # no link points to items
    assert [s for s in plan(engine, service.store.pack).steps if not s.is_note] == []
    migrate(engine, service.store.pack)                # again: IF NOT EXISTS
    assert [s for s in plan(engine, service.store.pack).steps if not s.is_note] == []


def test_a_big_table_offers_titles_starting_with_the_text(service, big):
    found = titles(lookup.pick(service.store, "maker", " aCmE ", None))
    assert found == ["Acme", "acme japan", "ACME Holdings"]        # shortest first
    assert titles(lookup.pick(service.store, "maker", "50%", None)) == ["50% off"]
    assert titles(lookup.pick(service.store, "maker", "a_", None)) == ["a_b"]
    assert titles(lookup.pick(service.store, "maker", "acme", None, limit=2)) == [
        "Acme", "ACME Holdings"]                      # the first two in the index's order
    assert "" not in titles(lookup.pick(service.store, "maker", "", None, limit=100))
    assert len(lookup.pick(service.store, "maker", "", None, limit=100)) == len(NAMES) - 1


def test_a_small_table_still_finds_the_text_anywhere(service):
    found = titles(lookup.pick(service.store, "maker", "acme", None))
    assert found == ["Acme", "acme japan", "Globex Acme", "ACME Holdings"]
    assert len(lookup.pick(service.store, "maker", "", None, limit=100)) == len(NAMES)


def test_the_index_path_keeps_the_read_scope(service, engine, big):
    from karte.auth.users import add_user

    rep = Actor(add_user(engine, service.store.pack, "rep@example.com", "rep", None),
                "rep@example.com", role="rep")
    assert lookup.pick(service.store, "maker", "acme", rep) == []
    mine = service.create("maker", {"name": "Acme Mine"}, actor=rep)
    assert lookup.pick(service.store, "maker", "acme", rep) == [(mine["id"], "Acme Mine")]


def _plan(engine: sa.Engine, query: sa.Select) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")    # a tiny table: prove it can
            sql = query.compile(engine, compile_kwargs={"literal_binds": True})
            return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
        sql = query.compile(engine, compile_kwargs={"literal_binds": True})
        return "\n".join(str(row[-1]) for row in
                         conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))


@pytest.mark.parametrize("typed", ["acm", ""])
def test_the_type_ahead_query_walks_the_title_index(service, engine, typed):
    table = service.store.table("maker")
    readable = sa.select(table.c.id, table.c.name).where(table.c.deleted_at.is_(None))
    shown = _plan(engine, lookup.prefixed(readable, table.c.name, typed, 20))
    assert "kx_maker_name_fold" in shown, shown
    assert "Seq Scan" not in shown and "SCAN maker\n" not in shown + "\n", shown
    if engine.dialect.name == "sqlite":
        assert "USE TEMP B-TREE FOR ORDER BY" not in shown, shown   # the index's order
    elif typed:
        assert "Index Cond" in shown, shown                          # a range, not a filter


def test_the_range_ends_just_past_the_prefix():
    assert title_index.after("ab") == "ac"
    assert title_index.after("") is None
    assert title_index.after("a\U0010ffff") is None


def test_the_picker_page_and_the_link_filter_take_the_index_path(make_app, big):
    entities = {**ENTITIES, "item": {**ENTITIES["item"],
                                     "list": {"filters": ["maker"], "columns": ["title"]}}}
    app = make_app(entities)
    records = app.extensions["karte"]["records"]
    ids = {name: records.create("maker", {"name": name})["id"] for name in NAMES if name}
    client = app.client()
    page = client.get("/maker/pick?q=acm").get_data(as_text=True)
    assert "acme japan" in page and "ACME Holdings" in page and "Globex Acme" not in page
    listing = client.get("/item/").get_data(as_text=True)
    assert f'value="{ids["Globex Acme"]}"' in listing and f'value="{ids["Zeta"]}"' in listing
