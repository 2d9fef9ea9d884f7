"""A list's grouped summary: `group=<field>` (a second `group` for subtotals; a date field
as `close_on:month`, a path as `customer.segment`) and `agg=sum:amount` (sum, avg, min,
max; several allowed) over the list's current filter, search and the viewer's scope.

The parameters are checked here against the Registry and the viewer's field rights (a
hidden field can be neither grouped nor summed) and refused in the UI language, naming
what may be typed instead; `karte.reports.summary` runs the one grouped statement. Each
group row links to the list filtered to exactly that group (the same list parameters plus
a filter per level: a date bucket as the instants or days it spans).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from karte.meta import conditions
from karte.meta.dashboards import BUCKETS, GROUPABLE, GroupBy, Measure
from karte.meta.model import Entity, Field
from karte.problems import Problem
from karte.reports.periods import instant
from karte.reports.summary import SUMMARY_AGGS, Group, Line, Summary
from karte.store.errors import InvalidQuery
from karte.web import figures
from karte.web.i18n import here

MAX_LEVELS = 2
NUMBERS = ("integer", "decimal", "money", "percent")
DATES = ("date", "datetime")
SYSTEM_DATES = ("created_at", "updated_at")


def _values(args: MultiDict, key: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for value in args.getlist(key)
                               for part in value.split(",") if part.strip()))


def parse(entity: Entity, args: MultiDict, problems: list[Problem]
          ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The `group` and `agg` parameters as typed, each checked (problems appended)."""
    groups, aggs = _values(args, "group"), _values(args, "agg")
    if len(groups) > MAX_LEVELS:
        problems.append(Problem("group", _("group: at most %(n)s levels; drop “%(name)s”.",
                                           n=MAX_LEVELS, name=groups[-1]), "group"))
        groups = groups[:MAX_LEVELS]
    for text in groups:
        _group(entity, text, problems)
    for text in aggs:
        _measure(entity, text, problems)
    return groups, aggs


def resolve(entity: Entity, groups: Iterable[str],
            aggs: Iterable[str]) -> tuple[list[GroupBy], list[Measure]]:
    """The checked parameters as the summary's groups and measures."""
    problems: list[Problem] = []
    found = [_group(entity, text, problems) for text in groups]
    measures = [_measure(entity, text, problems) for text in aggs]
    if problems:
        raise InvalidQuery(problems)
    return [g for g in found if g is not None], [m for m in measures if m is not None]


def _visible(entity: Entity) -> set[str]:
    from karte.web.field_access import seen

    return {*seen(entity, entity.fields), *SYSTEM_DATES}


def _group(entity: Entity, text: str, problems: list[Problem]) -> GroupBy | None:
    from karte.web import registry

    path, _colon, bucket = text.partition(":")
    head = path.split(".")[0]
    ref, found = (conditions.reference(path, entity, registry().entities, "", "")
                  if head in _visible(entity) else (None, [True]))
    if ref is not None and ref.link is not None and ref.target is not None:
        target = registry().entities[ref.target]
        ref = ref if ref.field.name in _visible(target) else None
    kind = ref.field.as_value().type if ref is not None else ""
    fits = (bucket in BUCKETS and kind in DATES and ref is not None and ref.link is None) \
        if bucket else (
        kind in GROUPABLE or (ref is not None and ref.field.workflow is not None))
    if ref is None or found or not fits:
        problems.append(Problem("group", _("group: “%(value)s” cannot group %(entity)s; "
                                           "group by one of: %(allowed)s.", value=text,
                                           entity=_label(entity.plural),
                                           allowed=", ".join(groupable(entity))), "group"))
        return None
    return GroupBy(path, ref, bucket or None)


def _measure(entity: Entity, text: str, problems: list[Problem]) -> Measure | None:
    agg, _colon, name = text.partition(":")
    field = entity.lookup(name) if name in _visible(entity) else None
    kind = field.as_value().type if field is not None else ""
    fits = kind in NUMBERS or (agg in ("min", "max") and kind in DATES)
    if agg not in SUMMARY_AGGS or field is None or not fits:
        problems.append(Problem("agg", _("agg: “%(value)s” is not a summary of %(entity)s; "
                                         "use one of: %(allowed)s.", value=text,
                                         entity=_label(entity.plural),
                                         allowed=", ".join(summable(entity)[:12])), "agg"))
        return None
    return Measure(agg, field)


def _label(value: Any) -> str:
    from karte.web import text

    return text(value)


def groupable(entity: Entity) -> list[str]:
    """What `group=` may name on this list: fields whose values make groups, and each
    date field with each bucket."""
    visible = _visible(entity)
    plain = [name for name, f in entity.fields.items() if name in visible
             and (f.as_value().type in GROUPABLE or f.workflow is not None)]
    dates = [name for name, f in entity.fields.items()
             if name in visible and f.as_value().type in DATES]
    return plain + [f"{name}:{b}" for name in [*dates, *SYSTEM_DATES] for b in BUCKETS]


def summable(entity: Entity) -> list[str]:
    """What `agg=` may name: sum/avg/min/max of number fields the viewer sees."""
    visible = _visible(entity)
    return [f"{agg}:{name}" for name, f in entity.fields.items()
            if name in visible and f.as_value().type in NUMBERS for agg in SUMMARY_AGGS]


