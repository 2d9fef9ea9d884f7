"""List widgets: the first `limit` records meeting the widget's `where` and range, in its
sort, and how many there are in all (a window count in the same statement)."""

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
    table = frame.table
    sort = sort_of(frame, widget)
    column = table.c[sort.lstrip("-")]
    order = column.desc() if sort.startswith("-") else column.asc()
    chosen = [table.c[name] for name in columns(frame, widget)]
    return (sa.select(*chosen, sa.func.count().over().label("_total"))
            .where(*frame.rows(counted(frame, widget, today)))
            .order_by(sa.nulls_last(order), table.c.id).limit(widget.limit))


def result(frame: Frame, widget: Widget, rows: list[Any]) -> tuple[tuple[dict[str, Any], ...],
                                                                     int]:
    names = columns(frame, widget)
    total = int(rows[0]._total) if rows else 0
    return tuple({name: row._mapping[name] for name in names} for row in rows), total
