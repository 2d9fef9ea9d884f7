"""`karte files prune` and `Files.prune` on both databases and both storages: only
files that no record (deleted ones included) and no audit row names, and that were
stored more than a day ago, are listed; only --apply deletes them."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
from click.testing import CliRunner

from karte.cli import main
from karte.files.local import LocalStorage
from karte.files.service import Files
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.db import make_engine
from karte.store.migrate import migrate
from tests import files_s3
from tests.conftest import write_pack
from tests.test_files_service import png

s3_bucket = files_s3.s3_bucket  # the fixtures: a moto S3 server and a prefix per test
s3_storage = files_s3.s3_storage
ENTITIES = {"customer": {"name": "customer", "title_field": "name", "fields": {
    "name": {"type": "string", "required": True},
    "scan": {"type": "file", "multiple": True}}}}
LATER = dt.timedelta(hours=25, minutes=1)     # a day, an hour more, and a minute


@pytest.fixture(params=["local", "s3"])
def files(request, engine, make_pack, tmp_path) -> Files:
    pack = make_pack(ENTITIES)
    migrate(engine, pack)
    storage = LocalStorage(tmp_path / "files") if request.param == "local" \
        else request.getfixturevalue("s3_storage")
    return Files(Records(engine, pack), storage, 20, "secret")


def upload(files: Files, data: bytes, name: str = "a.txt") -> dict:
    return files.receive("customer", "scan", io.BytesIO(data), name, None)


def a_day_later(files: Files) -> None:
    now = dt.datetime.now(dt.UTC)
    files.records.store.clock = lambda: now + LATER


def test_only_files_nothing_references_are_pruned_and_only_with_apply(files):
    records = files.records
    live, gone = records.create("customer", {"name": "A"}), records.create("customer",
                                                                          {"name": "B"})
    kept, removed, deleted, stray = (upload(files, b"kept"), upload(files, b"removed"),
                                     upload(files, b"deleted"), upload(files, png(), "p.png"))
    files.attach("customer", live["id"], "scan", [kept, removed], 1, None)
    files.remove("customer", live["id"], "scan", removed["id"], 2, None)
    files.attach("customer", gone["id"], "scan", [deleted], 1, None)
    records.delete("customer", gone["id"])
    assert files.thumbnail(stray) is not None

    assert files.unreferenced() == []                 # the stray upload is less than a day old
    a_day_later(files)
    assert files.unreferenced() == [(stray["sha256"], stray["size"])]
    assert files.prune() == [stray["sha256"]]
    assert files.storage.size(stray["sha256"]) == stray["size"]     # a dry run deletes nothing

    assert files.prune(apply=True) == [stray["sha256"]]

    assert files.storage.size(stray["sha256"]) is None
    assert files.storage.get_extra(f"thumbs/{stray['sha256']}-256.webp") is None
    assert sorted(files.storage.names()) == sorted(r["sha256"] for r in (kept, removed, deleted))
    assert b"".join(files.open(removed)) == b"removed"   # its audit row still names it
    assert files.prune(apply=True) == []


def test_a_file_uploaded_again_counts_as_young(files):
    old = upload(files, b"same bytes")
    a_day_later(files)
    assert files.prune() == [old["sha256"]]
    files.records.store.clock = lambda: dt.datetime.now(dt.UTC)
    upload(files, b"same bytes")                      # a new upload of the same content
    assert files.storage.modified(old["sha256"]) > dt.datetime.now(dt.UTC) - LATER


# ---------------------------------------------------------------- the command


@pytest.fixture
def cli(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_FILES_URL", str(tmp_path / "kept"))
    pack = write_pack(tmp_path / "pack", ENTITIES)

    def invoke(*args):
        result = CliRunner().invoke(main, [*args, "--pack", str(pack)])
        assert "Traceback" not in result.output, result.output
        return result

    return invoke, pack


def test_karte_files_prune_lists_then_deletes_with_apply(cli, db_url, tmp_path):
    invoke, pack = cli
    assert invoke("migrate").exit_code == 0
    engine = make_engine(db_url)
    files = Files(Records(engine, load_pack(pack)), LocalStorage(tmp_path / "kept"), 20, "s")
    made = files.records.create("customer", {"name": "A"})
    files.attach("customer", made["id"], "scan", [upload(files, b"kept")], 1, None)
    stray, young = upload(files, b"stray bytes"), upload(files, b"young")
    engine.dispose()
    path = tmp_path / "kept" / stray["sha256"][:2] / stray["sha256"][2:4] / stray["sha256"]
    two_days_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).timestamp()
    os.utime(path, (two_days_ago, two_days_ago))

    listed = invoke("files", "prune")

    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        f"{stray['sha256']}  11",
        "1 file (11 bytes) referenced by no record and no audit row. Run `karte files prune "
        "--apply` to delete them."]
    assert path.exists()
    applied = invoke("files", "prune", "--apply")
    assert applied.exit_code == 0, applied.output
    assert applied.output.splitlines()[-1] == "Deleted 1 file (11 bytes)."
    assert not path.exists() and young["sha256"] in set(files.storage.names())
    again = invoke("files", "prune")
    assert "nothing to prune" in again.output and again.exit_code == 0
