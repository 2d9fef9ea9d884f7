"""Grouped summaries of a list: `group=<field>` (one or two levels) with `agg=sum:amount`.

A list's current filter, search and read scope, grouped by a field's values (options,
stages, yes/no, users, linked records, a one-hop path) or by a date field cut into local
calendar buckets, with the count and each asked aggregate per group, a subtotal per
first-level group when there are two levels, and a total row.

One grouped SELECT reads the groups; the subtotals and the total are added up in Python
from the groups' raw aggregate columns (`aggregates.pair`: exact sums in the field's
smallest unit, sums and counts for averages), so a total is exactly its groups' sum and
no second pass reads the table. Date buckets need their edges: a first statement reads the
earliest and latest date under the same filter, and the buckets between them are worked
out in the pack's timezone (`karte.reports.periods`), as dashboards do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from karte.meta.dashboards import GroupBy, Measure
from karte.meta.model import Entity, Text
from karte.problems import Problem
from karte.reports import aggregates
from karte.reports.charts import NO_LABEL, bucket_index, grouped
from karte.reports.conditions import key_of
from karte.reports.frame import Frame, places
from karte.reports.periods import Period, bucket_start, buckets
from karte.store.actor import Actor
from karte.store.errors import InvalidQuery
from karte.store.records.query import narrowing
from karte.store.records.store import Store

MAX_GROUPS = 500
MAX_BUCKETS = 400
SUMMARY_AGGS = ("sum", "avg", "min", "max")


@dataclass(frozen=True)
class Group:
    """One group's value at one level: `key` as a filter would name it ("" for none)."""

    key: str
    label: str | Text | None      # None: a date bucket (see `start`), yes/no, no value
    start: dt.date | None = None  # date buckets: the bucket's first day
    end: dt.date | None = None    # date buckets: the day after the bucket


@dataclass(frozen=True)
class Line:
    """A row of the summary: a group (one Group per level), a first-level subtotal (its
    one Group) or the total (no Group)."""

    groups: tuple[Group, ...]
    count: int
    values: tuple[Any, ...]       # one per measure, in order
    kind: str = "group"           # "group" | "subtotal" | "total"


@dataclass(frozen=True)
class Summary:
    groups: tuple[GroupBy, ...]
    measures: tuple[Measure, ...]
    lines: tuple[Line, ...]
    total: Line
    truncated: bool = False       # more than MAX_GROUPS groups: the first ones shown


@dataclass
class _Raw:
    """The aggregate columns of one row, before `aggregates.finish`."""

    count: int
    cells: list[tuple[Any, Any]]

    def add(self, other: _Raw, aggs: Sequence[str]) -> None:
        self.count += other.count
        self.cells = [_combine(agg, mine, theirs)
                      for agg, mine, theirs in zip(aggs, self.cells, other.cells, strict=True)]


def _combine(agg: str, mine: tuple[Any, Any], theirs: tuple[Any, Any]) -> tuple[Any, Any]:
    if agg in ("sum", "avg"):
        return _plus(mine[0], theirs[0]), _plus(mine[1], theirs[1])
    present = [value for value in (mine[0], theirs[0]) if value is not None]
    if not present:
        return None, None
    return (min(present) if agg == "min" else max(present)), None


def _plus(a: Any, b: Any) -> Any:
    if a is None:
        return b
    return a if b is None else a + b


def summarize(store: Store, entity: Entity, groups: Sequence[GroupBy],
              measures: Sequence[Measure], where: Any = None, search: str | None = None,
              actor: Actor | None = None) -> Summary:
    """The grouped summary of the records a list with this filter and search shows."""
    frame = Frame(store, entity, actor, store.context(actor))
    rows = [*frame.rows(None), *narrowing(store, entity, where, search, actor, ordered=False)]
    edges = [_edges(frame, group, rows) for group in groups]
    source, values = frame.measured(list(measures))
    keys, labels = [], []
    for group, bounds in zip(groups, edges, strict=True):
        source, key, label = _key(frame, group, bounds, source)
        keys.append(key)
        labels.append(label)
    cells = [aggregates.pair(m.agg, values.get(i), places(m), None)
             for i, m in enumerate(measures)]
    query = (sa.select(*(k.label(f"k{i}") for i, k in enumerate(keys)),
                       *(sa.func.max(lab).label(f"l{i}") for i, lab in enumerate(labels)),
                       sa.func.count().label("n"),
                       *(c for pair in cells for c in pair))
             .select_from(source).where(*rows).group_by(*keys).limit(MAX_GROUPS + 1))
    with store.engine.connect() as conn:
        found = list(conn.execute(query))
    return _summary(groups, measures, edges, found)


