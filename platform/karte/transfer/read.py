"""Reading the files people import (SPEC §14): CSV and TSV in the encodings spreadsheets
write (UTF-8 with or without BOM, Shift_JIS/CP932, UTF-16 with BOM) and XLSX.

`open_sheet` looks at the file once — its format, its encoding, its delimiter and its
header — and returns a `Sheet` whose `rows()` streams the data rows from the file each time
it is called: a file is never held in memory whole. Every refusal is a `ReadError` whose
text says what is wrong with the file and what to do about it.
"""

from __future__ import annotations

import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLE = 64 * 1024
"""Bytes looked at to recognise a file, choose an encoding and a delimiter."""
XLSX_STREAM_ABOVE = 10 * 1024 * 1024
"""Workbooks larger than this (about 200,000 rows of 10 columns) are read with openpyxl's
streaming read-only mode; smaller ones with python-calamine, ten times faster but holding
the sheet's cells in memory (bench/bench_xlsx_read.py, 100k × 10 rows on a shared 2-core
machine: about 3.5 s and 110 MB against 37 to 50 s and 48 MB)."""
ENCODINGS = (("utf-8", "UTF-8"), ("cp932", "Shift_JIS (CP932)"), ("utf-16", "UTF-16"),
             ("euc_jp", "EUC-JP"), ("cp1252", "Windows-1252 (Western Europe)"))
"""The encodings a person may choose instead of the detected one (codec, name shown); any
other name Python knows is accepted too."""


class ReadError(ValueError):
    """A file that cannot be read as a sheet; `str(error)` says why and how to fix it."""


@dataclass
class Sheet:
    """One table read from a file: its header and a way to stream its rows."""

    path: Path
    format: str                   # "csv" | "tsv" | "xlsx"
    encoding: str | None          # the codec used ("utf-8-sig", "cp932"...); None for xlsx
    delimiter: str | None         # "," ";" "\t" for csv/tsv
    columns: list[str]            # header cells as text, stripped, made unique
    header_line: int = 1          # the line (record) number of the header
    _engine: str = field(default="calamine", repr=False)
    # the workbook as loaded to find the header, kept for the first rows() only: a
    # workbook is not loaded twice in a row
    _loaded: Any = field(default=None, repr=False, compare=False)

    def rows(self) -> Iterator[list[Any]]:
        """The data rows, each exactly len(columns) cells (padded with "" / None, or cut).
        CSV cells are str; XLSX cells are str, int, float, bool, date, datetime or None.
        Each call reads the file again from its start."""
        for _, cells in self.numbered():
            yield cells

    def numbered(self) -> Iterator[tuple[int, list[Any]]]:
        """(line, cells) per data row: line is the row number a spreadsheet shows (the
        header is 1 when it is the file's first row). Blank rows are skipped but counted."""
        width = len(self.columns)
        source = self._xlsx_rows() if self.format == "xlsx" else self._text_rows()
        for line, cells in source:
            if line <= self.header_line or _blank(cells):
                continue
            if len(cells) < width:
                cells = [*cells, *([None if self.format == "xlsx" else ""]
                                   * (width - len(cells)))]
            yield line, cells[:width]

    def _text_rows(self) -> Iterator[tuple[int, list[str]]]:
        from karte.transfer.read_text import rows

        assert self.encoding is not None and self.delimiter is not None
        yield from rows(self.path, self.encoding, self.delimiter)

    def _xlsx_rows(self) -> Iterator[tuple[int, list[Any]]]:
        loaded, self._loaded = self._loaded, None
        if self._engine == "openpyxl":
            yield from _openpyxl_rows(self.path, loaded)
        else:
            yield from _calamine_rows(self.path, loaded)


