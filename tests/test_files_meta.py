"""Declaring file fields: `multiple`, `accept` and `max_mb` reach the Registry as the
upload checks read them, and `karte check` weighs `max_mb` against the instance's limit.
Refusals with their exact wording are in tests/defs/invalid/ (DEF118, DEF119, ...)."""

from __future__ import annotations

from click.testing import CliRunner

from karte.cli import main
from karte.meta.load import check_pack
from tests.conftest import write_pack

DOCUMENT = {"fields": {
    "title": {"type": "string"},
    "scan": {"type": "file", "accept": ["application/pdf", "image/*"], "max_mb": 25},
    "photos": {"type": "file", "multiple": True, "max_mb": 0.5},
    "any": {"type": "file"}}}


def test_file_keys_are_read_into_the_field(make_pack):
    fields = make_pack({"document": DOCUMENT}).entities["document"].fields
    assert (fields["scan"].accept, fields["scan"].max_mb, fields["scan"].multiple) == (
        ("application/pdf", "image/*"), 25, False)
    assert (fields["photos"].multiple, fields["photos"].max_mb) == (True, 0.5)
    assert (fields["any"].accept, fields["any"].max_mb) == (None, None)


def test_without_an_instance_limit_max_mb_is_not_judged(tmp_path):
    pack, problems = check_pack(write_pack(tmp_path, {"document": DOCUMENT}))
    assert pack is not None and problems == []


def test_karte_check_warns_of_max_mb_above_the_instance_limit_and_succeeds(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setenv("KARTE_MAX_UPLOAD_MB", "10")
    root = write_pack(tmp_path, {"document": DOCUMENT})
    result = CliRunner().invoke(main, ["check", "--pack", str(root)])
    assert result.exit_code == 0, result.output
    assert ("warning: entity_defs/document.json: /fields/scan/max_mb: max_mb 25 is above this "
            "instance's upload limit, KARTE_MAX_UPLOAD_MB=10") in result.output
    assert "photos" not in result.output
    assert "OK" in result.output


def test_karte_check_is_quiet_when_the_instance_takes_the_size(tmp_path, monkeypatch):
    monkeypatch.setenv("KARTE_MAX_UPLOAD_MB", "25")
    result = CliRunner().invoke(main, ["check", "--pack", str(write_pack(tmp_path, {
        "document": DOCUMENT}))])
    assert result.exit_code == 0 and "warning" not in result.output, result.output
