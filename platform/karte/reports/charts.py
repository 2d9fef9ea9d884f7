"""Chart widgets: one UNION ALL with a grouped SELECT per series.

A group is a field's value (an option, a stage, yes/no, a user, a linked record), a
one-hop path's value (`customer.segment`, through a LEFT JOIN that reads what the
condition compiler's subquery reads), or a date bucket. Date buckets are a CASE over the
bucket boundaries, worked out in Python in the pack's timezone (`periods`), so both
databases are asked the same question; every bucket is shown, empty ones as zero. Labels
come with the groups in the same statement: a linked record's title and a user's name by
a LEFT JOIN, options and stages from the Registry.

Non-date groups show the largest `limit` (by the first series); options, stages and
yes/no are shown in their declared order, every one of them while they fit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from karte.meta.conditions import AllOf, Compare, Condition
from karte.meta.conditions.model import TEXT_TYPES
from karte.meta.dashboards import GroupBy, Measure, Widget
from karte.meta.model import Text
from karte.reports import aggregates, counters
from karte.reports.conditions import (
    before,
    every,
    group_is,
    key_of,
    measured_where,
    within,
)
from karte.reports.frame import Frame, places
from karte.reports.periods import Period, bucket_start, buckets, period
from karte.reports.results import Point, SeriesResult
from karte.store.field_rights import hidden
from karte.store.permissions import rights

NO_LABEL = sa.cast(sa.null(), sa.Text)


@dataclass(frozen=True)
class Line:
    """One series of a chart: its label, measure, and the date field it reads."""

    label: Text | None
    measure: Measure
    date: str | None


def lines(widget: Widget) -> list[Line]:
    if widget.series:
        return [Line(s.label, s.measure, s.date) for s in widget.series]
    assert widget.measure is not None
    return [Line(None, widget.measure, None)]


def dated(widget: Widget, line: Line) -> str:
    """The date field a series' range (and date buckets) read: the series' own, else a
    date group's field, else the widget's `date` (default created_at)."""
    group = widget.group_by
    if line.date is not None:
        return line.date
    if group is not None and group.bucket is not None:
        return group.path
    return widget.date or "created_at"


def span(widget: Widget, today: dt.date) -> Period | None:
    return period(widget.range, today) if widget.range is not None else None


def counted(frame: Frame, widget: Widget, line: Line, today: dt.date) -> Condition | None:
    """What a record meets to count in the series at all (any group)."""
    current = span(widget, today)
    ranged = None if current is None else within(frame.entity, dated(widget, line), current,
                                                 frame.store.pack.timezone)
    return every(widget.where, ranged, measured_where(frame.entity, line.measure))


def bucketed(widget: Widget, today: dt.date) -> list[Period]:
    current = span(widget, today)
    assert widget.group_by is not None and widget.group_by.bucket and current is not None
    return buckets(current, widget.group_by.bucket)


def at_point(frame: Frame, widget: Widget, line: Line, key: str,
             today: dt.date) -> Condition | None:
    """The records one point counts; ValueError when `key` names no group."""
    group = widget.group_by
    assert group is not None
    if group.bucket is None:
        return every(counted(frame, widget, line, today), group_is(group, key))
    day = dt.date.fromisoformat(key)
    chosen = next((b for b in bucketed(widget, today)
                   if bucket_start(b.start, group.bucket) == day), None)
    if chosen is None:
        raise ValueError(key)
    return every(counted(frame, widget, line, today),
                 within(frame.entity, dated(widget, line), chosen, frame.store.pack.timezone))


def _key(frame: Frame, widget: Widget, line: Line, source: Any,
         today: dt.date) -> tuple[Any, Any, Any]:
    """(FROM, key expression, label expression or NULL) of a series' groups."""
    group = widget.group_by
    assert group is not None
    if group.bucket is not None:
        edges = bucketed(widget, today)
        name = dated(widget, line)
        return source, bucket_index(frame, name, edges), NO_LABEL
    return grouped(frame, group, source)


def bucket_index(frame: Frame, name: str, edges: list[Period]) -> Any:
    """The index among `edges` of the bucket holding a row's date `name` (the row lies
    within them): the list summaries bucket their dates the same way."""
    return _bucket(frame, name, edges, 0, len(edges))


