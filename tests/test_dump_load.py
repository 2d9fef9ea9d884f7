"""`karte dump` / `karte load` (issue 13, docs/dump.md): every table Karte owns to JSON
Lines and back, byte for byte the same whichever database it went through, all or
nothing, refusing what would lose or mix data."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from karte.auth.users import add_user, verify_password
from karte.config import REPO_ROOT
from karte.meta.load import load_pack
from karte.store import Records, stage_totals
from karte.store.actor import Actor
from karte.store.db import make_engine
from karte.store.dump import DumpError, dump, dumped_tables, load
from karte.store.dump import write as dump_write
from karte.store.migrate import migrate
from karte.store.tables import engine_table, metadata_for
from karte.store.timeline import Timeline
from karte.workflow import Workflows
from tests.conftest import PASSWORD, PG_URL, fresh_database

COMPANY = {"name": "company", "list": {"search": ["name"]}, "fields": {
    "name": {"type": "string", "required": True},
    "parent": {"type": "link", "to": "company", "on_delete": "set_null"},
    "main_contact": {"type": "link", "to": "contact", "on_delete": "set_null"},
    "tags": {"type": "multi_enum", "options": ["a", "b"]},
    "founded": {"type": "date"}, "active": {"type": "boolean"},
    "owner": {"type": "user"}}}
CONTACT = {"name": "contact", "fields": {
    "name": {"type": "string", "required": True},
    "company": {"type": "link", "to": "company", "on_delete": "cascade"},
    "friends": {"type": "links", "to": "contact"}}}
DEAL = {"name": "deal", "fields": {
    "title": {"type": "string"}, "amount": {"type": "money"},
    "company": {"type": "link", "to": "company", "on_delete": "cascade"}}}
FLOW = {"name": "sales", "entity": "deal", "field": "stage", "stages": [
    {"key": "new"}, {"key": "won", "final": "won"}], "moves": {"skip": True}}
PACK = {"name": "dumptest", "currency": "USD", "roles": {"sales": {"*": {"read": "all"}}}}
ADMIN_EMAIL = "admin@example.com"


@contextlib.contextmanager
def another_engine(kind: str, folder: Path) -> Iterator[sa.Engine]:
    """An engine on a second, empty database of the same kind."""
    folder.mkdir(parents=True, exist_ok=True)
    with fresh_database(kind, folder) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def fill(engine: sa.Engine, pack) -> dict:
    """A little of everything: a cycle of links, a self-link, a junction, a stage move,
    a note, a soft-deleted record, a user with a password, decimals, dates, JSON."""
    migrate(engine, pack)
    user_id = add_user(engine, pack, ADMIN_EMAIL, "admin", PASSWORD, name="Ada")
    actor = Actor(user_id, ADMIN_EMAIL)
    records = Records(engine, pack)
    acme = records.create("company", {"name": "Acme Kabushiki", "tags": ["a", "b"],
                                      "founded": dt.date(1999, 12, 31), "active": True,
                                      "owner": user_id}, actor)
    child = records.create("company", {"name": "Acme Child", "parent": acme["id"]}, actor)
    ann = records.create("contact", {"name": "Ann", "company": acme["id"]}, actor)
    bob = records.create("contact", {"name": "Bob", "company": child["id"],
                                     "friends": [ann["id"]]}, actor)
    records.update("company", acme["id"], {"main_contact": bob["id"]},
                   records.get("company", acme["id"])["version"], actor)
    deal = records.create("deal", {"title": "Big", "amount": Decimal("1200.50"),
                                   "company": acme["id"]}, actor)
    records.create("deal", {"title": "Small", "amount": Decimal("3"),
                            "company": child["id"]}, actor)
    Workflows(records).move("deal", deal["id"], "won", actor)
    gone = records.create("company", {"name": "Gone Ltd"}, actor)
    records.delete("company", gone["id"], actor)
    Timeline(records).add_note("company", acme["id"], "Called them 電話", actor)
    return {"acme": acme["id"], "gone": gone["id"], "user": user_id}


@pytest.fixture
def pack(make_pack):
    return make_pack({"company": COMPANY, "contact": CONTACT, "deal": DEAL},
                     {"sales": FLOW}, PACK)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.jsonl"))}


def test_a_dump_loads_into_an_empty_database_with_every_row_id_and_value(
        engine, pack, tmp_path):
    made = fill(engine, pack)
    first = dump(engine, pack, tmp_path / "one")
    lines = (tmp_path / "one" / "company.jsonl").read_text(encoding="utf-8").splitlines()
    acme = json.loads(lines[0])
    assert acme["founded"] == "1999-12-31" and acme["active"] is True
    assert acme["tags"] == ["a", "b"] and acme["main_contact"] is not None
    assert dt.datetime.fromisoformat(acme["created_at"]).utcoffset() == dt.timedelta(0)
    deal = json.loads((tmp_path / "one" / "deal.jsonl").read_text().splitlines()[0])
    assert deal["amount"] == "1200.50"
    everything = set(metadata_for(pack).tables)  # by rule: every table but these two
    assert set(files(tmp_path / "one")) == {
        f"{name}.jsonl" for name in everything - {"karte_session", "karte_stage_totals"}}
    assert [t["name"] for t in first["tables"]] == [t.name for t in dumped_tables(pack)]

    with another_engine(engine.dialect.name, tmp_path / "second") as target:
        load(target, pack, tmp_path / "one")
        dump(target, pack, tmp_path / "two")
        assert files(tmp_path / "two") == files(tmp_path / "one")
        records = Records(target, pack)
        # soft-deleted records stay soft-deleted, with their ids
        bin_ = records.query("company", include_deleted=True, where={
            "field": "id", "op": "=", "value": made["gone"]})
        assert bin_[0]["deleted_at"] is not None
        assert not records.query("company", where={"field": "id", "op": "=",
                                                   "value": made["gone"]})
        # new records take ids after the loaded ones (PostgreSQL: sequences advanced)
        fresh = records.create("company", {"name": "After the move"},
                               Actor(made["user"], ADMIN_EMAIL))
        assert fresh["id"] == made["gone"] + 1
        # the password hash came along: the user signs in with their password
        assert verify_password(target, ADMIN_EMAIL, PASSWORD) is not None
        assert verify_password(target, ADMIN_EMAIL, "wrong password") is None
        # the search index follows the loaded rows
        assert [r["name"] for r in records.query("company", search="kabushiki")] == [
            "Acme Kabushiki"]
        # the stage counters were rebuilt from the loaded deals
        with target.connect() as conn:
            held = stage_totals.held(conn)
        assert held[("deal", "stage", "won", "amount")] == (1, 120050)
        assert held[("deal", "stage", "new", "")] == (1, 0)


def test_a_database_holding_data_is_refused_and_replace_empties_it_first(
        engine, pack, tmp_path):
    made = fill(engine, pack)
    dump(engine, pack, tmp_path / "d")
    records = Records(engine, pack)
    extra = records.create("company", {"name": "Made after the dump"})
    with engine.begin() as conn:
        now = dt.datetime.now(dt.UTC)
        conn.execute(engine_table("karte_session").insert().values(
            token_hash="0" * 64, user_id=made["user"], created_at=now, last_seen_at=now))
    with pytest.raises(DumpError, match="already holds data.*--replace"):
        load(engine, pack, tmp_path / "d")
    assert records.get("company", extra["id"])["name"] == "Made after the dump"

    load(engine, pack, tmp_path / "d", replace=True)
    assert not records.query("company", include_deleted=True,
                             where={"field": "name", "op": "=",
                                    "value": "Made after the dump"})
    dump(engine, pack, tmp_path / "again")
    assert files(tmp_path / "again") == files(tmp_path / "d")
    with engine.connect() as conn:  # no sign-in of the replaced data survives
        assert conn.execute(sa.text("SELECT count(*) FROM karte_session")).scalar() == 0
    assert verify_password(engine, ADMIN_EMAIL, PASSWORD).id == made["user"]


def _rewrite(folder: Path, name: str, change) -> None:
    """Change a table file and make the manifest agree (a dump that passes the checks)."""
    path = folder / name
    path.write_bytes(change(path.read_bytes()))
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["tables"]:
        if entry["file"] == name:
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_a_load_that_fails_half_way_changes_nothing(engine, pack, tmp_path):
    fill(engine, pack)
    dump(engine, pack, tmp_path / "d")
    before = files(tmp_path / "d")
    # the last table of the load refuses a row: every table loaded before it goes too
    _rewrite(tmp_path / "d", "deal.jsonl",
             lambda data: data.replace(b'"created_at":"', b'"created_at":null,"x":"', 1))
    with pytest.raises(DumpError, match=r"deal\.jsonl: a row could not be stored"):
        load(engine, pack, tmp_path / "d", replace=True)
    dump(engine, pack, tmp_path / "after")
    assert files(tmp_path / "after") == before


def test_an_altered_or_missing_file_is_refused_by_name(engine, pack, tmp_path):
    fill(engine, pack)
    dump(engine, pack, tmp_path / "d")
    with another_engine(engine.dialect.name, tmp_path / "second") as target:
        contact = tmp_path / "d" / "contact.jsonl"
        contact.write_bytes(contact.read_bytes().replace(b"Ann", b"Anne"))
        with pytest.raises(DumpError, match=r"contact\.jsonl: altered"):
            load(target, pack, tmp_path / "d")
        contact.unlink()
        with pytest.raises(DumpError, match=r"contact\.jsonl: missing"):
            load(target, pack, tmp_path / "d")
        (tmp_path / "d" / "manifest.json").unlink()
        with pytest.raises(DumpError, match="no manifest"):
            load(target, pack, tmp_path / "d")
        assert not sa.inspect(target).get_table_names()  # nothing was even migrated


def test_a_dump_of_other_definitions_is_refused_unless_forced_after_a_plan(
        engine, pack, make_pack, tmp_path):
    fill(engine, pack)
    dump(engine, pack, tmp_path / "d")
    changed = {**COMPANY, "fields": {k: v for k, v in COMPANY["fields"].items()
                                     if k != "tags"} | {"size": {"type": "integer"}}}
    other = make_pack({"company": changed, "contact": CONTACT, "deal": DEAL},
                      {"sales": FLOW}, PACK)
    with another_engine(engine.dialect.name, tmp_path / "second") as target:
        with pytest.raises(DumpError, match="definitions differ.*--force"):
            load(target, other, tmp_path / "d")
        said: list[str] = []
        plan = load(target, other, tmp_path / "d", force=True, echo=said.append)
        assert plan.dropped_columns == {"company": ["tags"]}
        assert plan.missing_columns == {"company": ["size"]}
        text = "\n".join(said)
        assert "company.tags: not in this pack, will not load" in text
        assert "company.size: not in the dump, stays empty" in text
        names = [r["name"] for r in Records(target, other).query("company")]
        assert sorted(names) == ["Acme Child", "Acme Kabushiki"]
        # this database's own schema history is kept: it describes its tables
        with target.connect() as conn:
            packs = conn.execute(sa.text("SELECT definitions FROM karte_schema_history"))
            fields = [json.loads(d) if isinstance(d, str) else d for (d,) in packs]
        assert "size" in fields[-1]["entities"]["company"]["fields"]


def test_a_failed_dump_leaves_no_folder_behind(engine, pack, tmp_path, monkeypatch):
    fill(engine, pack)
    real, calls = dump_write._table, []

    def breaks(conn, table, path, *scanning):
        calls.append(table.name)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(conn, table, path, *scanning)

    monkeypatch.setattr(dump_write, "_table", breaks)
    with pytest.raises(OSError, match="disk full"):
        dump(engine, pack, tmp_path / "out" / "d")
    assert calls and not list((tmp_path / "out").iterdir())  # no DIR, no partial folder
    monkeypatch.setattr(dump_write, "_table", real)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(DumpError, match="not an empty folder"):
        dump(engine, pack, tmp_path / "full")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured: set "
                    "KARTE_TEST_DATABASE_URL to run the SQLite → PostgreSQL round trip")
def test_demo_data_goes_sqlite_to_postgresql_to_sqlite_unchanged(tmp_path):
    from karte.demo import fill as demo_fill

    standard = load_pack(REPO_ROOT)
    seen = []
    with contextlib.ExitStack() as stack:
        engines = [stack.enter_context(another_engine(kind, tmp_path / f"db{n}"))
                   for n, kind in enumerate(["sqlite", "postgresql", "sqlite"])]
        migrate(engines[0], standard)
        (tmp_path / "instance").mkdir()
        unmade = demo_fill(engines[0], standard, size=150, seed=7, if_empty=False,
                           instance=tmp_path / "instance", echo=lambda *_: None)
        assert not unmade
        records = Records(engines[0], standard)
        deal = records.query("deal", limit=1)[0]
        records.delete("deal", deal["id"])
        dump(engines[0], standard, tmp_path / "d0")
        for n, target in enumerate(engines[1:], start=1):
            assert target.dialect.name == ("postgresql" if n == 1 else "sqlite")
            load(target, standard, tmp_path / f"d{n - 1}")
            dump(target, standard, tmp_path / f"d{n}")
        for engine in engines:
            seen.append(_state(engine, standard))
    first, last = files(tmp_path / "d0"), files(tmp_path / "d2")
    assert first == last and files(tmp_path / "d1") == first
    assert len(first["karte_audit.jsonl"].splitlines()) > 150
    assert seen[0] == seen[1] == seen[2]


def _state(engine: sa.Engine, pack) -> dict:
    """Records (the bin included) as the service reads them, and the engine's tables."""
    records = Records(engine, pack)
    found: dict = {name: records.query(name, limit=1000, include_deleted=True)
                   for name in pack.entities}
    with engine.connect() as conn:
        for name in ("karte_audit", "karte_stage_move", "karte_user", "karte_note"):
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            found[name] = [dict(r) for r in conn.execute(
                sa.select(table).order_by(table.c.id)).mappings()]
            for row in found[name]:
                row.update({k: v.replace(tzinfo=None) for k, v in row.items()
                            if isinstance(v, dt.datetime)})
                if isinstance(row.get("changes"), str):
                    row["changes"] = json.loads(row["changes"])
    return found


