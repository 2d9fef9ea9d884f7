"""Startup trusts the schema's fingerprint (issue 11, "Startup"): a database that the last
migration left matching the definitions is not read back, and any change of the pack, of
the engine's tables or index rules, or of the dialect brings the full comparison back.

Every test runs on SQLite, and on PostgreSQL when KARTE_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from karte import create_app
from karte.store import tables
from karte.store.migrate import fingerprint as fp
from karte.store.migrate import history, migrate
from karte.store.migrate import run as migrate_run
from karte.store.migrate.schema_history import HISTORY_ROWS
from karte.store.tables import build_metadata

CUSTOMER = {"fields": {"name": {"type": "string", "required": True},
                       "city": {"type": "string"}}}
DEAL = {"fields": {"title": {"type": "string"},
                   "customer": {"type": "link", "to": "customer"},
                   "amount": {"type": "integer"}}}


def defs(**deal_fields) -> dict:
    return {"customer": CUSTOMER,
            "deal": {"fields": {**DEAL["fields"], **deal_fields}}}


@pytest.fixture
def compares(monkeypatch):
    """How many times the migration compared the pack with the database."""
    calls = []
    original = migrate_run.compare

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(migrate_run, "compare", counted)
    return calls


def start(engine, pack):
    """What a start does: trust the fingerprint."""
    return migrate(engine, pack, full=False)


def statements(engine, action) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, *rest):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def index_names(engine, table: str) -> set[str]:
    return {i["name"] for i in sa.inspect(engine).get_indexes(table)}


def test_second_start_of_an_unchanged_pack_does_not_compare(engine, make_pack, compares):
    pack = make_pack(defs())
    first = start(engine, pack)
    assert compares == [1] and first.applied
    assert history(engine)[-1].definitions[fp.FINGERPRINT]
    again = make_pack(defs())             # the same files, read again by a new process
    sent = statements(engine, lambda: start(engine, again))
    result = start(engine, again)
    assert compares == [1]                 # neither start compared
    assert result.steps == () and result.definitions == history(engine)[-1].definitions
    # two statements: is there a history, and its newest row; no catalogue is read back
    assert len(sent) <= 3, sent
    assert not any("sqlite_master" in s or "information_schema" in s or "pg_catalog" in s
                   for s in sent[1:]), sent
    assert len(history(engine)) == 1


def test_karte_migrate_always_compares_and_records_nothing_new(engine, make_pack, compares):
    pack = make_pack(defs())
    migrate(engine, pack)
    migrate(engine, pack)
    assert compares == [1, 1] and len(history(engine)) == 1


def test_an_added_field_is_migrated_on_the_next_start(engine, make_pack, compares):
    start(engine, make_pack(defs()))
    result = start(engine, make_pack(defs(note={"type": "text"})))
    assert len(compares) == 2
    assert [(s.kind, s.column) for s in result.applied] == [("add_column", "note")]
    assert "note" in {c["name"] for c in sa.inspect(engine).get_columns("deal")}
    start(engine, make_pack(defs(note={"type": "text"})))
    assert len(compares) == 2              # matching again: trusted again


def test_a_type_change_is_planned_and_nothing_is_trusted_while_it_waits(
        engine, make_pack, compares):
    start(engine, make_pack(defs()))
    changed = defs(amount={"type": "string"})
    result = start(engine, make_pack(changed))
    assert len(compares) == 2
    assert [(s.kind, s.column) for s in result.waiting] == [("change_type", "amount")]
    assert history(engine)[-1].definitions[fp.FINGERPRINT] is None
    start(engine, make_pack(changed))
    assert len(compares) == 3              # it waits: every start looks again
    migrate(engine, make_pack(changed), apply_risky=True)
    start(engine, make_pack(changed))
    assert len(compares) == 4              # applied by `karte migrate --apply`, then trusted


def test_a_changed_engine_index_rule_is_migrated(engine, make_pack, compares, monkeypatch):
    start(engine, make_pack(defs()))
    original = tables._indexes

    def more(entity, table, dialect):
        original(entity, table, dialect)
        if entity.name == "deal":
            sa.Index("ix_deal_amount_title", table.c.amount, table.c.title)

    monkeypatch.setattr(tables, "_indexes", more)
    result = start(engine, make_pack(defs()))
    assert len(compares) == 2
    assert ("add_index", "amount, title") in [(s.kind, s.column) for s in result.applied]
    assert "ix_deal_amount_title" in index_names(engine, "deal")


def test_a_changed_engine_table_is_migrated(engine, make_pack, compares, monkeypatch):
    start(engine, make_pack(defs()))
    original = tables._engine_tables

    def more(metadata):
        original(metadata)
        metadata.tables["karte_user"].append_column(sa.Column("pager", sa.String(20)))

    monkeypatch.setattr(tables, "_engine_tables", more)
    result = start(engine, make_pack(defs()))
    assert len(compares) == 2
    assert ("add_column", "pager") in [(s.kind, s.column) for s in result.applied]


def test_an_index_made_after_the_migration_is_part_of_the_fingerprint(make_pack, monkeypatch):
    pack = make_pack(defs())
    dialect = sqlite.dialect()
    metadata = build_metadata(pack, "sqlite")
    before = fp.fingerprint(pack, metadata, dialect)

    def extra(pack, dialect_name):
        alone = sa.Table("deal", sa.MetaData(), sa.Column("title", sa.Text()))
        return [sa.Index("sx_deal_title", alone.c.title)]

    monkeypatch.setattr(fp, "EXTRA_INDEXES", [*fp.EXTRA_INDEXES, extra])
    with_index = fp.fingerprint(pack, metadata, dialect)
    assert with_index != before

    def search(pack, dialect_name):      # any DDL: a statement or SQL text
        return [sa.DDL("CREATE VIRTUAL TABLE deal_fts USING fts5(title)"),
                "CREATE TRIGGER deal_fts_ai AFTER INSERT ON deal BEGIN SELECT 1; END"]

    monkeypatch.setattr(fp, "EXTRA_INDEXES", [*fp.EXTRA_INDEXES, search])
    assert fp.fingerprint(pack, metadata, dialect) not in (before, with_index)


def test_the_fingerprint_differs_by_dialect_and_by_definitions(make_pack):
    pack = make_pack(defs())
    on_sqlite = fp.fingerprint(pack, build_metadata(pack, "sqlite"), sqlite.dialect())
    on_pg = fp.fingerprint(pack, build_metadata(pack, "postgresql"), postgresql.dialect())
    assert on_sqlite != on_pg
    again = make_pack(defs())
    assert fp.fingerprint(again, build_metadata(again, "sqlite"), sqlite.dialect()) \
        == on_sqlite
    labelled = make_pack({"customer": CUSTOMER, "deal": {**DEAL, "label": {"en": "Deal!"}}})
    assert fp.fingerprint(labelled, build_metadata(labelled, "sqlite"),
                          sqlite.dialect()) != on_sqlite


def test_a_fingerprint_of_another_database_is_not_trusted(engine, make_pack, compares):
    pack = make_pack(defs())
    start(engine, pack)
    other = "postgresql" if engine.dialect.name == "sqlite" else "sqlite"
    dialect = postgresql.dialect() if other == "postgresql" else sqlite.dialect()
    foreign = fp.fingerprint(pack, build_metadata(pack, other), dialect)
    with engine.begin() as conn:    # as if the history had been copied from the other one
        row = conn.execute(sa.select(HISTORY_ROWS.c.id, HISTORY_ROWS.c.definitions)).one()
        conn.execute(HISTORY_ROWS.update().where(HISTORY_ROWS.c.id == row.id)
                     .values(definitions={**row.definitions, fp.FINGERPRINT: foreign}))
    start(engine, make_pack(defs()))
    assert len(compares) == 2
    assert history(engine)[-1].definitions[fp.FINGERPRINT] != foreign


def test_an_index_dropped_by_hand_is_only_seen_by_karte_migrate(engine, make_pack):
    """Documented (docs/migrations.md): a start trusts the fingerprint, so an index dropped
    behind Karte's back stays missing until `karte migrate`, which always compares."""
    start(engine, make_pack(defs()))
    assert "ix_deal_customer" in index_names(engine, "deal")
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_deal_customer"))
    start(engine, make_pack(defs()))
    assert "ix_deal_customer" not in index_names(engine, "deal")
    result = migrate(engine, make_pack(defs()))
    assert ("add_index", "customer") in [(s.kind, s.column) for s in result.applied]
    assert "ix_deal_customer" in index_names(engine, "deal")


