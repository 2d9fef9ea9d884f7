"""`karte dump` and `karte load` carry the stored files: every file a row references (a
live record's, a deleted record's, one only the history names) goes into DIR/files and
back into the loading instance's storage, byte for byte, from SQLite to PostgreSQL and
back, between a folder and an S3-compatible bucket; an altered or missing file in a dump
is refused by name before any table is written."""

from __future__ import annotations

import io
import json
import os

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from karte.cli import main
from karte.files.service import Files
from karte.files.storage import storage_for
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.db import make_engine
from tests import files_s3
from tests.conftest import PG_URL, fresh_database, write_pack
from tests.test_files_service import PDF, png

s3_bucket = files_s3.s3_bucket
s3_storage = files_s3.s3_storage
ENTITIES = {"customer": {"name": "customer", "title_field": "name", "fields": {
    "name": {"type": "string", "required": True},
    "contract": {"type": "file"},
    "photos": {"type": "file", "multiple": True}}}}
BIG = PDF + b"%" + os.urandom(3 * 1024 * 1024) + b"\n"


@pytest.fixture
def karte(tmp_path, monkeypatch):
    """karte(database URL, files URL, *args) runs the CLI on that database and storage."""
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    pack = write_pack(tmp_path / "pack", ENTITIES)

    def invoke(url: str, files_url: str, *args: str):
        monkeypatch.setenv("KARTE_DATABASE_URL", url)
        monkeypatch.setenv("KARTE_FILES_URL", files_url)
        result = CliRunner().invoke(main, [*args, "--pack", str(pack)])
        assert "Traceback" not in result.output, result.output
        return result

    invoke.pack = pack
    return invoke


def files_on(url: str, files_url: str, pack_dir, tmp_path) -> tuple[Files, object]:
    engine = make_engine(url)
    storage = storage_for(files_url, tmp_path / "instance")
    return Files(Records(engine, load_pack(pack_dir)), storage, 20, "secret"), engine


def fill(files: Files) -> dict[str, bytes]:
    """Records with files — one deleted, one file only in the history; their contents."""
    records = files.records
    acme, gone = (records.create("customer", {"name": "Acme"}),
                  records.create("customer", {"name": "Gone"}))
    contract = files.receive("customer", "contract", io.BytesIO(BIG), "契約書.pdf", None)
    photo = files.receive("customer", "photos", io.BytesIO(png()), "写真.png", None)
    old = files.receive("customer", "photos", io.BytesIO(png(3, 3)), "old.png", None)
    files.attach("customer", acme["id"], "contract", [contract], 1, None)
    files.attach("customer", acme["id"], "photos", [photo, old], 2, None)
    files.remove("customer", acme["id"], "photos", old["id"], 3, None)
    files.attach("customer", gone["id"], "photos", [photo], 1, None)
    records.delete("customer", gone["id"])
    files.receive("customer", "photos", io.BytesIO(b"never attached"), "stray.txt", None)
    return {contract["sha256"]: BIG, photo["sha256"]: png(), old["sha256"]: png(3, 3)}


def stored(files_url: str, tmp_path, sha: str) -> bytes:
    return b"".join(storage_for(files_url, tmp_path / "instance").read(sha))


def test_dump_carries_every_referenced_file_and_load_puts_it_back(karte, db_url, tmp_path):
    source_files, target_files = str(tmp_path / "a"), str(tmp_path / "b")
    assert karte(db_url, source_files, "migrate").exit_code == 0
    files, engine = files_on(db_url, source_files, karte.pack, tmp_path)
    contents = fill(files)
    engine.dispose()

    dumped = karte(db_url, source_files, "dump", str(tmp_path / "d"))

    assert dumped.exit_code == 0, dumped.output
    assert "files: 3 files" in dumped.output and "and 3 files to" in dumped.output
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["files"] == [{"sha256": sha, "size": len(data)}
                                 for sha, data in sorted(contents.items())]
    for sha, data in contents.items():
        assert (tmp_path / "d" / "files" / sha).read_bytes() == data
    kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    (tmp_path / "other").mkdir()
    with fresh_database(kind, tmp_path / "other") as other:
        loaded = karte(other, target_files, "load", str(tmp_path / "d"))
        assert loaded.exit_code == 0, loaded.output
        for sha, data in contents.items():
            assert stored(target_files, tmp_path, sha) == data
        files, engine = files_on(other, target_files, karte.pack, tmp_path)
        acme = files.records.query("customer")[0]
        assert b"".join(files.open(acme["contract"][0])) == BIG
        engine.dispose()