@dataclass(frozen=True)
class Row:
    kind: str                         # "group" | "subtotal" | "total"
    labels: tuple[str, ...]           # one per level shown (a subtotal: its first level)
    count: str
    values: tuple[Markup | str, ...]
    href: str | None                  # the list of exactly these records


def rows(entity: Entity, summary: Summary, link: Any) -> list[Row]:
    """The summary's lines as table rows; `link(params)` is the list URL with `params`
    (filters) added to the list's own."""
    found = [_row(entity, summary, line, link) for line in summary.lines]
    return [*found, _row(entity, summary, summary.total, link)]


def _row(entity: Entity, summary: Summary, line: Line, link: Any) -> Row:
    groups = summary.groups[:len(line.groups)]
    labels = tuple(group_label(g, value) for g, value in zip(groups, line.groups, strict=True))
    params = [p for g, value in zip(groups, line.groups, strict=True)
              for p in _filter(entity, g, value)]
    linkable = line.kind != "total" and all(g.ref.link is None for g in groups)
    return Row(line.kind, labels, figures.number(line.count, "number", here().locale, ""),
               tuple(_value(m, v) for m, v in zip(summary.measures, line.values, strict=True)),
               link(params) if linkable else (link([]) if line.kind == "total" else None))


def group_label(group: GroupBy, value: Group) -> str:
    if value.start is not None:
        return figures.bucket(value.start, group.bucket or "day", here().locale)
    if value.key == "":
        return _("(none)")
    if group.ref.field.type == "boolean":
        return _("Yes") if value.key == "true" else _("No")
    return _label(value.label) if value.label is not None else value.key


def _value(measure: Measure, value: Any) -> Markup | str:
    from karte.web import registry
    from karte.web.display import show

    field = measure.field
    assert field is not None
    kind = field.as_value().type
    if value is None:
        return "—"
    if kind in (*DATES, "money", "percent"):     # as the list's own cells and totals
        return show(field.as_value(), value)
    return figures.number(value, "number", here().locale, registry().currency)


def _filter(entity: Entity, group: GroupBy, value: Group) -> list[tuple[str, str]]:
    """The list filter parameters selecting exactly one group's records."""
    name = group.ref.field.name
    if value.key == "":
        return [(f"f.{name}.empty", "1")]
    if value.start is None or value.end is None:
        return [(f"f.{name}", value.key)]
    return [(f"f.{name}.gte", _edge(group.ref.field, value.start)),
            (f"f.{name}.lt", _edge(group.ref.field, value.end))]


def _edge(field: Field, day: dt.date) -> str:
    """A bucket edge as the filter takes it: the day for a date field, the UTC instant of
    the pack's local midnight for a datetime (the buckets are the pack's days)."""
    from karte.web import registry

    if field.type == "date":
        return day.isoformat()
    return instant(day, registry().timezone).isoformat()


@dataclass(frozen=True)
class Grouped:
    """What the list page shows of a summary: the headings and the rows."""

    levels: tuple[str, ...]           # each group level's heading
    measures: tuple[str, ...]         # each measure's heading ("Sum of Amount")
    rows: tuple[Row, ...]
    truncated: bool


def grouped(entity: Entity, summary: Summary, link: Any) -> Grouped:
    levels = tuple(level_label(entity, g) for g in summary.groups)
    measures = tuple(measure_label(m) for m in summary.measures)
    return Grouped(levels, measures, tuple(rows(entity, summary, link)), summary.truncated)


def level_label(entity: Entity, group: GroupBy) -> str:
    field = group.ref.field
    name = _label(field.label)
    if group.ref.link is not None:
        name = f"{_label(entity.fields[group.ref.link].label)} › {name}"
    if group.bucket:
        return _("%(field)s by %(bucket)s", field=name, bucket=_bucket_word(group.bucket))
    return name


def _bucket_word(bucket: str) -> str:
    return {"day": _("day"), "week": _("week"), "month": _("month"),
            "quarter": _("quarter"), "year": _("year")}[bucket]


def measure_label(measure: Measure) -> str:
    assert measure.field is not None
    name = _label(measure.field.label)
    return {"sum": _("Sum of %(field)s", field=name), "avg": _("Average %(field)s", field=name),
            "min": _("Lowest %(field)s", field=name),
            "max": _("Highest %(field)s", field=name)}[measure.agg]


def choices(entity: Entity, query: Any) -> dict[str, Any]:
    """The list form's "Group and summarize" controls: (value, label, chosen) options."""
    groups = [(name, _choice_label(entity, name)) for name in groupable(entity)]
    aggs = [(name, _agg_label(entity, name)) for name in summable(entity)]
    chosen = (*query.group, "", "")
    return {"levels": [[(v, lab, v == chosen[i]) for v, lab in groups] for i in range(2)],
            "aggs": [(v, lab, v in query.aggs) for v, lab in aggs],
            "open": bool(query.group)}


def _choice_label(entity: Entity, name: str) -> str:
    path, _colon, bucket = name.partition(":")
    field = entity.lookup(path)
    label = _label(field.label) if field is not None else path
    return _("%(field)s by %(bucket)s", field=label, bucket=_bucket_word(bucket)) \
        if bucket else label


def _agg_label(entity: Entity, name: str) -> str:
    agg, _colon, field = name.partition(":")
    return measure_label(Measure(agg, entity.lookup(field)))
