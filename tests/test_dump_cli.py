"""`karte dump DIR` and `karte load DIR` as an admin moving a database uses them:
progress per table, refusals that say what to do (exit 1, never a traceback), and the
data on the other side."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from karte.cli import main
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.db import make_engine
from tests.conftest import fresh_database, write_pack

CUSTOMER = {"fields": {"name": {"type": "string", "required": True},
                       "revenue": {"type": "money"}}}
PACK = {"name": "mini", "currency": "EUR", "roles": {"sales": {"*": {"read": "all"}}}}


@pytest.fixture
def cli(tmp_path, db_url, monkeypatch):
    """invoke(database URL, *args) runs `karte ...` on that database with the pack."""
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    pack = write_pack(tmp_path / "pack", {"customer": CUSTOMER}, pack=PACK)
    runner = CliRunner()

    def invoke(url, *args, pack_dir=pack):
        monkeypatch.setenv("KARTE_DATABASE_URL", url)
        result = runner.invoke(main, [*args, "--pack", str(pack_dir)])
        assert "Traceback" not in result.output, result.output
        return result

    return invoke, pack


def test_dump_then_load_moves_the_records_and_says_so_per_table(cli, db_url, tmp_path):
    invoke, pack = cli
    kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    assert invoke(db_url, "migrate").exit_code == 0
    engine = make_engine(db_url)
    Records(engine, load_pack(pack)).create("customer", {"name": "Yamada 山田",
                                                        "revenue": "1200.5"})
    engine.dispose()
    dumped = invoke(db_url, "dump", str(tmp_path / "d"))
    assert dumped.exit_code == 0, dumped.output
    assert "customer: 1 rows" in dumped.output and "karte_user: 0 rows" in dumped.output
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["pack"]["name"] == "mini"
    assert manifest["database"] == kind

    again = invoke(db_url, "dump", str(tmp_path / "d"))
    assert again.exit_code == 1 and "not an empty folder" in again.output

    refused = invoke(db_url, "load", str(tmp_path / "d"))
    assert refused.exit_code == 1 and "--replace" in refused.output
    assert invoke(db_url, "load", "--replace", str(tmp_path / "d")).exit_code == 0

    (tmp_path / "other").mkdir()
    with fresh_database(kind, tmp_path / "other") as other:
        loaded = invoke(other, "load", str(tmp_path / "d"))
        assert loaded.exit_code == 0, loaded.output
        assert "customer: 1 rows" in loaded.output
        target = make_engine(other)
        rows = Records(target, load_pack(pack)).query("customer")
        target.dispose()
        assert [(r["name"], str(r["revenue"])) for r in rows] == [("Yamada 山田", "1200.50")]


def test_a_dump_of_other_definitions_needs_force_and_prints_the_plan(cli, db_url, tmp_path):
    invoke, _ = cli
    assert invoke(db_url, "dump", str(tmp_path / "d")).exit_code == 1  # not migrated yet
    assert not (tmp_path / "d").exists()
    invoke(db_url, "migrate")
    assert invoke(db_url, "dump", str(tmp_path / "d")).exit_code == 0
    other = write_pack(tmp_path / "other_pack", {"customer": {"fields": {
        "name": {"type": "string"}}}}, pack=PACK)
    kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    (tmp_path / "db2").mkdir()
    with fresh_database(kind, tmp_path / "db2") as url:
        refused = invoke(url, "load", str(tmp_path / "d"), pack_dir=other)
        assert refused.exit_code == 1 and "--force" in refused.output
        forced = invoke(url, "load", "--force", str(tmp_path / "d"), pack_dir=other)
        assert forced.exit_code == 0, forced.output
        assert "customer.revenue: not in this pack, will not load" in forced.output
