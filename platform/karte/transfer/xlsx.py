"""An export as an XLSX workbook (SPEC §14): typed cells — numbers as numbers, dates and
datetimes as dates with a date format, money with two decimals (a decimal with its field's
scale), percentages as percentages — under a bold, frozen header, with column widths fitted
to the header and the first batch.

openpyxl's write-only mode streams each row to a temporary file as it is appended and
writes strings inline (no shared-string table growing with the rows), so memory stays flat
however many rows there are; `write` then zips the sheet into `out` (a file: the web sends a
temporary file back, the CLI writes where it is told). Text is never a formula: a cell
starting with "=" stays text, and characters XML cannot hold are dropped.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet._write_only import WriteOnlyWorksheet  # type: ignore[import-untyped]

from karte.meta.model import Field
from karte.transfer.export import Cell, Rows

MAX_TEXT = 32_767            # Excel's limit for one cell
MIN_WIDTH, MAX_WIDTH = 6, 60
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm:ss"
SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def number_format(f: Field, raw: bool) -> str | None:
    """The cell format a column's numbers and dates get (None: General)."""
    kind = f.as_value().type
    if kind in ("money", "decimal"):
        scale = 2 if kind == "money" or f.as_value().scale is None else f.as_value().scale
        return "#,##0" + ("." + "0" * scale if scale else "")
    if kind == "percent":
        return "0.00" if raw else "0.00%"
    if kind == "date" and not raw:
        return DATE
    if kind == "datetime" and not raw:
        return DATETIME
    return None


def write(rows: Rows, out: IO[bytes], *, title: str, raw: bool = False) -> int:
    """Write the export to `out`; returns how many rows were written."""
    book = Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = book.create_sheet(_sheet_title(title))
    sheet.freeze_panes = "A2"
    kinds = [f.as_value().type for f in rows.fields]
    formats = [number_format(f, raw) for f in rows.fields]
    for n, width in enumerate(_widths(rows), 1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    bold = Font(bold=True)
    header = []
    for label in rows.header:
        cell = WriteOnlyCell(sheet, _text(label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    percent = [kind == "percent" and not raw for kind in kinds]
    for batch in rows.batches:
        for row in batch:
            sheet.append([_cell(sheet, value, formats[n], percent[n])
                          for n, value in enumerate(row)])
    book.save(out)
    return rows.count


def _cell(sheet: WriteOnlyWorksheet, value: Cell, fmt: str | None, percent: bool) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        text = _text(value)
        if text.startswith("=") or text in ERROR_CODES:
            cell = WriteOnlyCell(sheet, text)
            cell.data_type = "s"           # text, never a formula or an error
            return cell
        return text
    if fmt is None or isinstance(value, bool):
        return value
    if percent and isinstance(value, Decimal | int):
        value = Decimal(value) / 100
    cell = WriteOnlyCell(sheet, value)
    cell.number_format = fmt
    return cell


def _text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_TEXT]


def _sheet_title(title: str) -> str:
    return (title.translate(SHEET_FORBIDDEN).strip("'") or "Export")[:31]


def _widths(rows: Rows) -> list[float]:
    """Wide enough for the header and the first batch's values (full-width characters
    count double), within bounds: the rest of the rows are not read twice."""
    widths = [_width(label) + 2 for label in rows.header]
    for row in rows.first[:200]:
        for n, value in enumerate(row):
            widths[n] = max(widths[n], _width(_shown(value)) + 1)
    return [min(max(w, MIN_WIDTH), MAX_WIDTH) for w in widths]


def _shown(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return "0000-00-00 00:00:00"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text[:MAX_WIDTH])
