"""The editable grid of a `lines` field on its parent's form (SPEC §3.5).

Each row is a line, each cell one of the part's declared fields with the widget forms
already use. A row's inputs are named `<field>-<i>-<cell>` with a hidden `<field>-<i>-id`
first: the order in which those ids arrive is the order of the lines (position), so moving
rows in the page (buttons or drag) needs no renumbering. A row whose cells are all blank
and that has no id is ignored; a row with its "remove" box ticked is left out (and so
deleted). Without JavaScript the form offers a few empty rows, and "Add rows" / "Up" /
"Down" submit the form to the live endpoint, which shows it again with everything typed.

Lines are numbered from 1 as the records service names their problems (`lines[3].quantity`):
a line's number is its place among the rows that are saved, which is also the number the
grid shows in the row's first cell.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from karte.meta.model import Entity, Field
from karte.web import registry, text
from karte.web.display import Refs, references, show
from karte.web.form_model import CHOICES, FormModel, Widget
from karte.web.form_values import MANY, QUERY, Parsed, as_text, editable, parse
from karte.web.lines_errors import NAMED
from karte.web.lines_values import (
    NUMERIC,
    columns,
    computed,
    kind,
    part_of,
    prefix,
    rights,
    stored_lines,
    summed,
    totals,
)

EMPTY_ROWS = 3
"""Empty rows offered at the end of the grid (without JavaScript, the way to add lines)."""
ACTION = "_grid"
"""The name of the no-script grid buttons: `<field>:add`, `<field>:up:<i>`, `<field>:down:<i>`."""


@dataclass
class RowText:
    """One row as typed: its form index, stored id (or ""), cell texts by field name."""

    index: int
    id: str = ""
    cells: dict[str, Any] = dataclasses.field(default_factory=dict)
    remove: bool = False
    number: int | None = None     # the line number it is saved as (None: empty or removed)


@dataclass
class GridText:
    """What a grid holds as typed; it travels in `Parsed.raw[<lines field>]`."""

    rows: list[RowText] = dataclasses.field(default_factory=list)


@dataclass
class Cell(Widget):
    """A field widget whose inputs are named for its row: `lines-3-quantity`."""

    prefix: str = ""

    @property
    def name(self) -> str:
        return f"{self.prefix}{self.field.name}"


@dataclass
class Row:
    index: int
    id: str
    number: int | None
    cells: list[Cell]
    remove: bool
    errors: list[str]

    @property
    def prefix(self) -> str:
        return self.cells[0].prefix if self.cells else ""


@dataclass
class Grid:
    field: Field
    part: Entity
    columns: list[Field]
    rows: list[Row]
    next_index: int
    errors: list[str]
    totals: dict[str, Markup] = dataclasses.field(default_factory=dict)

    @property
    def summed(self) -> list[str]:
        return [c.name for c in self.columns if summed(c)]

    @property
    def fetch_links(self) -> str:
        """The link cells whose pick fills other cells of the row (space-separated)."""
        links = {found.split(".", 1)[0] for c in self.columns if (found := _fetches(c))}
        return " ".join(sorted(links))

    @property
    def numeric(self) -> set[str]:
        return {c.name for c in self.columns if kind(c) in NUMERIC}

    @property
    def name(self) -> str:
        return self.field.name



def _blank(value: Any, f: Field | None = None) -> bool:
    """Nothing typed: an unticked box ("0") counts as nothing for an empty row."""
    if isinstance(value, list):
        return not any(str(v).strip() for v in value)
    empty = ("", "0") if f is not None and f.type == "boolean" else ("",)
    return value is None or str(value).strip() in empty


def _empty(inputs: list[Field], raw: Mapping[str, Any]) -> bool:
    return all(_blank(value, _named(inputs, name)) for name, value in raw.items())


def _indexes(name: str, form: MultiDict) -> list[int]:
    """The rows of grid `name` in the order the page sent them."""
    pattern = re.compile(rf"^{re.escape(name)}-(\d+)-id$")
    return [int(m.group(1)) for key in form.keys() if (m := pattern.match(key))]


def _row_form(form: MultiDict, start: str) -> MultiDict:
    """The row's inputs under their field names (`_q.` picker boxes included)."""
    found: MultiDict = MultiDict()
    for key, value in form.items(multi=True):
        if key.startswith(start):
            found.add(key[len(start):], value)
        elif key.startswith(QUERY + start):
            found.add(QUERY + key[len(QUERY + start):], value)
    return found


def _inputs(part: Entity) -> list[Field]:
    """The cells a row posts: never a field the user's role may not write."""
    _hidden, fixed = rights(part)
    return [f for f in columns(part) if editable(f) and f.name not in fixed]


def parse_grid(f: Field, form: MultiDict, zone: ZoneInfo, look: Any, parsed: Parsed) -> None:
    """The lines of grid `f` into `parsed` (values: a list of line dicts in order; raw: a
    `GridText`; problems: `lines[N].cell`). A form without the grid says nothing about it,
    so the stored lines are kept."""
    indexes = _indexes(f.name, form)
    if not indexes:
        return
    part, grid, lines = part_of(f), GridText(), []
    inputs = _inputs(part)
    for index in indexes:
        start = prefix(f.name, index)
        row_form = _row_form(form, start)
        row = parse(inputs, row_form, zone, look)
        id = row_form.get("id", "").strip()
        typed = RowText(index, id, dict(row.raw), row_form.get("remove") == "1")
        grid.rows.append(typed)
        if typed.remove or (not id and _empty(inputs, row.raw)):
            continue
        lines.append(_line(id, inputs, row))
        typed.number = len(lines)
        for cell, messages in row.problems.items():
            parsed.problems.setdefault(f"{f.name}[{typed.number}].{cell}", []).extend(messages)
    parsed.values[f.name] = lines
    parsed.raw[f.name] = grid