def test_an_older_history_without_fingerprint_is_compared_once(engine, make_pack, compares):
    start(engine, make_pack(defs()))
    with engine.begin() as conn:   # a database migrated before fingerprints existed
        row = conn.execute(sa.select(HISTORY_ROWS.c.id, HISTORY_ROWS.c.definitions)).one()
        old = {k: v for k, v in row.definitions.items() if k != fp.FINGERPRINT}
        conn.execute(HISTORY_ROWS.update().where(HISTORY_ROWS.c.id == row.id)
                     .values(definitions=old))
    start(engine, make_pack(defs()))
    start(engine, make_pack(defs()))
    assert len(compares) == 2
    assert history(engine)[-1].summary == "schema checked: the database matches the definitions"


def test_create_app_trusts_the_fingerprint_unless_told_to_compare(
        tmp_path, db_url, monkeypatch, compares):
    from tests.conftest import write_pack

    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    root = write_pack(tmp_path / "pack", defs())
    for _ in range(2):
        create_app(pack=root, database_url=db_url).extensions["karte"]["engine"].dispose()
    assert len(compares) == 1
    monkeypatch.setenv("KARTE_FULL_COMPARE", "1")
    app = create_app(pack=root, database_url=db_url)
    assert app.test_client().get("/healthz").status_code == 200
    app.extensions["karte"]["engine"].dispose()
    assert len(compares) == 2


