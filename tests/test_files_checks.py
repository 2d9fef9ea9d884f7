"""An upload is judged from its bytes: real small files made here, and a few liars (an .exe
named .pdf, an SVG with a script, a PNG header claiming ten gigapixels)."""

from __future__ import annotations

import hashlib
import io
import struct
import tempfile
import tracemalloc
import zipfile
import zlib

import pytest
from PIL import Image

from karte.files.checks import (
    CONTAINERS,
    HEAD,
    MAX_NAME,
    PREVIEWABLE,
    FileRefused,
    accepts,
    check_image,
    safe_name,
    sniff,
    sniff_stream,
)


def image(kind: str, mode: str = "RGB", size=(16, 12)) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "red").save(buffer, kind)
    return buffer.getvalue()


def office(part: str) -> bytes:
    """A minimal OOXML package: the content types, then the main part (docx or xlsx)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns='
                         '"http://schemas.openxmlformats.org/package/2006/content-types"/>')
        package.writestr("_rels/.rels", "<Relationships/>")
        package.writestr(part, "<root/>")
    return buffer.getvalue()


def open_document(mimetype: str) -> bytes:
    """A minimal OpenDocument package: its `mimetype` entry first and uncompressed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        package.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
        package.writestr("META-INF/manifest.xml", "<manifest/>", zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# an ISO media file (HEIF) whose brand says HEIC: what phones save photos as
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100)


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


PDF = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
       b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n")
# a DOS header whose e_lfanew points at a PE signature: what every Windows program starts with
EXE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44
       + b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00\x4c\x01" + b"\x00" * 200)
SVG_SCRIPT = (b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'
              b' width="10" height="10"><script>alert(document.cookie)</script></svg>')
SVG_BARE = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><circle r="2"/></svg>'
HTML = (b"<!DOCTYPE html>\n<html><head><title>Invoice</title></head>"
        b"<body><script>fetch('/api')</script></body></html>")

