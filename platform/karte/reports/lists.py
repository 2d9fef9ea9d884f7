"""List widgets: the first `limit` records meeting the widget's `where` and range, in its
sort (the list page's order, so "See all" opens on the same rows), and how many there are,
counted up to CAP (then "1000+", as related lists say it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from karte.meta.conditions import Condition
from karte.meta.dashboards import Widget
from karte.reports.conditions import every, within
from karte.reports.frame import Frame
from karte.reports.periods import period
from karte.store.field_rights import hidden
from karte.store.records.query import order_by

CAP = 1000


def counted(frame: Frame, widget: Widget, today: dt.date) -> Condition | None:
    ranged = None if widget.range is None else within(
        frame.entity, widget.date or "created_at", period(widget.range, today),
        frame.store.pack.timezone)
    return every(widget.where, ranged)


def sort_of(frame: Frame, widget: Widget) -> str:
    return widget.sort or frame.entity.list.sort


def columns(frame: Frame, widget: Widget) -> list[str]:
    """The columns shown: the widget's (default the list's) the actor may see and the
    table holds, with the id and the title the row links by."""
    gone = hidden(frame.store, frame.entity, frame.actor)
    wanted = ["id", frame.entity.title_field, *(widget.columns or frame.entity.list.columns)]
    return [name for name in dict.fromkeys(wanted)
            if name in frame.table.c and name not in gone]


def statement(frame: Frame, widget: Widget, today: dt.date) -> sa.Select[Any]:
    """The first rows in the list page's own order, and how many match, counted no
    further than CAP + 1 (a scalar subquery: the count stops early on a big table)."""
    table, rows = frame.table, frame.rows(counted(frame, widget, today))
    chosen = [table.c[name] for name in columns(frame, widget)]
    matching = sa.select(table.c.id).where(*rows).limit(CAP + 1).subquery()
    total = sa.select(sa.func.count()).select_from(matching).scalar_subquery()
    order = order_by(frame.store, frame.entity, sort_of(frame, widget), frame.actor)
    return (sa.select(*chosen, total.label("_total")).where(*rows)
            .order_by(*order).limit(widget.limit))


def result(frame: Frame, widget: Widget, rows: list[Any]
           ) -> tuple[tuple[dict[str, Any], ...], int, bool]:
    """The rows, the total (at most CAP) and whether there are more than CAP."""
    names = columns(frame, widget)
    found = int(rows[0]._total) if rows else 0
    return (tuple({name: row._mapping[name] for name in names} for row in rows),
            min(found, CAP), found > CAP)
