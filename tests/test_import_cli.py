"""`karte import` and `karte import-revert` as an admin uses them: the report printed,
problems as `line N, column "X": message`, exit codes 0 / 1 / 2, the failed rows file."""

from __future__ import annotations

import csv
import json
import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from karte.auth.users import add_user
from karte.cli import main
from karte.meta.load import load_pack
from karte.store.db import make_engine
from karte.store.migrate import migrate
from tests.conftest import write_pack

ENTITIES = {
    "customer": {"title_field": "name", "fields": {
        "name": {"type": "string", "required": True, "label": {"en": "Name", "ja": "名前"}},
        "email": {"type": "email", "label": {"en": "Email", "ja": "メール"}},
        "code": {"type": "string", "unique": True}},
        "duplicates": [{"fields": ["email"]}]},
    "deal": {"title_field": "title", "fields": {"title": {"type": "string"}}},
}
PIPELINE = {"name": "pipeline", "entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}


@pytest.fixture
def cli(tmp_path, db_url, monkeypatch):
    """(invoke, tmp_path, engine): `karte ...` on a database with an admin."""
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    root = write_pack(tmp_path / "pack", ENTITIES, {"pipeline": PIPELINE}, {"name": "mini"})
    pack = load_pack(root)
    engine = make_engine(db_url)
    migrate(engine, pack)
    add_user(engine, pack, "boss@example.com", "admin")
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [*args, "--pack", str(root)])

    yield invoke, tmp_path, engine
    engine.dispose()


def write(folder, name, text, encoding="utf-8"):
    path = folder / name
    path.write_text(text, encoding=encoding)
    return str(path)


def names(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.text("SELECT name FROM customer WHERE deleted_at IS NULL "
                                         "ORDER BY id")))


def test_every_row_imported_exits_zero_and_prints_the_counts(cli):
    invoke, folder, engine = cli
    file = write(folder, "c.csv", "名前,メール\nLyons,a@example.com\n森商店,b@example.com\n",
                 encoding="cp932")

    result = invoke("import", "customer", file)

    assert result.exit_code == 0, result.output
    assert "2 created, 0 updated, 0 unchanged, 0 failed" in result.output
    assert '"名前" → name' in result.output
    assert names(engine) == ["Lyons", "森商店"]


def test_some_rows_failing_exit_one_with_line_and_column_and_the_failed_rows_file(cli):
    invoke, folder, engine = cli
    file = write(folder, "c.csv", "Name,Email\nGood,g@example.com\nBad,not-an-email\n"
                                  ",x@example.com\n")
    out = folder / "failed.csv"

    result = invoke("import", "customer", file, "--failed-rows", str(out))

    assert result.exit_code == 1, result.output
    assert "1 created, 0 updated, 0 unchanged, 2 failed" in result.output
    assert re.search(r'^line 3, column "Email": ', result.output, re.M)
    assert re.search(r'^line 4, column "Name": ', result.output, re.M)
    with out.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["Name", "Email", "problem"]
    assert [r[:2] for r in rows[1:]] == [["Bad", "not-an-email"], ["", "x@example.com"]]
    fixed = out.read_text(encoding="utf-8-sig").replace("not-an-email", "bad@example.com") \
        .replace("\n,x@", "\nFixed,x@")
    out.write_text(fixed, encoding="utf-8-sig")
    again = invoke("import", "customer", str(out))
    assert again.exit_code == 0, again.output
    assert names(engine) == ["Good", "Bad", "Fixed"]


def test_nothing_imported_exits_two(cli):
    invoke, folder, engine = cli
    bad = write(folder, "bad.csv", "Name,Email\n,a@example.com\n")
    assert invoke("import", "customer", bad).exit_code == 2

    mapping = write(folder, "map.json", json.dumps({"Name": "name", "Email": "emial"}))
    result = invoke("import", "customer", write(folder, "c.csv", "Name,Email\nA,a@x.jp\n"),
                    "--map", mapping)
    assert result.exit_code == 2
    assert 'plan, column "Email": "emial" is not a field of "customer".' in result.output

    empty = write(folder, "empty.csv", "")
    result = invoke("import", "customer", empty)
    assert result.exit_code == 2 and "The file is empty" in result.output
    assert invoke("import", "nothing", bad).exit_code == 2
    assert names(engine) == []


def test_a_dry_run_writes_nothing_and_exits_as_the_run_would(cli):
    invoke, folder, engine = cli
    file = write(folder, "c.csv", "Name,Email\nA,a@example.com\nB,b\n")

    result = invoke("import", "customer", file, "--dry-run")

    assert result.exit_code == 1, result.output
    assert "Dry run, nothing written: 1 created, 0 updated, 0 unchanged, 1 failed." in \
        result.output
    assert names(engine) == []


def test_key_upserts_and_revert_undoes_the_batch(cli):
    invoke, folder, engine = cli
    invoke("import", "customer", write(folder, "a.csv", "name,code\nLyons,C-1\n"))
    result = invoke("import", "customer", write(folder, "b.csv",
                                                "name,code\nLyons Ltd,C-1\nMori,C-2\n"),
                    "--key", "code")
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated, 0 unchanged, 0 failed" in result.output
    batch = re.search(r"karte import-revert (\d+)", result.output).group(1)

    reverted = invoke("import-revert", batch)

    assert reverted.exit_code == 0, reverted.output
    assert names(engine) == ["Lyons"]
    assert invoke("import-revert", batch).exit_code == 1


def test_duplicates_are_printed_and_as_names_the_actor(cli):
    invoke, folder, engine = cli
    file = write(folder, "c.csv", "Name,Email\nA,a@example.com\nB,A@example.com\n")

    result = invoke("import", "customer", file, "--as", "nobody@example.com")
    assert result.exit_code == 2 and 'There is no active user "nobody@example.com"' in \
        result.output

    result = invoke("import", "customer", file, "--as", "BOSS@example.com")
    assert result.exit_code == 0, result.output
    assert "line 3 looks like line 2 (same email)" in result.output


def test_a_stage_column_needs_allow_moves(cli):
    invoke, folder, engine = cli
    file = write(folder, "d.csv", "title,stage\nRenewal,won\n")

    refused = invoke("import", "deal", file)
    assert refused.exit_code == 2 and "allow moves" in refused.output

    result = invoke("import", "deal", file, "--allow-moves")
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT stage FROM deal")).scalar() == "won"