SAMPLES = {
    "pdf": (PDF, "application/pdf"),
    "png": (image("PNG"), "image/png"),
    "png-rgba": (image("PNG", "RGBA"), "image/png"),
    "jpeg": (image("JPEG"), "image/jpeg"),
    "gif": (image("GIF"), "image/gif"),
    "webp": (image("WEBP"), "image/webp"),
    "docx": (office("word/document.xml"),
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": (office("xl/workbook.xml"),
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pptx": (office("ppt/presentation.xml"),
             "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "odt": (open_document("application/vnd.oasis.opendocument.text"),
            "application/vnd.oasis.opendocument.text"),
    "ods": (open_document("application/vnd.oasis.opendocument.spreadsheet"),
            "application/vnd.oasis.opendocument.spreadsheet"),
    "tiff": (image("TIFF"), "image/tiff"),
    "heic": (HEIC, "image/heic"),
    "zip": (plain_zip(), "application/zip"),
    "text": ("見積書の控え\nsecond line\n".encode(), "text/plain"),
    "shift_jis": ("こんにちは、世界\n".encode("shift_jis"), "text/plain"),
    "html": (HTML, "text/html"),
    "html-fragment": (b"<html><body><p>hello</p></body></html>", "text/html"),
    "svg": (SVG_SCRIPT, "image/svg+xml"),
    "svg-without-prolog": (SVG_BARE, "image/svg+xml"),
    "svg-with-doctype": (b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "svg11.dtd">\n'
                         + SVG_BARE, "image/svg+xml"),
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_sniff_names_the_type_from_the_content(kind):
    data, mime = SAMPLES[kind]
    assert sniff(data) == mime


def test_an_xlsx_from_openpyxl_is_a_spreadsheet():
    import openpyxl

    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    assert sniff(buffer.getvalue()).endswith("spreadsheetml.sheet")


def ole(stream: str, sectors: int) -> bytes:
    """An OLE compound file (what .doc and .xls are) holding one stream named `stream` of
    `sectors` × 512 bytes, with its FAT and directory written after the stream's data —
    past the first 64 KiB once the stream is large, as in a real large spreadsheet."""
    end, free, fat_mark, none = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    fat = [n + 1 for n in range(sectors - 1)] + [end, fat_mark, fat_mark, end]
    fat += [free] * (256 - len(fat))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<9I", 0, 2, sectors + 2, 0, 4096, end, 0, end, 0)
              + struct.pack("<109I", sectors, sectors + 1, *[free] * 107))

    def entry(name: str, kind: int, child: int, first: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        return (raw.ljust(64, b"\x00") + struct.pack("<HBBIII", len(raw), kind, 1, none, none,
                                                     child)
                + bytes(36) + struct.pack("<IQ", first, size))

    directory = (entry("Root Entry", 5, 1, end, 0) + entry(stream, 2, none, 0, sectors * 512)
                 + bytes(256))
    return (header + bytes(range(256)) * 2 * sectors + struct.pack("<256I", *fat)
            + directory)


SMALL_XLS, LARGE_XLS = ole("Workbook", 8), ole("Workbook", 200)
LARGE_DOC = ole("WordDocument", 200)


def test_old_office_files_are_named_by_what_their_container_holds():
    assert sniff(SMALL_XLS) == "application/vnd.ms-excel"
    assert sniff(LARGE_XLS[:HEAD]) in CONTAINERS  # its directory is past the head
    assert sniff_stream(io.BytesIO(LARGE_XLS)) == "application/vnd.ms-excel"
    assert sniff_stream(io.BytesIO(LARGE_DOC)) == "application/msword"


def test_a_container_spooled_to_disk_is_read_through_its_file(tmp_path):
    with tempfile.TemporaryFile() as spooled:
        spooled.write(LARGE_XLS)
        spooled.seek(0)
        assert sniff_stream(spooled) == "application/vnd.ms-excel"
        assert spooled.tell() == 0
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as in_memory:
        in_memory.write(LARGE_XLS)
        in_memory.seek(0)
        assert sniff_stream(in_memory) == "application/vnd.ms-excel"
        assert in_memory.read() == LARGE_XLS


def test_sniff_stream_starts_where_the_stream_stands_and_puts_it_back():
    stream = io.BytesIO(b"prefix" + LARGE_XLS)
    stream.seek(6)
    assert sniff_stream(stream) == "application/vnd.ms-excel"
    assert stream.tell() == 6
    pdf = io.BytesIO(PDF)
    assert sniff_stream(pdf) == "application/pdf" and pdf.tell() == 0


def test_a_csv_file_is_text():
    assert sniff(b"name,email\nAko,ako@example.com\nBen,ben@example.com\n") in (
        "text/csv", "text/plain")


def test_a_program_is_a_program_whatever_its_name():
    mime = sniff(EXE)
    assert mime in ("application/x-dosexec", "application/vnd.microsoft.portable-executable")
    assert not accepts(["application/pdf"], mime)


def test_unknown_bytes_are_octet_stream():
    noise = b"".join(hashlib.sha256(bytes([n])).digest() for n in range(256))
    assert sniff(noise) == "application/octet-stream"
    assert sniff(b"") == "application/octet-stream"


def test_accepts():
    assert accepts(None, "application/x-dosexec")
    assert accepts(["image/*"], "image/png")
    assert accepts(["image/*"], "image/svg+xml")
    assert not accepts(["image/*"], "application/pdf")
    assert accepts(["application/pdf", "image/*"], "application/pdf")
    assert not accepts(["application/pdf"], "text/plain")
    assert not accepts(["application/pdf"], "application/pdfx")
    assert accepts(["*/*"], "text/html")
    assert accepts(["Image/PNG"], "image/png")
    assert accepts(["text/csv"], "text/plain")
    assert not accepts(["text/plain"], "text/csv")
    assert not accepts([], "image/png")
    assert not accepts(["image/*"], "imagex/png")


@pytest.mark.parametrize(("given", "kept"), [
    ("契約書 2026.pdf", "契約書 2026.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ako\\見積.xlsx", "見積.xlsx"),
    ("a\x00b\x1fc\x7f.txt", "abc.txt"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),  # a right-to-left override disguised it
    ("  ..hidden. ", "hidden"),
    ("ｶﾀｶﾅ.txt", "ｶﾀｶﾅ.txt"),
    ("e\u0301te\u0301.txt", "été.txt"),  # NFC
    ("", "file"),
    ("...", "file"),
    ("dir/", "file"),
    ("\x00\x01", "file"),
])
def test_safe_name(given, kept):
    assert safe_name(given) == kept


def test_a_long_name_keeps_its_extension():
    name = safe_name("報告" * 150 + ".pdf")
    assert len(name) == MAX_NAME and name.endswith("報告.pdf")
    assert len(safe_name("x" * 500)) == MAX_NAME
    assert safe_name("a" * 300 + ".not-an-extension-at-all-really").startswith("a" * 150)


def test_previewable_never_holds_anything_scriptable():
    assert PREVIEWABLE == {"image/png", "image/jpeg", "image/gif", "image/webp",
                           "application/pdf"}
    assert not {"text/html", "image/svg+xml", "application/xhtml+xml"} & PREVIEWABLE


# -- image bombs ----------------------------------------------------------------------------


def png_header(width: int, height: int) -> bytes:
    """A PNG signature, an IHDR chunk with the given dimensions (correct CRC) and one tiny
    IDAT: a few dozen bytes that claim width × height pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_a_ten_gigapixel_png_is_refused_without_decoding():
    bomb = png_header(100_000, 100_000)
    assert sniff(bomb) == "image/png"
    tracemalloc.start()
    try:
        with pytest.raises(FileRefused) as refused:
            check_image(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.code == "image"
    assert "50 megapixels" in str(refused.value)
    assert peak < 1024 * 1024


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header (SOF0) is rewritten to claim other dimensions."""
    data = bytearray(image("JPEG", size=(8, 8)))
    frame = data.index(b"\xff\xc0")
    data[frame + 5:frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_claiming(width: int, height: int) -> bytes:
    """A real small GIF whose screen and first image descriptor claim other dimensions."""
    data = bytearray(image("GIF", size=(8, 8)))
    data[6:10] = struct.pack("<HH", width, height)
    descriptor = data.index(b"\x2c\x00\x00\x00\x00")
    data[descriptor + 5:descriptor + 9] = struct.pack("<HH", width, height)
    return bytes(data)


@pytest.mark.parametrize("bomb", [jpeg_claiming(60_000, 60_000), gif_claiming(60_000, 60_000),
                                  jpeg_claiming(10_000, 6_000)])
def test_jpeg_and_gif_bombs_are_refused_from_their_headers(bomb):
    with pytest.raises(FileRefused, match="50 megapixels"):
        check_image(bomb)


def test_just_over_the_limit_is_refused_below_pillows_own_alarm():
    with pytest.raises(FileRefused, match="50 megapixels"):
        check_image(png_header(10_000, 5_001))


def test_an_image_at_the_limit_passes():
    check_image(png_header(10_000, 5_000))


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "GIF", "WEBP"])
def test_ordinary_images_pass_as_bytes_streams_and_paths(kind, tmp_path):
    data = image(kind, size=(640, 480))
    check_image(data)
    stream = io.BytesIO(data)
    stream.seek(3)
    check_image(stream)
    assert stream.tell() == 3  # the caller's stream is put back
    path = tmp_path / "photo"
    path.write_bytes(data)
    check_image(path)