def _bucket(frame: Frame, name: str, edges: list[Period], low: int, high: int) -> Any:
    """The index of the bucket among edges[low:high] holding a row (which lies within
    them: the WHERE says so): a CASE halving the buckets at each level, so a row meets
    log2(buckets) comparisons (about 9 for 400 day buckets), not one per bucket."""
    if high - low == 1:
        return sa.literal(low)
    middle = (low + high) // 2
    earlier = before(frame.entity, name, edges[middle].start, frame.store.pack.timezone)
    return sa.case((frame.clause(earlier), _bucket(frame, name, edges, low, middle)),
                   else_=_bucket(frame, name, edges, middle, high))


def grouped(frame: Frame, group: GroupBy, source: Any) -> tuple[Any, Any, Any]:
    """(FROM, key expression, label expression or NULL) of a group that is a field's or
    a one-hop path's value (not a date bucket): the list summaries group the same way."""
    table = frame.table
    ref = group.ref
    column: Any
    if ref.link is not None and ref.target is not None:
        target = frame.store.table(ref.target).alias()
        source = source.outerjoin(target, target.c.id == table.c[ref.link])
        column = target.c[ref.field.name]
    else:
        column = table.c[ref.field.name]
    if ref.field.type in TEXT_TYPES:
        column = sa.func.nullif(column, "")
    return labelled(frame, source, column, ref.field.type, ref.field.to)


def labelled(frame: Frame, source: Any, column: Any, kind: str,
              to: str | None) -> tuple[Any, Any, Any]:
    if kind == "user":
        users = frame.store.users.alias()
        source = source.outerjoin(users, users.c.id == column)
        return source, column, sa.func.coalesce(sa.func.nullif(users.c.name, ""),
                                                users.c.email)
    if kind == "link" and to is not None and _titled(frame, to):
        entity = frame.store.pack.entities[to]
        target = frame.store.table(entity).alias()
        source = source.outerjoin(target, target.c.id == column)
        return source, column, sa.cast(target.c[entity.title_field], sa.Text)
    return source, column, NO_LABEL


def _titled(frame: Frame, name: str) -> bool:
    """Whether the bars of a link say the linked records' titles: only to a viewer who
    may read that entity and see its title field (else they say the id)."""
    entity = frame.store.pack.entities[name]
    return (entity.title_field in frame.store.table(entity).c
            and bool(rights(frame.store, entity, frame.actor).read)
            and entity.title_field not in hidden(frame.store, entity, frame.actor))


def _branch(frame: Frame, widget: Widget, index: int, line: Line,
            today: dt.date) -> sa.Select[Any]:
    source, values = frame.measured([line.measure])
    source, key, label = _key(frame, widget, line, source, today)
    rows = frame.rows(counted(frame, widget, line, today))
    value = values.get(0)
    tag = sa.literal(index).label("s")
    if line.measure.agg != "median":
        first, second = aggregates.pair(line.measure.agg, value, places(line.measure), None)
        return (sa.select(tag, key.label("k"), sa.func.max(label).label("l"),
                          first.label("a"), second.label("b"))
                .select_from(source).where(*rows).group_by(key))
    assert value is not None
    ranked = aggregates.ranked(value, sa.select(value).select_from(source).where(*rows),
                               [key, label])
    return (sa.select(tag, ranked.c.p0.label("k"), sa.func.max(ranked.c.p1).label("l"),
                      sa.func.min(ranked.c.v).label("a"), sa.func.max(ranked.c.v).label("b"))
            .where(aggregates.middle(ranked)).group_by(ranked.c.p0))


def statement(frame: Frame, widget: Widget, today: dt.date) -> sa.Select[Any] | Any:
    kept = counters.statement(frame, widget)
    if kept is not None:
        return kept
    series = lines(widget)
    branches = [_branch(frame, widget, i, line, today) for i, line in enumerate(series)]
    group = widget.group_by
    assert group is not None
    if len(branches) == 1 and group.bucket is None:
        only = branches[0].subquery()
        return (sa.select(only).order_by(sa.nulls_last(only.c.a.desc()), only.c.k)
                .limit(widget.limit + 1))
    return branches[0] if len(branches) == 1 else sa.union_all(*branches)


