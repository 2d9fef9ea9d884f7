"""A chart of records per stage read from the board counters (`karte.store.stage_totals`):
a few rows, exact, whatever the table's size — the open pipeline by stage at 1M records
grouped 77,000 live deals (70 ms) where the counters answer in about 1 ms.

The counters hold, per stage, how many live records there are and the exact sum of each
money field. They answer a chart that groups by a stage field with `count` or the `sum` of
a money field, when nothing else narrows the records: no range, no measure `where`, a
`where` on that stage field alone (judged per stage key in Python, which gives the same
answer as SQL), and a read scope of "all". Records without a stage (normally none) are
not counted there; they come from the stage's index in the same statement. Anything else
returns None and the chart groups the records.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from karte.meta.conditions import compares, evaluate
from karte.meta.conditions.model import AllOf, AnyOf, Compare, Condition, Not
from karte.meta.dashboards import Widget
from karte.reports import aggregates
from karte.reports.frame import Frame
from karte.store import stage_totals
from karte.store.permissions import scope

NO_LABEL = sa.cast(sa.null(), sa.Text)


def _plain(cond: Condition | None) -> bool:
    """Only comparisons, all, any and not: nodes Python judges from the record alone."""
    if cond is None or isinstance(cond, Compare):
        return True
    if isinstance(cond, Not):
        return _plain(cond.item)
    return isinstance(cond, AllOf | AnyOf) and all(_plain(i) for i in cond.items)


def _money(frame: Frame, widget: Widget, field: str) -> tuple[bool, str | None]:
    """Whether the counters can answer, and the money field they sum (None: count)."""
    group, measure = widget.group_by, widget.measure
    if (widget.kind != "chart" or widget.series or widget.range is not None or group is None
            or measure is None or group.bucket is not None or group.ref.link is not None
            or measure.where is not None or measure.agg not in ("count", "sum")
            or (measure.agg == "count" and measure.field is not None)):
        return False, None
    plan = dict(stage_totals.tracked(frame.store.pack, frame.entity.name))
    money = measure.field.name if measure.agg == "sum" and measure.field else None
    if field not in plan or (measure.agg == "sum" and money not in plan[field]):
        return False, None
    where = widget.where
    if where is not None and (not _plain(where)
                              or any(c.ref.path != field for c in compares(where))):
        return False, None
    whole = scope(frame.store, frame.entity, frame.actor, "read")
    return isinstance(whole, sa.sql.elements.True_), money


def statement(frame: Frame, widget: Widget) -> Any:
    """The chart's rows (s, k, l, a, b) from the counters, or None when they cannot tell."""
    assert widget.group_by is not None
    field = widget.group_by.ref.field
    fits, money = _money(frame, widget, field.name)
    if not fits:
        return None
    def meets(value: Any) -> bool:
        return widget.where is None or evaluate(widget.where, {field.name: value},
                                                frame.context, lambda e, i: None)
    t, table = stage_totals.table(), frame.table
    kept = (sa.select(sa.literal(0).label("s"), t.c.stage.label("k"), NO_LABEL.label("l"),
                      (t.c.cents if money else t.c["count"]).label("a"),
                      aggregates.NULL.label("b"))
            .where(t.c.entity == frame.entity.name, t.c.field == field.name,
                   t.c.measure == (money or stage_totals.COUNT),
                   t.c.stage.in_([k for k in field.option_keys if meets(k)])))
    if not meets(None):
        return kept
    value = (aggregates.pair("sum", table.c[money], 2, None)[0] if money
             else sa.func.count())
    loose = (sa.select(sa.literal(0), sa.cast(sa.null(), sa.String), NO_LABEL, value,
                       aggregates.NULL)
             .where(table.c[field.name].is_(None), table.c.deleted_at.is_(None))
             .having(sa.func.count() > 0))
    return sa.union_all(kept, loose)