def test_an_altered_or_missing_file_in_a_dump_is_refused_before_any_table(karte, db_url,
                                                                         tmp_path):
    source_files = str(tmp_path / "a")
    assert karte(db_url, source_files, "migrate").exit_code == 0
    files, engine = files_on(db_url, source_files, karte.pack, tmp_path)
    contents = fill(files)
    engine.dispose()
    assert karte(db_url, source_files, "dump", str(tmp_path / "d")).exit_code == 0
    sha = next(iter(sorted(contents)))
    blob = tmp_path / "d" / "files" / sha
    kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"

    blob.write_bytes(b"x" * len(contents[sha]))                  # same size, other bytes
    (tmp_path / "other").mkdir()
    with fresh_database(kind, tmp_path / "other") as other:
        altered = karte(other, str(tmp_path / "b"), "load", str(tmp_path / "d"))
        assert altered.exit_code == 1 and f"files/{sha}: altered" in altered.output
        blob.unlink()
        missing = karte(other, str(tmp_path / "b"), "load", str(tmp_path / "d"))
        assert missing.exit_code == 1 and "dump is incomplete" in missing.output
        engine = make_engine(other)
        with engine.connect() as conn:
            assert "customer" not in sa.inspect(conn).get_table_names() or not conn.execute(
                sa.text("SELECT count(*) FROM customer")).scalar()
        engine.dispose()


def test_a_referenced_file_missing_from_storage_is_a_warning_not_a_failure(karte, db_url,
                                                                         tmp_path):
    source_files = str(tmp_path / "a")
    assert karte(db_url, source_files, "migrate").exit_code == 0
    files, engine = files_on(db_url, source_files, karte.pack, tmp_path)
    contents = fill(files)
    engine.dispose()
    lost = sorted(contents)[0]
    storage_for(source_files, tmp_path).delete(lost)

    dumped = karte(db_url, source_files, "dump", str(tmp_path / "d"))

    assert dumped.exit_code == 0, dumped.output
    assert f"warning: file {lost} is referenced but not in the storage" in dumped.output
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert lost not in {e["sha256"] for e in manifest["files"]} and len(manifest["files"]) == 2


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured: set "
                    "KARTE_TEST_DATABASE_URL to run the SQLite → PostgreSQL round trip")
def test_files_go_sqlite_to_postgresql_on_s3_to_sqlite_byte_for_byte(karte, tmp_path,
                                                                    s3_bucket):
    first, last = str(tmp_path / "first"), str(tmp_path / "last")
    bucket = f"s3://{s3_bucket}/round-{os.getpid()}-{tmp_path.name}"
    with fresh_database("sqlite", tmp_path) as sqlite_url:
        assert karte(sqlite_url, first, "migrate").exit_code == 0
        files, engine = files_on(sqlite_url, first, karte.pack, tmp_path)
        contents = fill(files)
        engine.dispose()
        assert karte(sqlite_url, first, "dump", str(tmp_path / "d1")).exit_code == 0
    with fresh_database("postgresql") as pg_url:
        loaded = karte(pg_url, bucket, "load", str(tmp_path / "d1"))
        assert loaded.exit_code == 0, loaded.output
        assert karte(pg_url, bucket, "dump", str(tmp_path / "d2")).exit_code == 0
    (tmp_path / "again").mkdir()
    with fresh_database("sqlite", tmp_path / "again") as again:
        assert karte(again, last, "load", str(tmp_path / "d2")).exit_code == 0
    for sha, data in contents.items():
        assert stored(bucket, tmp_path, sha) == data
        assert stored(last, tmp_path, sha) == data
    assert json.loads((tmp_path / "d1" / "manifest.json").read_text())["files"] == \
        json.loads((tmp_path / "d2" / "manifest.json").read_text())["files"]


def test_a_file_only_a_record_names_is_dumped_too(karte, db_url, tmp_path):
    source_files = str(tmp_path / "a")
    assert karte(db_url, source_files, "migrate").exit_code == 0
    files, engine = files_on(db_url, source_files, karte.pack, tmp_path)
    contents = fill(files)
    with files.records.transaction() as conn:        # no history: the records alone
        conn.execute(files.records.store.audit.delete())
    engine.dispose()

    assert karte(db_url, source_files, "dump", str(tmp_path / "d")).exit_code == 0

    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert {e["sha256"] for e in manifest["files"]} == {
        sha for sha, data in contents.items() if data != png(3, 3)}  # the removed one goes