def results(frame: Frame, widget: Widget, rows: list[Any],
            today: dt.date) -> tuple[tuple[SeriesResult, ...], bool]:
    """Each series' points from the statement's rows, and whether groups were left out."""
    series = lines(widget)
    found: dict[int, dict[str, tuple[Any, Any]]] = {i: {} for i in range(len(series))}
    labels: dict[str, Any] = {}
    order: list[str] = []
    for row in rows:
        key = _group_key(widget, row.k, today)
        found[row.s][key] = (row.a, row.b)
        labels.setdefault(key, row.l)
        if row.s == 0 and key not in order:
            order.append(key)
    keys, truncated = _keys(widget, order, found, labels, today)
    return tuple(SeriesResult(line.label, tuple(
        _point(widget, line, key, found[i].get(key), labels.get(key), today)
        for key in keys)) for i, line in enumerate(series)), truncated


def _group_key(widget: Widget, raw: Any, today: dt.date) -> str:
    group = widget.group_by
    assert group is not None
    if group.bucket is None:
        return key_of(raw)
    edges = bucketed(widget, today)
    return bucket_start(edges[int(raw)].start, group.bucket).isoformat()


def _keys(widget: Widget, order: list[str], found: dict[int, dict[str, Any]],
          labels: dict[str, Any], today: dt.date) -> tuple[list[str], bool]:
    group = widget.group_by
    assert group is not None
    if group.bucket is not None:
        return [bucket_start(b.start, group.bucket).isoformat()
                for b in bucketed(widget, today)], False
    seen = list(dict.fromkeys([*order, *(k for i in found for k in found[i])]))
    ranked = sorted(sorted(seen), key=lambda k: _rank(widget, found[0].get(k)), reverse=True)
    shown = ranked[:widget.limit]
    truncated = len(seen) > widget.limit
    declared = list(_declared(widget))
    if not declared:
        return shown, truncated
    if len(set(declared) | set(seen)) <= widget.limit:
        shown = list(dict.fromkeys([*declared, *seen]))
    rank = {key: i for i, key in enumerate(dict.fromkeys([*declared, *seen]))}
    return sorted(shown, key=lambda k: rank.get(k, len(rank))), truncated


def _rank(widget: Widget, cell: tuple[Any, Any] | None) -> Any:
    if cell is None or cell[0] is None:
        return (0, 0)
    return (1, float(cell[0]))


def _declared(widget: Widget) -> Iterator[str]:
    """The values shown even when no record has them: yes/no, the options (stages), less
    those the widget's `where` rules out (an open pipeline shows no won column)."""
    group = widget.group_by
    assert group is not None
    field = group.ref.field
    keys = (("true", "false") if field.type == "boolean"
            else field.option_keys if field.type == "enum" else ())
    ruled_out = _ruled_out(widget.where, group.ref.path)
    yield from (key for key in keys if not ruled_out(key))


def _ruled_out(where: Condition | None, path: str) -> Callable[[str], bool]:
    """Whether `where` (a comparison, or all of some) rules a value of `path` out."""
    items = where.items if isinstance(where, AllOf) else (where,) if where else ()
    tests = [_OUT[c.op](c.value) for c in items
             if isinstance(c, Compare) and c.ref.path == path and c.op in _OUT]
    return lambda key: any(test(key) for test in tests)


def _keys_of(value: Any) -> set[str]:
    return {key_of(v) for v in (value if isinstance(value, tuple) else (value,))}


_OUT: dict[str, Callable[[Any], Callable[[str], bool]]] = {
    "=": lambda value: lambda key: key not in _keys_of(value),
    "in": lambda value: lambda key: key not in _keys_of(value),
    "!=": lambda value: lambda key: key in _keys_of(value),
    "not_in": lambda value: lambda key: key in _keys_of(value),
}


def _point(widget: Widget, line: Line, key: str, cell: tuple[Any, Any] | None,
           label: Any, today: dt.date) -> Point:
    group = widget.group_by
    assert group is not None
    first, second = cell if cell is not None else (None, None)
    value = aggregates.finish(line.measure.agg, first, second, places(line.measure))
    if group.bucket is not None:
        return Point(key, None, value, dt.date.fromisoformat(key))
    field = group.ref.field
    if key == "" or field.type == "boolean":
        return Point(key, None, value)
    option = field.option(key) if field.type == "enum" else None
    if option is not None:
        return Point(key, option.label, value)
    return Point(key, label if label is not None else key, value)