def open_sheet(path: Path, *, filename: str | None = None, encoding: str | None = None
               ) -> Sheet:
    """The sheet in `path` (an upload's name in `filename`, else the path's): XLSX when the
    content is an XLSX workbook (its first sheet), else CSV/TSV with the encoding detected
    unless `encoding` is given and the delimiter sniffed among , ; and tab.
    Raises ReadError for an empty file, a file without a header, another kind of file (PDF,
    old .xls, ...) or bytes the encoding cannot read."""
    path = Path(path)
    name = (filename or path.name).lower()
    with path.open("rb") as stream:
        head = stream.read(SAMPLE)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ReadError("The file is empty: export the sheet again with its header row "
                        "and at least one row of data.")
    _refuse_other_kinds(head, name)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    from karte.transfer import read_text as text

    codec = text.codec_of(encoding) if encoding else text.detect(head)
    sample = text.decode_sample(head, codec, len(head) < SAMPLE, given=encoding is not None)
    delimiter = text.sniff(sample, name)
    columns, header_line = text.header(path, codec, delimiter)
    return Sheet(path, "tsv" if delimiter == "\t" else "csv", codec, delimiter, columns,
                 header_line)


# ------------------------------------------------------------------ kinds of file

_OTHER_KINDS = (
    (b"%PDF", "This is a PDF document, not a table: export the data from its source as "
              "CSV or XLSX."),
    (b"\xd0\xcf\x11\xe0", "This is an old Excel file (.xls) or another Office 97 file: open "
                          "it in Excel and save it as .xlsx or CSV."),
    (b"\x89PNG", "This is an image (PNG), not a table: upload a CSV, TSV or XLSX file."),
    (b"\xff\xd8\xff", "This is an image (JPEG), not a table: upload a CSV, TSV or XLSX file."),
    (b"GIF8", "This is an image (GIF), not a table: upload a CSV, TSV or XLSX file."),
    (b"\x1f\x8b", "This is a compressed (gzip) file: unpack it and upload the CSV or XLSX "
                  "inside."),
    (b"{\\rtf", "This is a Rich Text document, not a table: save the data as CSV or XLSX."),
    (b"<?xml", "This is an XML file (perhaps an Excel 2003 XML sheet), not a CSV or XLSX "
               "file: open it in your spreadsheet and save it as .xlsx or CSV."),
    (b"<html", "This is a web page (some programs export one with an .xls name), not a "
               "table file: open it in your spreadsheet and save it as .xlsx or CSV."),
    (b"<!doctype html", "This is a web page, not a table file: open it in your spreadsheet "
                        "and save it as .xlsx or CSV."),
)


def _refuse_other_kinds(head: bytes, name: str) -> None:
    if head.startswith(b"\xd0\xcf\x11\xe0") and name.endswith((".xlsx", ".xlsm")):
        raise ReadError("This workbook is protected by a password (Excel stores such a file "
                        "encrypted): remove the password in Excel and save it again, or save "
                        "it as CSV.")
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:16].lower()
    for magic, message in _OTHER_KINDS:
        if head.startswith(magic) or (magic.startswith(b"<") and start.startswith(magic)):
            raise ReadError(message)
    if name.endswith((".xls", ".ods", ".numbers")) and not head.startswith(b"PK\x03\x04"):
        raise ReadError(f'"{name}" is not a CSV, TSV or XLSX file: save it from your '
                        "spreadsheet as .xlsx or CSV.")


# ------------------------------------------------------------------ XLSX

