"""The body of a list's table, one `<tr>` of Markup per record.

A list page shows 50 rows of up to a dozen columns. Written as a Jinja loop, every cell
costs a template call into `show_field`, which looks its field up again, plus the
template's own escaping and output of each piece: most of a list page's CPU. Here each
column's way to show a value is chosen once per page (`display.cell`), and a row is one
string join. The HTML is the one `_partials/list_rows.html` wrote cell by cell (values
escaped by `display`, the same per-type functions cards and boards use).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from markupsafe import Markup, escape

from karte.meta.model import Entity, Field
from karte.web import text
from karte.web.display import Refs, card_url, cell, files_of
from karte.web.i18n import gettext
from karte.web.todo import tick
from karte.web.work_queue import done_field

Row = dict[str, Any]


class Shown(Protocol):
    """What the table needs of a list column (lists.Column)."""

    @property
    def name(self) -> str: ...
    @property
    def field(self) -> Field: ...
    @property
    def numeric(self) -> bool: ...
    @property
    def title(self) -> bool: ...


def rows(entity: Entity, columns: Sequence[Shown], records: Sequence[Row], refs: Refs,
         *, pick: bool, ticked: bool,
         subtitles: Mapping[int, list[tuple[str, str]]] | None = None) -> list[Markup]:
    """`<tr>…</tr>` of each record: a tick box when the user may delete (`pick`, ticked
    when the whole page is selected), then a cell per column; the title cell has the
    record's subtitle (`karte.web.subtitles.parts`) as a muted second line, each field
    in a span: those also shown as columns are marked `col` (hidden on wide screens, where
    their column is in view; mobile.css)."""
    below = _subtitle(subtitles or {}, {c.name for c in columns})
    parts = [_column(entity, c, refs, below) for c in columns]
    tick = _tick(entity, ticked) if pick else None
    made = []
    for row in records:
        cells = [part(row) for part in parts]
        if tick is not None:
            cells.insert(0, tick(row))
        made.append(Markup("<tr>" + "".join(cells) + "</tr>"))
    return made


def _tick(entity: Entity, ticked: bool) -> Callable[[Row], str]:
    label = Markup(gettext("Select %(title)s"))
    checked = " checked" if ticked else ""
    title = entity.title_field

    def tick(row: Row) -> str:
        id = row["id"]
        named = label % {"title": row.get(title) or f"#{id}"}
        return (f'<td class="pick"><input type="checkbox" name="ids" value="{escape(id)}" '
                f'aria-label="{named}"{checked}></td>')
    return tick


def _subtitle(subtitles: Mapping[int, list[tuple[str, str]]],
              columns: set[str]) -> Callable[[int], str]:
    def line(id: int) -> str:
        shown = subtitles.get(id)
        if not shown:
            return ""
        spans = "".join(f'<span class="sub-part{" col" if name in columns else ""}">'
                        f'{escape(text)}</span>' for name, text in shown)
        return f'<span class="subtitle">{spans}</span>'
    return line


def _column(entity: Entity, column: Shown, refs: Refs,
            subtitle: Callable[[int], str]) -> Callable[[Row], str]:
    # data-label: the column's name on a phone, where rows become stacked cards (mobile.css)
    label = escape(text(column.field.label))
    kind = "num" if column.numeric else "title" if column.title else ""
    opening = f'<td class="{kind}" data-label="{label}">' if kind else f'<td data-label="{label}">'
    name = column.name
    if name == done_field(entity):    # a to-do's done: ticked in place (web/todo.py)
        return lambda row: (f'<td class="todo-cell" data-label="{label}">'
                            f'{tick(entity, row, inside_form=True)}</td>')
    if column.field.type == "file":   # thumbnails (or names) linking to each download
        f, card = column.field, entity.name
        return lambda row: (f"{opening}{files_of(card, row['id'], f, row.get(name), 64, False)}"
                            "</td>")
    if not column.title:
        show = cell(entity, name, refs)
        return lambda row: f"{opening}{show(row.get(name))}</td>"
    card = entity.name
    # a link title (a line's product) reads as the linked record's title
    titles = refs.titles.get(column.field.to or "", {}) if column.field.type == "link" \
        else None

    def title(row: Row) -> str:
        value = row.get(name)
        named = value if titles is None else titles.get(value) if isinstance(value, int) \
            else None
        id = row["id"]
        shown = named if named not in (None, "") else f"#{id}"
        return (f'{opening}<a href="{escape(card_url(card, id))}">{escape(shown)}</a>'
                f'{subtitle(id)}</td>')
    return title
