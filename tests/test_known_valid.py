"""A start checks each definition file against its JSON Schema once: the documents that
passed are remembered in the instance folder (meta/validate/known_valid.py); a changed
document, a changed schema and a document with problems are always checked in full."""

from __future__ import annotations

import json

import pytest

from karte.meta.load import load_pack
from karte.meta.validate import known_valid, report
from karte.problems import ProblemsError
from tests.conftest import write_pack

ENTITIES = {"customer": {"fields": {"name": {"type": "string"}}},
            "deal": {"fields": {"title": {"type": "string"},
                                "customer": {"type": "link", "to": "customer"}}}}


@pytest.fixture
def checked(monkeypatch):
    """The files checked against their JSON Schema, in order."""
    seen: list[str] = []
    original = report.schema_problems

    def counted(doc):
        seen.append(doc.file)
        return original(doc)

    monkeypatch.setattr(report, "schema_problems", counted)
    return seen


def test_documents_that_passed_are_not_checked_again(tmp_path, checked):
    root = write_pack(tmp_path / "pack", ENTITIES)
    cache = tmp_path / "cache"
    load_pack(root, known_valid=cache)
    assert sorted(checked) == ["entity_defs/customer.json", "entity_defs/deal.json",
                               "pack.json"]
    checked.clear()
    load_pack(root, known_valid=cache)
    assert checked == []
    deal = root / "entity_defs" / "deal.json"
    deal.write_text(json.dumps({"fields": {"title": {"type": "text"}}}), encoding="utf-8")
    pack = load_pack(root, known_valid=cache)
    assert checked == ["entity_defs/deal.json"] and pack.entity("deal").fields["title"].type \
        == "text"


def test_without_the_folder_every_document_is_checked(tmp_path, checked):
    root = write_pack(tmp_path / "pack", ENTITIES)
    load_pack(root, known_valid=tmp_path / "cache")
    checked.clear()
    load_pack(root)
    assert len(checked) == 3


def test_a_document_with_problems_is_reported_on_every_start(tmp_path, checked):
    root = write_pack(tmp_path / "pack", {**ENTITIES, "task": {"fields": {"x": {"type": "flot"}}}})
    for _ in range(2):
        with pytest.raises(ProblemsError) as raised:
            load_pack(root, known_valid=tmp_path / "cache")
        assert any(p.code == "DEF012" and "task.json" in p.where
                   for p in raised.value.problems)
    assert checked.count("entity_defs/task.json") == 2


def test_a_changed_schema_checks_every_document_again(tmp_path, checked, monkeypatch):
    root = write_pack(tmp_path / "pack", ENTITIES)
    load_pack(root, known_valid=tmp_path / "cache")
    checked.clear()
    monkeypatch.setattr(known_valid, "_schemas_key", lambda: "another-schema")
    load_pack(root, known_valid=tmp_path / "cache")
    assert len(checked) == 3


def test_a_damaged_file_is_ignored(tmp_path, checked):
    root = write_pack(tmp_path / "pack", ENTITIES)
    load_pack(root, known_valid=tmp_path / "cache")
    for path in (tmp_path / "cache").iterdir():
        path.write_text("{not json", encoding="utf-8")
    checked.clear()
    load_pack(root, known_valid=tmp_path / "cache")
    assert len(checked) == 3