def test_a_loaded_user_signs_in_to_the_app_with_their_old_password(
        engine, pack, tmp_path, monkeypatch):
    from karte import create_app
    from tests.conftest import Client

    fill(engine, pack)
    dump(engine, pack, tmp_path / "d")
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    (tmp_path / "target").mkdir()
    with fresh_database(engine.dialect.name, tmp_path / "target") as url:
        target = make_engine(url)
        load(target, pack, tmp_path / "d")
        target.dispose()
        app = create_app(pack=pack.root, database_url=url,
                         config={"TESTING": True, "RATELIMIT_ENABLED": False})
        app.test_client_class = Client
        try:
            client = app.test_client()
            client.sign_in(ADMIN_EMAIL)  # asserts the redirect of a good sign-in
            page = client.get("/company/").get_data(as_text=True)
            assert "Acme Kabushiki" in page and "Gone Ltd" not in page
        finally:
            app.extensions["karte"]["engine"].dispose()


THING = {"name": "thing", "fields": {
    "name": {"type": "string"}, "notes": {"type": "text"}, "amount": {"type": "money"},
    "when": {"type": "date"}, "tags": {"type": "multi_enum", "options": ["a", "b"]}}}
MANY = 6_000


def _peak(work) -> int:
    """The most memory Python held at once while `work` ran, in bytes."""
    import tracemalloc

    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_dump_and_load_stream_a_table_instead_of_holding_it(engine, make_pack, tmp_path,
                                                           monkeypatch):
    from karte.store.bulk_insert import insert_rows
    dump_load = importlib.import_module("karte.store.dump.load")  # the module

    monkeypatch.setattr(dump_write, "BATCH", 200)   # memory follows the batch, not the table
    monkeypatch.setattr(dump_load, "BATCH", 200)
    pack = make_pack({"thing": THING}, None, PACK)
    migrate(engine, pack)
    now = dt.datetime.now(dt.UTC)
    table = metadata_for(pack).tables["thing"]
    with engine.begin() as conn:
        for start in range(0, MANY, 2000):
            insert_rows(conn, table, [
                {"id": i, "version": 1, "created_at": now, "updated_at": now,
                 "name": f"Thing {i} 品目", "notes": "words " * 300, "amount": Decimal(i) / 100,
                 "when": dt.date(2026, 1, 1 + i % 28), "tags": ["a"]}
                for i in range(start + 1, start + 2001)])
    cursors = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda conn, cursor, *_: cursors.append(type(cursor).__name__))
    dumping = _peak(lambda: dump(engine, pack, tmp_path / "d"))
    size = (tmp_path / "d" / "thing.jsonl").stat().st_size
    assert size > 10_000_000
    # the whole table as Python rows would take more than the file's size
    assert dumping < size / 3, (dumping, size)
    if engine.dialect.name == "postgresql":   # libpq's buffer is not Python's: see that
        assert "ServerCursor" in cursors      # the rows came by a server-side cursor
    with another_engine(engine.dialect.name, tmp_path / "second") as target:
        loading = _peak(lambda: load(target, pack, tmp_path / "d"))
        assert loading < size / 3, (loading, size)
        with target.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM thing")).scalar() == MANY


