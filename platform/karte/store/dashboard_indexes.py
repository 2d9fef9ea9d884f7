"""Indexes that follow the dashboards (DESIGN rule 10): a widget that counts the records of
a period reads a range of its date field, and one that also keeps to some stages (won
deals this month) a range of (stage, date). Measured on the standard `sales` dashboard at
1M records: "won this month" read 40,000 rows of the close-date index (every open deal
expected to close this month or last) for 1,500 won ones, 128 ms; from (stage, close_on),
1.4 ms.
A funnel's index ends with the workflow's reached-stages column (store/stage_reached.py)
and `deleted_at`: its statement then reads the index alone, not a table row per record of
the period.

An index is made only when no index of the table already starts with the same columns.
Each is partial (live rows), as every widget's statement says `deleted_at IS NULL`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import sqlalchemy as sa

from karte.meta.conditions import AllOf, Compare, Condition
from karte.meta.dashboards import Widget
from karte.meta.model import Pack
from karte.store import stage_reached

LEADING_OPS = frozenset({"=", "in"})


def _leading(entity: str, where: Condition | None) -> str | None:
    """An option field (a stage) the condition keeps to a few values of, if any."""
    items = where.items if isinstance(where, AllOf) else (where,) if where else ()
    return next((c.ref.field.name for c in items
                 if isinstance(c, Compare) and c.op in LEADING_OPS and c.ref.link is None
                 and c.ref.field.type == "enum" and c.ref.entity == entity), None)


def _dates(widget: Widget) -> Iterator[str]:
    group = widget.group_by
    bucketed = group is not None and group.bucket is not None
    for line in widget.series or (None,):
        own = line.date if line is not None else None
        yield own or (group.path if bucketed and group else None) or widget.date or "created_at"


def _entity(pack: Pack, widget: Widget) -> str:
    if widget.kind == "funnel" and widget.workflow in pack.workflows:
        return pack.workflows[widget.workflow or ""].entity
    return widget.entity


def wanted(pack: Pack) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(entity, columns) of every index the pack's dashboards read by."""
    for dashboard in pack.dashboards.values():
        for widget in dashboard.widgets:
            if widget.range is None:
                continue
            entity = _entity(pack, widget)
            parts = [m for m in (widget.measure, widget.numerator, widget.denominator) if m]
            lead = _leading(entity, widget.where)
            if lead is None and parts:
                leads = {_leading(entity, m.where) for m in parts}
                lead = leads.pop() if len(leads) == 1 else None
            read = _read(pack, widget)
            for date in _dates(widget):
                yield entity, ((lead, date) if lead else (date,)) + read


def _read(pack: Pack, widget: Widget) -> tuple[str, ...]:
    """The columns a widget reads besides its range: a funnel's reached stages, and
    `deleted_at` (SQLite reads a partial index alone only when it holds every column the
    statement names, its WHERE's included)."""
    if widget.kind == "funnel" and widget.workflow in pack.workflows:
        field = pack.workflows[widget.workflow or ""].field
        return stage_reached.column_name(field), "deleted_at"
    return ()


def add(metadata: sa.MetaData, pack: Pack, name: Callable[[str, str, str], str]) -> None:
    """Add the dashboards' indexes to the tables of `metadata` (`name`: tables.index_name)."""
    for entity, columns in dict.fromkeys(wanted(pack)):
        table = metadata.tables.get(pack.entities[entity].table_name) \
            if entity in pack.entities else None
        if table is None or any(column not in table.c for column in columns):
            continue
        if any(tuple(c.name for c in index.columns)[:len(columns)] == columns
               for index in table.indexes):
            continue
        live = table.c.deleted_at.is_(None)
        sa.Index(name("rx", table.name, "__".join(columns)),
                 *(table.c[column] for column in columns),
                 sqlite_where=live, postgresql_where=live)