def test_a_broken_image_is_refused_as_unreadable():
    with pytest.raises(FileRefused, match="cannot be read") as refused:
        check_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert refused.value.code == "image"


def test_a_refusal_carries_a_template_and_its_parameters():
    with pytest.raises(FileRefused) as refused:
        check_image(png_header(100_000, 100_000))
    assert "%(limit)s" in refused.value.message
    assert refused.value.params == {"limit": 50}
    assert refused.value.message % refused.value.params == str(refused.value)


def test_every_refusal_message_has_a_japanese_translation():
    """The web and the API translate a refusal by its template; the catalogue must know
    each one (pybabel finds them through checks.py's `_()` marker)."""
    from pathlib import Path

    from babel.messages.extract import extract_from_file
    from babel.messages.pofile import read_po

    import karte.files.checks as checks

    root = Path(checks.__file__).parents[1]
    with (root / "translations/ja/LC_MESSAGES/messages.po").open("rb") as po:
        catalogue = read_po(po)
    found = [message for _line, message, _comments, _context
             in extract_from_file("python", checks.__file__)]
    assert len(found) >= 3
    assert [m for m in found if not (catalogue.get(m) and catalogue.get(m).string)] == []


def test_the_standard_document_takes_each_kind_it_promises_as_sniffed():
    """The standard pack's document says it takes PDFs, images and Office files: each must
    pass its `accept` as libmagic names it (a large .xls through sniff_stream)."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    document = json.loads((root / "entity_defs" / "document.json").read_text(encoding="utf-8"))
    accept = document["fields"]["file"]["accept"]
    promised = ["pdf", "png", "jpeg", "gif", "webp", "tiff", "heic", "docx", "xlsx", "pptx",
                "odt", "ods"]
    refused = [kind for kind in promised if not accepts(accept, sniff(SAMPLES[kind][0]))]
    for name, data in (("large xls", LARGE_XLS), ("large doc", LARGE_DOC)):
        if not accepts(accept, sniff_stream(io.BytesIO(data))):
            refused.append(name)
    assert refused == []
    assert not accepts(accept, sniff(EXE)) and not accepts(accept, sniff(HTML))
