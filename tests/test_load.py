"""Reading a pack: files, JSON syntax, provenance, and the one entry point."""

from __future__ import annotations

import pytest

from karte.meta.load import check_pack, load_pack, read_pack
from karte.meta.model import Pack
from karte.problems import ProblemsError
from tests.conftest import write_pack

DEAL = {"fields": {"title": {"type": "string"}}}


def test_a_valid_pack_becomes_the_registry(tmp_path):
    root = write_pack(tmp_path, {"deal": DEAL}, pack={"name": "mini", "currency": "JPY"})
    pack = load_pack(root)
    assert isinstance(pack, Pack)
    assert pack.name == "mini" and pack.currency == "JPY"
    assert pack.entities["deal"].source == "entity_defs/deal.json"


def test_a_pack_without_pack_json_is_named_after_its_folder(tmp_path):
    pack = load_pack(write_pack(tmp_path / "shop", {"deal": DEAL}))
    assert pack.name == "shop"
    assert pack.role_names == ("admin",)


def test_name_defaults_to_the_file_stem(tmp_path):
    raw, problems = read_pack(write_pack(tmp_path, {"deal": DEAL}, {
        "deal_pipeline": {"entity": "deal", "field": "stage",
                          "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}}))
    assert problems == []
    assert raw.entities["deal"].data["name"] == "deal"
    assert load_pack(raw.root).workflows["deal_pipeline"].name == "deal_pipeline"


def test_missing_pack_folder(tmp_path):
    pack, problems = check_pack(tmp_path / "nowhere")
    assert pack is None
    assert [p.code for p in problems] == ["DEF000"]
    assert "pack folder not found" in problems[0].message


@pytest.mark.parametrize("text, where", [
    ('{"fields": {"title": {"type": "string"}', "line 1, column 40"),
    ('{\n  "fields": {\n    "title": {"type": "string",}\n  }\n}', "line 3, column 32"),
    ("", "line 1, column 1"),
])
def test_malformed_json_is_reported_with_line_and_column(tmp_path, text, where):
    root = write_pack(tmp_path, {})
    (root / "entity_defs" / "deal.json").write_text(text, encoding="utf-8")
    pack, problems = check_pack(root)
    assert pack is None
    assert [(p.code, p.where) for p in problems] == [("DEF001", "entity_defs/deal.json: /")]
    assert where in problems[0].message


def test_a_file_that_is_not_utf8(tmp_path):
    root = write_pack(tmp_path, {})
    (root / "entity_defs" / "deal.json").write_bytes('{"label": "商談"}'.encode("shift_jis"))
    _, problems = check_pack(root)
    assert [(p.code, p.where) for p in problems] == [("DEF002", "entity_defs/deal.json: /")]
    assert "not UTF-8" in problems[0].message


def test_broken_pack_json_is_reported_and_the_rest_still_checked(tmp_path):
    root = write_pack(tmp_path, {"deal": {"fields": {"to_x": {"type": "link", "to": "x"}}}})
    (root / "pack.json").write_text("{roles: 1}", encoding="utf-8")
    _, problems = check_pack(root)
    assert [p.code for p in problems] == ["DEF001", "DEF024"]


def test_load_pack_raises_with_every_problem(tmp_path):
    root = write_pack(tmp_path, {"deal": {"fields": {"a": {"type": "mony"},
                                                     "b": {"type": "strng"}}}})
    with pytest.raises(ProblemsError) as raised:
        load_pack(root)
    assert len(raised.value.problems) == 2
    assert 'unknown type "strng" (did you mean "string"?)' in str(raised.value)


def test_make_pack_fixture_builds_a_registry(make_pack):
    pack = make_pack({"deal": DEAL})
    assert list(pack.entities) == ["deal"]


def test_template_dirs_come_from_the_pack(tmp_path):
    root = write_pack(tmp_path, {"deal": DEAL})
    (root / "templates").mkdir()
    assert load_pack(root).template_dirs == (root / "templates",)
