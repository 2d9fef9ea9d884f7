"""The `karte` command as an admin uses it: exit codes, printed reports, no tracebacks."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from karte.cli import main
from karte.config import REPO_ROOT
from tests.conftest import write_pack

CUSTOMER = {"fields": {"name": {"type": "string", "required": True},
                       "email": {"type": "email"}}}
DEAL = {"fields": {"title": {"type": "string", "required": True},
                   "customer": {"type": "link", "to": "customer"},
                   "amount": {"type": "money"}}}


@pytest.fixture
def cli(tmp_path, db_url, monkeypatch):
    """Run `karte ...` against a database of its own; returns (invoke, pack folder)."""
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    pack = write_pack(tmp_path / "pack", {"customer": CUSTOMER, "deal": DEAL},
                      pack={"name": "mini", "roles": {"sales": {"*": {"read": "all"}}}})
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, [*args, "--pack", str(pack)], input=input)

    return invoke, pack


def test_check_clean_pack_exits_zero(cli):
    invoke, _ = cli
    result = invoke("check")
    assert result.exit_code == 0, result.output
    assert "2 entities" in result.output
    assert "dashboard" not in result.output        # none in this pack: not mentioned


def test_check_says_how_many_dashboard_widgets_it_ran(cli):
    invoke, pack = cli
    (pack / "dashboards").mkdir()
    (pack / "dashboards" / "sales.json").write_text(json.dumps({"label": "Sales", "widgets": [
        {"kind": "number", "label": "Customers", "entity": "customer", "agg": "count"},
        {"kind": "list", "label": "Newest", "entity": "customer", "sort": "-created_at"}]}))
    result = invoke("check")
    assert result.exit_code == 0, result.output
    assert "1 dashboard (2 widgets, each query run once)" in result.output


def test_check_reports_every_problem_without_traceback(cli):
    invoke, pack = cli
    broken = dict(DEAL, fields={**DEAL["fields"], "amount": {"type": "mony"},
                                "owner": {"type": "link", "to": "custmer"}})
    (pack / "entity_defs" / "deal.json").write_text(json.dumps(broken))
    (pack / "entity_defs" / "oops.json").write_text('{"fields": {')
    result = invoke("check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("entity_defs/deal.json: /fields/amount/type:")
               and 'did you mean "money"' in line for line in lines), lines
    assert any(line.startswith("entity_defs/oops.json:") and "line 1" in line
               for line in lines), lines
    assert "Traceback" not in result.output


def test_check_on_missing_pack_folder_says_so(tmp_path):
    result = CliRunner().invoke(main, ["check", "--pack", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "pack folder not found" in result.output


def test_standard_pack_checks_clean():
    result = CliRunner().invoke(main, ["check", "--pack", str(REPO_ROOT)])
    assert result.exit_code == 0, result.output


def test_migrate_then_history(cli):
    invoke, _ = cli
    first = invoke("migrate")
    assert first.exit_code == 0, first.output
    assert "customer" in first.output
    again = invoke("migrate")
    assert again.exit_code == 0, again.output
    history = invoke("history")
    assert history.exit_code == 0, history.output
    assert history.output.count("#") == 1  # the second run changed nothing


def test_user_add_with_password_from_stdin(cli, db_url):
    invoke, _ = cli
    result = invoke("user", "add", "Ann@Example.com", "--role", "sales", "--password-stdin",
                    input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT email, role, password_hash FROM karte_user")).one()
    engine.dispose()
    assert row.email == "ann@example.com" and row.role == "sales"
    assert row.password_hash and "s3cret-pass" not in row.password_hash


def test_user_add_with_unknown_role_names_the_roles(cli):
    invoke, _ = cli
    result = invoke("user", "add", "ann@example.com", "--role", "boss")
    assert result.exit_code != 0
    assert "sales" in result.output and "Traceback" not in result.output


def test_erd_prints_mermaid_relations(cli):
    invoke, _ = cli
    result = invoke("erd")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("erDiagram")
    assert 'customer ||--o{ deal : "customer"' in result.output