def _line(id: str, inputs: list[Field], row: Parsed) -> dict[str, Any]:
    """A line for the records service; on a new line a blank cell that fetches its value
    is left out, so the value is fetched from the link (SPEC §3.6). On a stored line a
    cleared cell is sent empty: the person cleared it."""
    line = {name: value for name, value in row.values.items()
            if id or not (value is None and _fetches(_named(inputs, name)))}
    if id.isdigit():
        line["id"] = int(id)
    return line


def _fetches(f: Field | None) -> str | None:
    """`<link>.<field>` when the field copies its value from a link (`fetch`, SPEC §3.6)."""
    found = getattr(f, "fetch", None)
    return found if isinstance(found, str) else None


def _named(fields: list[Field], name: str) -> Field | None:
    return next((f for f in fields if f.name == name), None)


def parse_grids(entity: Entity, form: MultiDict, zone: ZoneInfo, look: Any,
                parsed: Parsed) -> None:
    for f in entity.fields.values():
        if f.type == "lines":
            parse_grid(f, form, zone, look, parsed)


def act(entity: Entity, form: MultiDict, parsed: Parsed) -> None:
    """A no-script grid button: add empty rows, or move a row up or down."""
    said = form.get(ACTION, "").split(":")
    f = entity.fields.get(said[0])
    grid = parsed.raw.get(said[0]) if f is not None and f.type == "lines" else None
    if not isinstance(grid, GridText):
        return
    if said[1:2] == ["add"]:
        start = _next(grid)
        grid.rows.extend([RowText(start + i) for i in range(EMPTY_ROWS)])
        return
    where = [r.index for r in grid.rows]
    try:
        at = where.index(int(said[2]))
    except (IndexError, ValueError):
        return
    to = at - 1 if said[1] == "up" else at + 1
    if 0 <= to < len(grid.rows):
        grid.rows[at], grid.rows[to] = grid.rows[to], grid.rows[at]
        _renumber(grid)


def _renumber(grid: GridText) -> None:
    number = 0
    for row in grid.rows:
        if row.number is not None:
            number += 1
            row.number = number


def _next(grid: GridText) -> int:
    return max((r.index for r in grid.rows), default=-1) + 1


# ---------------------------------------------------------------- stored lines → grid

def stored_text(f: Field, lines: Any, zone: ZoneInfo) -> GridText:
    """The stored lines as a grid shows them, then the empty rows."""
    part, grid = part_of(f), GridText()
    for number, line in enumerate(lines or (), start=1):
        cells = {c.name: as_text(c, line.get(c.name), zone) for c in _inputs(part)}
        grid.rows.append(RowText(number - 1, str(line.get("id") or ""), cells,
                                 number=number))
    start = len(grid.rows)
    grid.rows.extend([RowText(start + i) for i in range(EMPTY_ROWS)])
    return grid


def _grid_widget(self: FormModel, widget: Widget, raw: Mapping[str, Any], refs: Refs) -> None:
    """CHOICES hook for `lines` (a FormModel method by shape): the grid of `widget`'s
    field, from what was typed or from the stored lines."""
    model = self
    f = widget.field
    typed = raw.get(f.name)
    zone = ZoneInfo(registry().timezone)
    if not isinstance(typed, GridText):
        typed = stored_text(f, model.base.get(f.name), zone)
    widget.grid = build(model, f, typed, getattr(model, "errors", {}))


def _row_errors(name: str, errors: Mapping[str, list[str]], number: int | None
                ) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if number is None:
        return found
    for where, messages in errors.items():
        m = NAMED.match(where)
        if m and m["field"] == name and int(m["number"]) == number:
            found.setdefault(m["cell"] or "", []).extend(messages)
    return found


def build(model: FormModel, f: Field, typed: GridText,
          errors: Mapping[str, list[str]]) -> Grid:
    part = part_of(f)
    sub = FormModel(part, None, model.conditions, model.lookup)
    stored = stored_lines(model.base.get(f.name))
    values = [{**sub.base, **computed(part, row.cells, stored.get(row.id))}
              for row in typed.rows]
    refs = references(part, values)
    rows = []
    for row, state in zip(typed.rows, values, strict=True):
        mine = _row_errors(f.name, errors, row.number)
        start = prefix(f.name, row.index)
        cells = [_cell(sub, c, row, state, mine, refs, start) for c in columns(part)]
        other = [m for name, ms in mine.items() if name not in part.fields for m in ms]
        rows.append(Row(row.index, row.id, row.number, cells, row.remove, other))
    saved = [state for row, state in zip(typed.rows, values, strict=True)
             if row.number is not None]
    return Grid(f, part, columns(part), rows, _next(typed), list(errors.get(f.name, [])),
                totals(part, saved))


def _cell(sub: FormModel, c: Field, row: RowText, state: Mapping[str, Any],
          errors: Mapping[str, list[str]], refs: Any, start: str) -> Cell:
    raw = {**{f.name: [] if f.type in MANY else "" for f in columns(sub.entity)},
           **row.cells}
    widget = sub._widget(c, raw, state, errors, refs)
    if widget is None:           # a read-only cell of a new line
        widget = Widget(c, text(c.label), "", "", list(errors.get(c.name, [])), visible=True,
                        required=False, editable=False, live=False,
                        display=show(c, state.get(c.name), refs))
    values = {f.name: getattr(widget, f.name) for f in dataclasses.fields(Widget)}
    values["visible"] = True
    return Cell(**values, prefix=start)


def install() -> None:
    """Give `lines` fields their grid on every form."""
    CHOICES["lines"] = _grid_widget