@pytest.fixture
def builds(monkeypatch):
    """How many times the pack's whole metadata was built."""
    calls = []
    original = tables.build_metadata

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(tables, "build_metadata", counted)
    return calls


def test_an_unchanged_start_builds_no_table(engine, make_pack, tmp_path, builds, compares):
    cache = tmp_path / "cache"
    migrate(engine, make_pack(defs()), full=False, cache=cache)
    assert builds == [1]
    result = migrate(engine, make_pack(defs()), full=False, cache=cache)
    assert builds == [1] and compares == [1] and result.steps == ()


def test_a_remembered_fingerprint_is_made_again_after_a_code_change(
        engine, make_pack, tmp_path, builds, compares, monkeypatch):
    cache = tmp_path / "cache"
    migrate(engine, make_pack(defs()), full=False, cache=cache)
    monkeypatch.setattr(fp, "_code", lambda: "another version of karte")
    migrate(engine, make_pack(defs()), full=False, cache=cache)
    assert builds == [1, 1]     # made again from the DDL: the same, so still no comparison
    assert compares == [1]
    migrate(engine, make_pack(defs()), full=False, cache=cache)
    assert builds == [1, 1]


def test_a_remembered_fingerprint_of_other_definitions_is_not_used(
        engine, make_pack, tmp_path, compares):
    cache = tmp_path / "cache"
    migrate(engine, make_pack(defs()), full=False, cache=cache)
    result = migrate(engine, make_pack(defs(note={"type": "text"})), full=False, cache=cache)
    assert compares == [1, 1] and [s.column for s in result.applied] == ["note"]


def test_the_records_service_builds_each_table_when_first_used(engine, make_pack, builds):
    from karte.store import Records

    pack = make_pack(defs(tags={"type": "links", "to": "customer"}))
    migrate(engine, pack)
    builds.clear()
    records = Records(engine, pack)
    lazy = records.store.tables
    assert builds == [] and set(lazy) == set(build_metadata(pack).tables)
    assert lazy.metadata.tables.keys() == set(tables.ENGINE_METADATA.tables)
    customer = records.create("customer", {"name": "Acme"})
    records.create("deal", {"title": "Big", "customer": customer["id"],
                            "tags": [customer["id"]]})
    assert {"customer", "deal", "deal__tags"} <= set(lazy.metadata.tables)
    full = build_metadata(pack, engine.dialect.name)
    for name in ("customer", "deal", "deal__tags"):
        assert str(sa.schema.CreateTable(lazy[name]).compile(dialect=engine.dialect)) == \
            str(sa.schema.CreateTable(full.tables[name]).compile(dialect=engine.dialect))
        assert sorted(i.name for i in lazy[name].indexes) == \
            sorted(i.name for i in full.tables[name].indexes)
    with pytest.raises(KeyError):
        lazy["nothing"]


def test_tables_built_on_first_use_are_built_once_across_threads(make_pack):
    from concurrent.futures import ThreadPoolExecutor

    from karte.store.lazy_tables import LazyTables

    pack = make_pack({f"e{i}": {"fields": {"name": {"type": "string"},
                                           "n": {"type": "integer"}}} for i in range(30)})
    lazy = LazyTables(pack, "sqlite")
    names = [f"e{i}" for i in range(30)] * 8
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda name: (name, lazy[name], set(lazy[name].c.keys())),
                              names))
    for name, table, columns in found:
        assert table is lazy[name] and {"id", "name", "n", "deleted_at"} <= columns


def test_search_indexes_that_cannot_be_made_leave_the_next_start_comparing(
        engine, make_pack, compares, monkeypatch):
    """PostgreSQL without pg_trgm (a role that may not enable it): the database is not
    left matching, so no fingerprint is stored and a start after the superuser enabled the
    extension runs the migration again, which makes the indexes."""
    from karte.store import search_index

    pack = make_pack(defs())
    monkeypatch.setattr(search_index, "ensure", lambda conn, pack: False)
    start(engine, pack)
    assert history(engine)[-1].definitions[fp.FINGERPRINT] is None
    start(engine, pack)
    assert compares == [1, 1]
    monkeypatch.undo()
    start(engine, pack)
    assert history(engine)[-1].definitions[fp.FINGERPRINT]


def test_the_search_indexes_are_part_of_the_fingerprint(make_pack):
    """The DDL of the FTS tables, their triggers and the trigram indexes is hashed, so a
    change in how search is indexed (not only in the definitions) changes the fingerprint."""
    pack = make_pack({"customer": {**CUSTOMER, "list": {"search": ["name", "city"]}}})
    metadata = tables.metadata_for(pack, "sqlite")
    lines = list(fp.schema_lines(pack, metadata, sqlite.dialect()))
    assert any("fts5" in line and "trigram" in line for line in lines)
    assert any("AFTER UPDATE OF" in line for line in lines)
    pg_lines = list(fp.schema_lines(pack, tables.metadata_for(pack, "postgresql"),
                                    postgresql.dialect()))
    assert any("gin_trgm_ops" in line and '"city"' in line for line in pg_lines)
