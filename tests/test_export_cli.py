"""`karte export ENTITY` (SPEC §10, §14): the rows the list exports, as CSV or XLSX, with a
condition (--where, JSON), a search, a sort, raw values and a user's scope (--as); a bad
entity, condition, sort or user prints the problem and exits 1 with nothing written."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from click.testing import CliRunner

from karte.cli import main
from tests.conftest import write_pack

ENTITIES = {
    "item": {"label": {"en": "Item", "ja": "品目"}, "plural": {"en": "Items", "ja": "品目"},
             "title_field": "name",
             "fields": {"name": {"type": "string", "label": {"en": "Name", "ja": "名前"}},
                        "size": {"type": "integer"},
                        "due": {"type": "date"},
                        "level": {"type": "enum", "options": [
                            {"key": "low", "label": {"en": "Low", "ja": "低"}},
                            {"key": "high", "label": {"en": "High", "ja": "高"}}]},
                        "owner": {"type": "user"},
                        "secret": {"type": "string"}},
             "list": {"sort": "name", "search": ["name"], "filters": ["level", "size"]},
             "permissions": {"sales": {"hidden": ["secret"]}}},
}
ROLES = {"sales": {"*": {"read": "own", "create": True, "update": "own", "delete": "own"}}}


@pytest.fixture
def cli(tmp_path, db_url, engine, monkeypatch):
    """invoke(*args) runs `karte` on a pack with three items, two users."""
    from karte.auth.users import add_user
    from karte.meta.load import load_pack
    from karte.store import Records
    from karte.store.migrate import migrate

    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    root = write_pack(tmp_path / "pack", ENTITIES, pack={"name": "t", "roles": ROLES})
    pack = load_pack(root)
    migrate(engine, pack)
    sales = add_user(engine, pack, "sales@example.com", "sales", "x" * 12, name="Sam")
    add_user(engine, pack, "ja@example.com", "admin", "x" * 12, name="Ja")
    from sqlalchemy import text
    with engine.begin() as conn:
        conn.execute(text("UPDATE karte_user SET locale = 'ja' WHERE email = 'ja@example.com'"))
    records = Records(engine, pack)
    for name, size, level, owner in [("beta", 2, "high", sales), ("alpha", 1, "low", None),
                                     ("日本語", 3, "high", sales)]:
        records.create("item", {"name": name, "size": size, "level": level, "owner": owner,
                                "due": "2026-11-30", "secret": f"hush {name}"})
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["export", *args, "--pack", str(root)])
    return invoke


def table(result) -> list[list[str]]:
    assert result.exit_code == 0, result.output
    body = result.stdout_bytes.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_to_standard_output_in_the_lists_order(cli):
    rows = table(cli("item"))
    assert rows[0][:5] == ["ID", "Name", "Size", "Due", "Level"]
    assert [row[1] for row in rows[1:]] == ["alpha", "beta", "日本語"]
    assert rows[1][3:5] == ["2026-11-30", "Low"] and "hush alpha" in rows[1]
    result = cli("item", "--where", json.dumps({"field": "level", "op": "=", "value": "high"}),
                 "--sort", "-size")
    assert [row[1] for row in table(result)[1:]] == ["日本語", "beta"]
    assert [row[1] for row in table(cli("item", "--q", "ALP"))[1:]] == ["alpha"]
    assert "Exported 1 item record." in cli("item", "--q", "ALP").stderr


def test_raw_and_a_users_scope_language_and_hidden_fields(cli):
    rows = table(cli("item", "--raw", "--as", "sales@example.com"))
    assert rows[0][:6] == ["id", "name", "size", "due", "level", "owner"]
    assert "secret" not in rows[0]
    assert [row[1:6] for row in rows[1:]] == [
        ["beta", "2", "2026-11-30", "high", "sales@example.com"],
        ["日本語", "3", "2026-11-30", "high", "sales@example.com"]]
    shown = table(cli("item", "--as", "ja@example.com", "--sort", "size"))
    assert shown[0][1] == "名前" and shown[1][4] == "低" and "Secret" in shown[0]


def test_xlsx_to_a_file(cli, tmp_path):
    out = tmp_path / "items.xlsx"
    result = cli("item", "--format", "xlsx", "--output", str(out), "--sort", "-size")
    assert result.exit_code == 0, result.output
    assert f"Exported 3 item records to {out}." in result.stderr
    sheet = openpyxl.load_workbook(out).active
    assert [c.value for c in sheet[1]][:3] == ["ID", "Name", "Size"]
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == ["日本語", "beta", "alpha"]
    assert sheet["C2"].value == 3 and sheet["D2"].is_date
    raw = tmp_path / "raw.xlsx"
    assert cli("item", "--format", "xlsx", "-o", str(raw), "--raw").exit_code == 0
    sheet = openpyxl.load_workbook(raw).active
    assert sheet["D2"].value == "2026-11-30" and sheet["E2"].value in ("low", "high")


def test_xlsx_to_standard_output_when_redirected(cli):
    result = cli("item", "--format", "xlsx")
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(io.BytesIO(result.stdout_bytes)).active
    assert sheet.max_row == 4


@pytest.mark.parametrize(("args", "message"), [
    (["nothing"], 'There is no entity "nothing"; entities: item.'),
    (["item", "--where", "{bad"], "--where is not JSON"),
    (["item", "--where", '{"field": "nope", "op": "=", "value": 1}'], "nope"),
    (["item", "--sort", "nope"], 'cannot be sorted by "nope"'),
    (["item", "--as", "who@example.com"], "There is no active user who@example.com"),
    (["item", "--format", "pdf"], "pdf"),
])
def test_bad_input_prints_the_problem_and_exits_1(cli, tmp_path, args, message):
    out = tmp_path / "out.csv"
    result = cli(*args, "--output", str(out))
    assert result.exit_code in (1, 2), result.output
    assert message in result.stderr or message in result.output
    assert not out.exists()
