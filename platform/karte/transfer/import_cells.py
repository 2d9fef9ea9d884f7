"""From the file's rows to import rows: each mapped cell read by `values.read_cell`
(links, links lists and users left as `Ref`s for `import_refs`), a cell that cannot be
read a problem naming its line and column.

An entity with lines takes them as rows carrying the parent's key (SPEC §3.5, §14): the
consecutive rows with the same key — or, without a key, rows whose parent columns are
all empty after a row that has some — are one record whose lines are the rows' line
columns. The record's own values come from its first row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from karte.transfer.import_plan import Column, Mapped
from karte.transfer.imports import RowProblem
from karte.transfer.values import CellProblem, Reading, read_cell


@dataclass
class Row:
    """One record to import: the file lines it was read from (their cells as read, for
    the failed-rows file), its values by field, its lines, and its problems. `where`
    tells, per field (or "lines[N].field"), the file line and column a value came from,
    so that the service's problems map back to them."""

    line: int
    members: list[tuple[int, list[Any]]]
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    where: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)     # the cell read for `where`
    key: Any = None
    record: dict[str, Any] | None = None   # the stored record the key matched
    action: str | None = None              # "created" once created

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    def fail(self, where: str, code: str, message: str, details: dict[str, Any] | None = None,
             ) -> None:
        """A problem about the value of `where` (a field, "lines[2].quantity"), located at
        its line and column; "" or an unknown name: the row's first line."""
        line, column = self.where.get(where, (self.line, None))
        name = where.rsplit(".", 1)[-1] if where else None
        self.problems.append(RowProblem(line, column, name or None, code, message,
                                        dict(details or {}), text(self.raw.get(where))))


_UNREAD = object()


def _cell(row: Row, column: Column, raw: Any, reading: Reading, line: int,
          where: str) -> Any:
    """The cell's value, or _UNREAD (its problem added to the row)."""
    row.where[where] = (line, column.header)
    row.raw[where] = raw
    try:
        return read_cell(column.field, raw, reading)
    except CellProblem as problem:
        row.problems.append(RowProblem(line, column.header, column.field.name, problem.code,
                                       problem.message, dict(problem.details), text(raw)))
        return _UNREAD


def _parent_values(row: Row, mapped: Mapped, line: int, cells: list[Any],
                   reading: Reading) -> None:
    for column in mapped.parent_columns:
        value = _cell(row, column, cells[column.index], reading, line, column.field.name)
        if value is not _UNREAD:
            row.values[column.field.name] = value


def _add_line(row: Row, mapped: Mapped, line: int, cells: list[Any], reading: Reading) -> None:
    """The row's line columns as one more line of each lines field they feed (a field
    whose line cells are all empty gets no line from this row)."""
    by_lines: dict[str, list[Column]] = {}
    for column in mapped.line_columns:
        by_lines.setdefault(column.lines or "", []).append(column)
    for name, columns in by_lines.items():
        if all(_blank(cells[c.index]) for c in columns):
            continue
        lines = row.values.setdefault(name, [])
        number = len(lines) + 1
        values = {c.field.name: _cell(row, c, cells[c.index], reading, line,
                                      f"{name}[{number}].{c.field.name}") for c in columns}
        row.where.setdefault(f"{name}[{number}]", (line, None))
        lines.append({k: v for k, v in values.items() if v is not _UNREAD})


def text(raw: Any) -> str | None:
    """A cell as the file shows it (None for a cell not read)."""
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.isoformat(sep=" ")
    return raw.isoformat() if isinstance(raw, dt.date) else str(raw)


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _key_text(mapped: Mapped, cells: list[Any]) -> str:
    if mapped.key_index is None:
        return ""
    raw = cells[mapped.key_index]
    return "" if _blank(raw) else str(raw).strip()


def _continues(mapped: Mapped, current: Row | None, key: str, cells: list[Any]) -> bool:
    """Whether this file row is one more line of the current record."""
    if current is None or not mapped.line_columns:
        return False
    if mapped.key_index is not None:
        return bool(key) and key == current.key
    return all(_blank(cells[c.index]) for c in mapped.parent_columns)


def rows(mapped: Mapped, numbered: Iterable[tuple[int, list[Any]]],
         reading: Reading) -> Iterator[Row]:
    """The records of the file in order, each with its values read and its problems."""
    current: Row | None = None
    for line, cells in numbered:
        key = _key_text(mapped, cells)
        if _continues(mapped, current, key, cells):
            assert current is not None
            current.members.append((line, cells))
            _add_line(current, mapped, line, cells, reading)
            continue
        if current is not None:
            yield current
        current = Row(line, [(line, cells)], key=key or None)
        if mapped.key_header is not None:
            current.where["id"] = (line, mapped.key_header)
            current.raw["id"] = cells[mapped.key_index or 0]
        _parent_values(current, mapped, line, cells, reading)
        _add_line(current, mapped, line, cells, reading)
    if current is not None:
        yield current