def test_a_forced_load_into_a_column_that_cannot_hold_the_values_names_the_file(
        engine, pack, make_pack, tmp_path):
    fill(engine, pack)
    dump(engine, pack, tmp_path / "d")
    fields = {**COMPANY["fields"], "founded": {"type": "decimal"}}  # was a date
    other = make_pack({"company": {**COMPANY, "fields": fields}, "contact": CONTACT,
                       "deal": DEAL}, {"sales": FLOW}, PACK)
    with another_engine(engine.dialect.name, tmp_path / "second") as target:
        with pytest.raises(DumpError, match=r"company\.jsonl: a row could not be read"):
            load(target, other, tmp_path / "d", force=True)
        with target.connect() as conn:  # all or nothing: not even the users stayed
            assert conn.execute(sa.text("SELECT count(*) FROM karte_user")).scalar() == 0


def test_a_dump_warns_of_the_retired_columns_and_tables_it_leaves_behind(
        engine, pack, make_pack, tmp_path):
    fill(engine, pack)
    fields = {k: v for k, v in COMPANY["fields"].items() if k != "active"}
    smaller = make_pack({"company": {**COMPANY, "fields": fields}, "contact": CONTACT},
                        None, PACK)  # the field `active` and the entity `deal` removed
    migrate(engine, smaller)         # keeps their data: a retired column, an old table
    said: list[str] = []
    manifest = dump(engine, smaller, tmp_path / "d", echo=said.append)
    assert manifest["left_out"]["columns"] == {"company": ["active"]}
    assert "deal" in manifest["left_out"]["tables"]
    assert ("warning: company.active is a retired column (its field was removed): not "
            "dumped; `karte migrate --purge company.active` backs it up to CSV") in said
    assert "warning: table deal is not in the pack (a removed entity?): not dumped" in said


def test_a_dump_made_before_the_reached_stages_column_fills_it_from_the_history(
        engine, pack, tmp_path):
    """A dump of a database older than `_stage_reached` (store/stage_reached.py): the load
    fills the column from the stage history it loaded, as the upgrading migration does."""
    fill(engine, pack)
    dump(engine, pack, tmp_path / "d")
    folder = tmp_path / "d"
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = next(e for e in manifest["tables"] if e["name"] == "deal")
    path = folder / entry["file"]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "_stage_reached"},
                                       sort_keys=True, ensure_ascii=False) + "\n"
                            for r in rows))
    entry["columns"].remove("_stage_reached")
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with another_engine(engine.dialect.name, tmp_path / "second") as target:
        load(target, pack, folder)
        table = metadata_for(pack).tables["deal"]
        with target.connect() as conn:
            found = dict(conn.execute(sa.select(table.c.title, table.c._stage_reached)).all())
    assert found == {"Big": "|new|won|", "Small": "|new|"}
