"""Files in `karte demo`: a handful of real files made in code (a PDF written by hand, PNG
and JPEG pictures drawn with Pillow), stored once through the files service, each record
given a reference of its own; a field no demo file fits is reported, not left to fail."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from karte.cli import main
from karte.config import REPO_ROOT
from karte.demo.files import blobs, pdf, picture
from karte.files.checks import HEAD, accepts, sniff
from karte.files.storage import storage_for
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.db import make_engine
from tests.conftest import write_pack

MINI = {"name": "mini", "roles": {"sales": {"*": {"read": "all"}}}}


def test_the_pdf_is_well_formed_every_offset_in_its_table_pointing_at_its_object():
    data = pdf("Invoice (March)", ["Total: 1,200", "Thank you"])
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    xref = int(re.search(rb"startxref\n(\d+)\n", data).group(1))
    assert data[xref:].startswith(b"xref\n0 6\n")
    offsets = re.findall(rb"(\d{10}) 00000 n ", data[xref:])
    for number, offset in enumerate(offsets, start=1):
        assert data[int(offset):].startswith(b"%d 0 obj\n" % number)
    length = int(re.search(rb"/Length (\d+)", data).group(1))
    stream = data.index(b"stream\n") + len(b"stream\n")
    assert data[stream + length:].startswith(b"\nendstream")
    assert b"(Invoice \\(March\\)) Tj" in data
    assert sniff(data[:HEAD]) == "application/pdf"


def test_pictures_are_real_images_of_their_size_and_each_seed_draws_another():
    png, jpeg = picture(1, "PNG", (64, 48)), picture(1, "JPEG", (64, 48))
    assert Image.open(io.BytesIO(png)).size == (64, 48)
    assert Image.open(io.BytesIO(jpeg)).format == "JPEG"
    assert picture(2, "PNG", (64, 48)) != png
    assert [sniff(data[:HEAD]) for _name, data in blobs()] == [
        "application/pdf"] * 4 + ["image/jpeg", "image/jpeg", "image/png"]


@pytest.fixture
def demo(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    engine = make_engine(db_url)

    def run(entities, size: int = 40, root: Path | None = None):
        root = root or write_pack(tmp_path / "pack", entities, None, MINI)
        result = CliRunner().invoke(main, ["demo", "--pack", str(root), "--seed", "4",
                                           "--size", str(size)])
        assert "Traceback" not in result.output, result.output
        records = Records(engine, load_pack(root))
        return result, {name: records.query(name, limit=500) for name in records.pack.entities}

    yield run
    engine.dispose()


def test_every_record_gets_its_own_reference_to_files_stored_once(demo, tmp_path):
    paper = {"fields": {
        "title": {"type": "string", "required": True},
        "scan": {"type": "file", "required": True, "accept": ["application/pdf"]},
        "photos": {"type": "file", "multiple": True, "accept": ["image/*"],
                   "required": True}}}

    result, rows = demo({"paper": paper})

    assert result.exit_code == 0, result.output
    papers = rows["paper"]
    assert len(papers) == 40
    assert all(len(p["scan"]) == 1 and p["scan"][0]["type"] == "application/pdf"
               for p in papers)
    assert all(1 <= len(p["photos"]) <= 3 for p in papers)
    assert {f["type"] for p in papers for f in p["photos"]} == {"image/jpeg", "image/png"}
    refs = [f for p in papers for f in (*p["scan"], *p["photos"])]
    assert len({f["id"] for f in refs}) == len(refs)
    storage = storage_for(None, Path(tmp_path / "instance"))
    assert set(storage.names()) == {f["sha256"] for f in refs}
    assert len(set(storage.names())) <= len(blobs())
    some = refs[0]
    assert b"".join(storage.read(some["sha256"])) in [data for _n, data in blobs()]


def test_a_required_file_field_no_demo_file_fits_is_reported(demo):
    sheet = {"fields": {"title": {"type": "string", "required": True},
                        "data": {"type": "file", "required": True,
                                 "accept": ["text/csv"]}}}

    result, rows = demo({"sheet": sheet}, size=5)

    assert result.exit_code == 3
    assert rows["sheet"] == []
    assert "sheet.data: no demo file (PDF, JPEG, PNG) fits its accept and max_mb" in \
        result.output


def test_the_standard_packs_documents_each_come_with_a_file_their_field_takes(demo):
    result, rows = demo({}, size=150, root=REPO_ROOT)

    assert result.exit_code == 0, result.output
    accept = load_pack(REPO_ROOT).entities["document"].fields["file"].accept
    assert rows["document"]
    assert all(len(d["file"]) == 1 and accepts(accept, d["file"][0]["type"])
               for d in rows["document"])