def _edges(frame: Frame, group: GroupBy, rows: list[Any]) -> list[Period] | None:
    """A date group's buckets from the earliest to the latest date the filter finds."""
    if group.bucket is None:
        return None
    column = frame.table.c[group.ref.field.name]
    query = sa.select(sa.func.min(column), sa.func.max(column)).where(*rows)
    with frame.store.engine.connect() as conn:
        low, high = conn.execute(query).one()
    if low is None:
        return []                       # every date is empty: one "(none)" group
    zone = frame.store.pack.timezone
    first, last = (_local_day(value, zone) for value in (low, high))
    found = buckets(Period(bucket_start(first, group.bucket), last + dt.timedelta(days=1)),
                    group.bucket)
    if len(found) > MAX_BUCKETS:
        raise InvalidQuery([Problem("group", f'grouping by "{group.path}:{group.bucket}" '
                                    f"would make {len(found)} rows; choose a longer bucket "
                                    "(week, month, quarter or year) or filter the dates",
                                    "too_many_groups")])
    return found


def _local_day(value: Any, zone: str) -> dt.date:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(ZoneInfo(zone)).date()
    if isinstance(value, str):                       # SQLite without a declared type
        return dt.date.fromisoformat(value[:10])
    return value


def _key(frame: Frame, group: GroupBy, edges: list[Period] | None,
         source: Any) -> tuple[Any, Any, Any]:
    """(FROM, key expression, label expression) of one level."""
    if edges is not None:
        column = frame.table.c[group.ref.field.name]
        key = sa.case((column.is_(None), sa.null()),       # no edges: every date empty
                      else_=bucket_index(frame, group.path, edges) if edges else 0)
        return source, key, NO_LABEL
    return grouped(frame, group, source)


def _summary(groups: Sequence[GroupBy], measures: Sequence[Measure],
             edges: list[list[Period] | None], found: list[Any]) -> Summary:
    aggs = [m.agg for m in measures]
    truncated = len(found) > MAX_GROUPS
    leaves = []
    for row in found[:MAX_GROUPS]:
        levels = tuple(_group(g, e, row[i], row[len(groups) + i])
                       for i, (g, e) in enumerate(zip(groups, edges, strict=True)))
        cells = list(row[2 * len(groups) + 1:])
        leaves.append((levels, _Raw(int(row.n), [(cells[2 * i], cells[2 * i + 1])
                                                 for i in range(len(aggs))])))
    leaves.sort(key=lambda leaf: tuple(_order(g, group)
                                       for g, group in zip(groups, leaf[0], strict=True)))
    lines = _with_subtotals(leaves, aggs, measures) if len(groups) > 1 else [
        _line(levels, raw, measures) for levels, raw in leaves]
    total = _Raw(0, [(None, None)] * len(aggs))
    for _levels, raw in leaves:
        total.add(raw, aggs)
    return Summary(tuple(groups), tuple(measures), tuple(lines),
                   _line((), total, measures, "total"), truncated)


def _with_subtotals(leaves: list[tuple[tuple[Group, ...], _Raw]], aggs: list[str],
                    measures: Sequence[Measure]) -> list[Line]:
    lines: list[Line] = []
    current: tuple[Group, _Raw] | None = None
    for levels, raw in leaves:
        if current is not None and current[0] != levels[0]:
            lines.append(_line((current[0],), current[1], measures, "subtotal"))
            current = None
        if current is None:
            current = (levels[0], _Raw(0, [(None, None)] * len(aggs)))
        current[1].add(raw, aggs)
        lines.append(_line(levels, raw, measures))
    if current is not None:
        lines.append(_line((current[0],), current[1], measures, "subtotal"))
    return lines


def _line(levels: tuple[Group, ...], raw: _Raw, measures: Sequence[Measure],
          kind: str = "group") -> Line:
    values = tuple(aggregates.finish(m.agg, first, second, places(m))
                   for m, (first, second) in zip(measures, raw.cells, strict=True))
    return Line(levels, raw.count, values, kind)


def _group(group: GroupBy, edges: list[Period] | None, key: Any, label: Any) -> Group:
    if edges is not None and key is not None:
        bucket = edges[int(key)]
        return Group(bucket_start(bucket.start, group.bucket or "day").isoformat(), None,
                     bucket.start, bucket.end)
    text = key_of(key)
    field = group.ref.field
    if text == "" or field.type == "boolean":
        return Group(text, None)
    option = field.option(text) if field.type == "enum" else None
    if option is not None:
        return Group(text, option.label)
    return Group(text, str(label) if label is not None else text)


def _order(group: GroupBy, value: Group) -> tuple[Any, ...]:
    """Dates in time, options and stages in their declared order, yes before no, others
    by label; the records with no value last."""
    if value.key == "":
        return (1, 0, "")
    field = group.ref.field
    if value.start is not None:
        return (0, 0, value.start.isoformat())
    if field.type == "enum":
        keys = list(field.option_keys)
        return (0, keys.index(value.key) if value.key in keys else len(keys), value.key)
    if field.type == "boolean":
        return (0, 0 if value.key == "true" else 1, "")
    return (0, 0, str(value.label).casefold())