def _open_xlsx(path: Path, engine: str | None = None) -> Sheet:
    if engine is None:
        engine = "openpyxl" if path.stat().st_size > XLSX_STREAM_ABOVE else "calamine"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise ReadError("This file looks like an XLSX workbook but is damaged: open it in "
                        "your spreadsheet and save it again.") from None
    if "xl/workbook.xml" not in names:
        raise ReadError("This is a ZIP file (or a Word / OpenDocument file), not an XLSX "
                        "workbook: save the sheet as .xlsx or CSV.")
    sheet = Sheet(path, "xlsx", None, None, [], _engine=engine)
    # the loaded workbook is kept for the first rows(): loading is most of the work (its
    # shared strings for openpyxl, every cell for calamine)
    if engine == "calamine":
        sheet._loaded = _calamine_sheet(path)
        source = _calamine_rows(path, sheet._loaded)
    else:
        sheet._loaded = _openpyxl_book(path)
        source = _openpyxl_iter(sheet._loaded)
    try:
        sheet.columns, sheet.header_line = header_of(source)
    except LookupError:
        if engine == "openpyxl":
            sheet._loaded.close()
        raise ReadError("The workbook's first sheet is empty: its first row must name the "
                        "columns, and the rows below hold the data.") from None
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
    return sheet


def _calamine_rows(path: Path, loaded: Any = None) -> Iterator[tuple[int, list[Any]]]:
    """Rows numbered from the sheet's first (calamine's rows start at row 1; its columns at
    the first used one)."""
    sheet = loaded if loaded is not None else _calamine_sheet(path)
    for line, cells in enumerate(sheet.iter_rows(), start=1):
        yield line, [_calamine_cell(c) for c in cells]


def _calamine_sheet(path: Path) -> Any:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        try:
            return workbook.get_sheet_by_index(0)
        finally:
            workbook.close()
    except Exception as error:  # calamine's own errors: a damaged workbook
        raise ReadError(f"The workbook cannot be read ({error}): open it in your "
                        "spreadsheet and save it again as .xlsx.") from None


def _calamine_cell(value: Any) -> Any:
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _openpyxl_rows(path: Path, loaded: Any = None) -> Iterator[tuple[int, list[Any]]]:
    workbook = loaded if loaded is not None else _openpyxl_book(path)
    try:
        yield from _openpyxl_iter(workbook)
    finally:
        workbook.close()


def _openpyxl_book(path: Path) -> Any:
    import openpyxl  # type: ignore[import-untyped]

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl's own errors: a damaged workbook
        raise ReadError(f"The workbook cannot be read ({error}): open it in your "
                        "spreadsheet and save it again as .xlsx.") from None


def _openpyxl_iter(workbook: Any) -> Iterator[tuple[int, list[Any]]]:
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()
    for line, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield line, list(cells)


# ------------------------------------------------------------------ both

TITLE_ROWS = 5
"""Rows with one cell above the header (a sheet's title, its date) that are passed over."""


def header_of(source: Iterator[tuple[int, list[Any]]]) -> tuple[list[str], int]:
    """The header's cells and line: the first non-blank row — or, when the sheet opens with
    a few rows of one cell each (a title such as "顧客一覧 2026/11/30") and then a row of
    several, that row. LookupError when every row is blank."""
    titles: list[tuple[int, list[Any]]] = []
    for line, cells in source:
        if _blank(cells):
            continue
        filled = sum(1 for c in cells if not _blank([c]))
        if filled > 1 or len(titles) == TITLE_ROWS:
            if titles and filled <= 1:
                line, cells = titles[0]
            return _unique(cells), line
        titles.append((line, cells))
    if titles:
        return _unique(titles[0][1]), titles[0][0]
    raise LookupError("no header")


def _blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _unique(cells: list[Any]) -> list[str]:
    """Header cells as text, stripped; a blank one becomes "Column N", a repeated one
    "Name (2)"."""
    seen: set[str] = set()
    names: list[str] = []
    for number, cell in enumerate(cells, start=1):
        text = "" if cell is None else unicodedata.normalize("NFC", str(cell)).strip()
        text = text.lstrip("\ufeff").strip() or f"Column {number}"
        candidate, count = text, 1
        while candidate.casefold() in seen:
            count += 1
            candidate = f"{text} ({count})"
        seen.add(candidate.casefold())
        names.append(candidate)
    while names and names[-1].startswith("Column ") and _blank([cells[len(names) - 1]]):
        names.pop()               # trailing blank header cells are no columns
    return names
