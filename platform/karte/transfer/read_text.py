"""CSV and TSV: the encoding (a BOM, UTF-8, else charset-normalizer), the delimiter, and the
rows streamed line by line (under `karte.transfer.read.open_sheet`)."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

from karte.transfer.read import SAMPLE, ReadError, header_of

DELIMITERS = (",", ";", "\t")
FIELD_LIMIT = 1_000_000
"""Characters one CSV cell may hold (the csv module's default, 128 KiB, refuses long notes)."""
ENCODING_NAMES = {
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "cp932": "cp932",
    "ms932": "cp932", "windows-31j": "cp932", "ascii": "utf-8", "utf_8": "utf-8",
}
"""charset-normalizer's names as Python codecs: Shift_JIS is read as CP932, its superset that
Excel in Japan writes (①, ㈱, NEC and IBM extensions)."""
CHOOSE = ("Choose the file's encoding (for example UTF-8 or Shift_JIS), or save it from your "
          "spreadsheet as \"CSV UTF-8\".")


def codec_of(name: str) -> str:
    """The Python codec for an encoding's name (Shift_JIS as CP932, UTF-8 BOM-tolerant)."""
    key = name.strip().lower().replace(" ", "")
    found = ENCODING_NAMES.get(key, key)
    try:
        codecs.lookup(found)
    except LookupError:
        raise ReadError(f'"{name}" is not an encoding this program knows: choose UTF-8, '
                        "Shift_JIS (CP932) or UTF-16.") from None
    if codecs.lookup(found).name == "utf-8" and key.replace("_", "-") == "utf-8":
        return "utf-8-sig"   # a BOM, if any, is not part of the first column's name
    return found


def detect(head: bytes) -> str:
    """The codec of a text file from its first bytes: a BOM, else UTF-8 when they are valid
    UTF-8 (a character cut at the sample's end is fine), else charset-normalizer's guess."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # A short file gives the detector little to go on: a lenient threshold, and CP932 (what
    # Excel in Japan writes) when nothing else fits and it reads the bytes.
    results = list(from_bytes(head, threshold=0.5, explain=False))
    if results:
        return codec_of(_preferred(head, results))
    try:
        codecs.getincrementaldecoder("cp932")().decode(head, final=False)
        return "cp932"
    except UnicodeDecodeError:
        raise ReadError("The file's text cannot be read in any encoding tried (UTF-8, "
                        f"Shift_JIS, ...): is it really a CSV file? {CHOOSE}") from None


PREFERRED = ("cp932", "shift_jis", "shift_jis_2004", "euc_jp", "euc_jis_2004", "cp1252")
"""Among encodings that read a sample equally well, the ones spreadsheets write here: a
short Japanese sample reads as Korean (cp949) as well, a German one as Central European."""


def _preferred(head: bytes, results: list[Any]) -> str:
    best = min(results, key=lambda r: r.chaos)
    close = {r.encoding for r in results if r.chaos <= best.chaos + 0.02}
    for name in PREFERRED:
        if name in close:
            return name
    if not close & {"cp949", "gb18030", "big5", "big5hkscs", "euc_kr"}:
        try:
            head.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return str(best.encoding)


def decode_sample(head: bytes, codec: str, whole: bool, given: bool) -> str:
    try:
        return codecs.getincrementaldecoder(codec)().decode(head, final=whole)
    except UnicodeDecodeError as error:
        said = "the encoding you chose" if given else "the encoding found"
        raise ReadError(f"The file cannot be read as {_shown(codec)} ({said}): byte "
                        f"{error.start + 1} is not valid there. {CHOOSE}") from None


def _shown(codec: str) -> str:
    return {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "cp932": "Shift_JIS (CP932)",
            "utf-16": "UTF-16", "euc_jis_2004": "EUC-JP", "euc_jp": "EUC-JP",
            "cp1252": "Windows-1252"}.get(codec, codec)


def sniff(sample: str, name: str) -> str:
    """The delimiter giving the most rows with the header's number of cells (several
    cells); a .tsv name prefers tab and a tie prefers the comma."""
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and len(sample) >= SAMPLE - 4:
        lines = lines[:-1]        # the last line may be cut by the sample's end
    lines = [line for line in lines if line.strip(" \t,;\r\n")][:200]
    best, best_score = ",", (-1, -1, -1)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(lines, delimiter=delimiter) if any(c.strip()
                                                                            for c in r)]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        fits = sum(1 for r in rows if len(r) == width) if width > 1 else 0
        preferred = (delimiter == "\t") == name.endswith((".tsv", ".tab"))
        score = (fits, width, int(preferred))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _lines(raw: io.BufferedReader, codec: str) -> Generator[str, None, None]:
    """The file's text line by line, so that bytes the codec cannot read are found on their
    own line (UTF-16 has zero bytes in its line ends: it is decoded in chunks)."""
    decoder = codecs.getincrementaldecoder(codec)()
    if codecs.lookup(codec).name.startswith("utf-16"):
        rest = ""
        while chunk := raw.read(SAMPLE):
            *whole, rest = (rest + decoder.decode(chunk)).split("\n")
            yield from (line + "\n" for line in whole)
        yield rest + decoder.decode(b"", final=True)
        return
    for line in raw:
        yield decoder.decode(line)
    yield decoder.decode(b"", final=True)


def _records(text: Iterator[str], delimiter: str, codec: str
             ) -> Iterator[tuple[int, list[str]]]:
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(text, delimiter=delimiter)
    line = 0
    try:
        for line, cells in enumerate(reader, start=1):
            yield line, cells
    except UnicodeDecodeError:
        raise ReadError(f"Row {line + 1} cannot be read as {_shown(codec)}: the file "
                        f"mixes encodings or is not text. {CHOOSE}") from None
    except csv.Error as error:
        raise ReadError(f"Row {line + 1} cannot be read: {error}. Check its quotes "
                        "(a quote inside a cell is written twice: \"\").") from None


def header(path: Path, codec: str, delimiter: str) -> tuple[list[str], int]:
    with path.open("rb") as raw:
        lines = _lines(raw, codec)
        try:
            return header_of(_records(lines, delimiter, codec))
        except LookupError:
            raise ReadError("The file has no header row: its first row must name the "
                            "columns.") from None
        finally:
            lines.close()


def rows(path: Path, codec: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(record number, cells) of every record of the file, blank ones too."""
    with path.open("rb") as raw:
        lines = _lines(raw, codec)
        try:
            yield from _records(lines, delimiter, codec)
        finally:
            lines.close()     # before the file
