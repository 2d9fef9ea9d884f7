"""Files a pack folder holds that Karte would not read are reported (SPEC §1), never
silently ignored; the corpus in tests/defs/invalid/DEF007-*, DEF008-* covers each kind."""

from __future__ import annotations

import json

from click.testing import CliRunner

from karte.cli import main
from karte.meta.load import check_pack
from tests.conftest import write_pack

DEAL = {"fields": {"title": {"type": "string"}}}
PIPELINE = {"entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}


def test_karte_check_names_the_folder_meant_and_exits_one(tmp_path):
    root = write_pack(tmp_path / "pack", {"deal": DEAL})
    (root / "workflow").mkdir()
    (root / "workflow" / "deal_pipeline.json").write_text(json.dumps(PIPELINE), "utf-8")

    result = CliRunner().invoke(main, ["check", "--pack", str(root)])

    assert result.exit_code == 1
    assert 'workflow/: not a pack folder, so its files are not read (did you mean ' \
           '"workflows/"?)' in result.output.splitlines()


def test_a_stray_definition_at_the_top_says_where_it_belongs(tmp_path):
    root = write_pack(tmp_path, {"deal": DEAL})
    (root / "customer.json").write_text(json.dumps(DEAL), "utf-8")

    pack, problems = check_pack(root)

    assert pack is None
    assert [str(p) for p in problems] == [
        'customer.json: /: this looks like a definition, but only pack.json is read at the '
        'top of a pack (did you mean "entity_defs/customer.json"?)']


def test_folders_of_code_docs_and_tools_are_the_packs_own(tmp_path):
    root = write_pack(tmp_path, {"deal": DEAL}, pack={"name": "repo"})
    for folder in ("platform", "docs", "tests", "bench", "scripts", "node_modules",
                   "examples", ".git", "__pycache__", "templates", "automations"):
        (root / folder).mkdir()
        (root / folder / "x.json").write_text(json.dumps(DEAL), "utf-8")
    (root / "package.json").write_text('{"name": "karte", "scripts": {}}', "utf-8")
    (root / "tsconfig.json").write_text('{"extends": "./base.json"}', "utf-8")
    (root / "templates" / "x.json").write_text('{"title": "not a definition"}', "utf-8")

    pack, problems = check_pack(root)

    assert [str(p) for p in problems] == []
    assert pack is not None


def test_a_base_packs_misplaced_files_are_named_from_the_client(tmp_path):
    base = write_pack(tmp_path / "base", {"deal": DEAL})
    (base / "dashbords").mkdir()
    (base / "entity_defs" / "old").mkdir()
    (base / "entity_defs" / "old" / "deal.json").write_text(json.dumps(DEAL), "utf-8")
    client = write_pack(tmp_path / "client", {}, pack={"extends": "../base"})

    _, problems = check_pack(client)

    assert sorted((p.code, p.where) for p in problems) == [
        ("DEF007", "../base/dashbords/"),
        ("DEF008", "../base/entity_defs/old/deal.json: /")]
