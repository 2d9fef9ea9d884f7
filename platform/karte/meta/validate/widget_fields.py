"""Meaning checks of what one dashboard widget reads: its entity, the fields it
aggregates, groups by, filters a range on, sorts by and shows, and the workflow its funnel
or duration follows (codes in `dashboards.DASHBOARD_CODES`).

A field must exist on the widget's entity (a field a client overlay removed is named as
such, since the base dashboard was written when it existed) and fit its use: sums of
numbers, ranges on dates, groups of a few known values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from karte.fields import TYPES
from karte.meta import conditions
from karte.meta.dashboards import BUCKETS, GROUPABLE
from karte.meta.model import Entity, Field
from karte.meta.validate.context import Ctx, entries
from karte.problems import Problem, a_an, at, did_you_mean, pointer

Parts = tuple[str | int, ...]
DATES = ("date", "datetime")
UNCOUNTED = ("links", "lines")
NUMERIC_AGGS = ("sum", "avg", "median")
DURATION_AGGS = ("avg", "median", "min", "max")
LIST_SORT = ("id", "created_at", "updated_at")


@dataclass
class Widget:
    """One widget as written, and how to point at it."""

    ctx: Ctx
    file: str
    index: int
    raw: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.raw["kind"])

    def at(self, parts: Parts, message: str, code: str) -> Problem:
        return at(self.file, pointer("widgets", self.index, *parts), message, code)


def check_widget_fields(widget: Widget) -> Iterator[Problem]:
    entity, found = _entity(widget)
    yield from found
    if entity is None:
        return
    raw = widget.raw
    if widget.kind in ("number", "chart"):
        yield from _measure(widget, entity, raw, ())
    for key in ("numerator", "denominator"):
        if isinstance(raw.get(key), dict):
            yield from _measure(widget, entity, raw[key], (key,))
    for number, item in entries(raw, "series"):
        yield from _measure(widget, entity, item, ("series", number))
        if "date" in item:
            yield from _date(widget, entity, item["date"], ("series", number, "date"))
    if "date" in raw:
        yield from _date(widget, entity, raw["date"], ("date",))
    if isinstance(raw.get("group_by"), str):
        yield from _group_by(widget, entity, raw["group_by"])
    if isinstance(raw.get("duration"), dict):
        yield from _duration(widget, entity, raw["duration"])
    yield from _list(widget, entity)


def _entity(widget: Widget) -> tuple[Entity | None, list[Problem]]:
    """The built entity the widget counts, or None (with the problem, if it is ours)."""
    ctx, raw = widget.ctx, widget.raw
    name = raw.get("entity")
    if widget.kind == "funnel":
        flow = raw.get("workflow")
        if flow is None:
            return None, []                 # DSH027 already
        if flow not in ctx.raw.workflows:
            return None, [widget.at(("workflow",), f'no workflow "{flow}"'
                                    f"{did_you_mean(str(flow), ctx.raw.workflows)}; a "
                                    "funnel's steps are a workflow's stages", "DSH036")]
        if flow not in ctx.pack.workflows:
            return None, []                 # its own file's problems say why
        owner = ctx.pack.workflows[flow].entity
        if name is not None and name != owner:
            return None, [widget.at(("entity",), f'workflow "{flow}" moves {owner} records, '
                                    f'not {name}; leave "entity" out of a funnel', "DSH025")]
        name = owner
    elif name is not None and name not in ctx.entity_names:
        return None, [widget.at(("entity",), ctx.unknown_entity(name), "DSH025")]
    return ctx.pack.entities.get(name) if isinstance(name, str) else None, []


def _field(widget: Widget, entity: Entity, name: str, parts: Parts,
           allowed: tuple[str, ...] = ()) -> tuple[Field | None, list[Problem]]:
    """The field `name` of the widget's entity (system columns too), or the problem."""
    field = entity.lookup(name)
    if field is not None and (name in entity.fields or name in allowed or not allowed):
        return field, []
    if name in widget.ctx.field_names(entity.name):     # a stage field of a broken file
        return None, []
    return None, [widget.at(parts, widget.ctx.unknown_field(
        entity, name, allowed or ("created_at", "updated_at")), "DSH026")]


def _measure(widget: Widget, entity: Entity, part: Mapping[str, Any],
             parts: Parts) -> Iterator[Problem]:
    agg, name, span = part.get("agg"), part.get("field"), part.get("duration")
    if agg is None:
        return                              # a number's missing agg is DSH027 already
    if span is not None:
        if name is not None:
            yield widget.at((*parts, "field"), 'a duration measures time in the workflow '
                            'and takes no "field"', "DSH028")
        if agg not in DURATION_AGGS:
            yield widget.at((*parts, "agg"), f'a duration takes agg {", ".join(DURATION_AGGS)}'
                            f', not "{agg}"', "DSH029")
    elif name is None and agg != "count":
        yield widget.at(parts, f'"{agg}" needs a "field": the field it aggregates',
                        "DSH027")
    elif name is not None:
        field, found = _field(widget, entity, name, (*parts, "field"))
        yield from found
        if field is not None and (reason := _unfit(agg, field)):
            yield widget.at((*parts, "field"), reason, "DSH029")


def _unfit(agg: str, field: Field) -> str | None:
    kind = field.as_value().type
    if agg == "count":     # the records where the field has a value
        return None if kind not in UNCOUNTED else (
            f'"{field.name}" is {a_an(kind)} field, whose values are other records; count '
            'the records themselves (no "field")')
    if TYPES[kind].numeric or (agg in ("min", "max") and kind in DATES):
        return None
    fits = "number, decimal, money or percent" + (" (or date)" if agg in ("min", "max")
                                                    else "")
    return (f'"{field.name}" is {a_an(kind)} field; {agg} takes a {fits} field — use '
            f'"count" to count records')


def _date(widget: Widget, entity: Entity, name: Any, parts: Parts) -> Iterator[Problem]:
    field, found = _field(widget, entity, name, parts)
    yield from found
    if field is not None and field.as_value().type not in DATES:
        dates = [f.name for f in entity.fields.values() if f.as_value().type in DATES]
        yield widget.at(parts, f'"{name}" is {a_an(field.type)} field; a range reads a date '
                        f'or datetime field: {", ".join([*dates, "created_at", "updated_at"])}',
                        "DSH031")


def _group_by(widget: Widget, entity: Entity, text: str) -> Iterator[Problem]:
    path, _, bucket = text.partition(":")
    parts: Parts = ("group_by",)
    head = path.split(".")[0]
    if head in entity.removed and head not in entity.fields:
        yield widget.at(parts, widget.ctx.unknown_field(entity, head), "DSH026")
        return
    ref, found = conditions.reference(path, entity, widget.ctx.pack.entities, widget.file,
                                      pointer("widgets", widget.index, *parts))
    for problem in found:
        yield Problem(problem.where, problem.message,
                      "DSH026" if problem.code == "COND002" else "DSH030")
    if ref is None:
        return
    kind = ref.field.as_value().type
    if bucket and bucket not in BUCKETS:
        yield widget.at(parts, f'unknown bucket "{bucket}"{did_you_mean(bucket, BUCKETS)}; '
                        f'use one of {", ".join(BUCKETS)}', "DSH030")
    elif bucket and kind not in DATES:
        yield widget.at(parts, f'"{path}" is {a_an(kind)} field; a bucket (":{bucket}") '
                        f'cuts a date or datetime field — group by "{path}" alone', "DSH030")
    elif not bucket and kind in DATES:
        yield widget.at(parts, f'"{path}" is a {kind} field; add a bucket: '
                        f'"{path}:month" (or day, week, quarter, year)', "DSH030")
    elif not bucket and kind not in GROUPABLE:
        yield widget.at(parts, f'"{path}" is {a_an(kind)} field, whose values are too many '
                        "to chart; group by an enum, stage, boolean, user or link field, or "
                        "a date with a bucket", "DSH030")


def _duration(widget: Widget, entity: Entity, span: Mapping[str, Any]) -> Iterator[Problem]:
    ctx, name = widget.ctx, span["workflow"]
    own = [w.name for w in ctx.pack.workflows_of(entity.name)]
    flow = ctx.pack.workflows.get(name)
    if name not in ctx.raw.workflows:
        yield widget.at(("duration", "workflow"), f'no workflow "{name}"'
                        f"{did_you_mean(name, own or ctx.raw.workflows)}", "DSH036")
    elif flow is not None and flow.entity != entity.name:
        yield widget.at(("duration", "workflow"), f'workflow "{name}" moves {flow.entity} '
                        f"records, not {entity.name}; use one of {entity.name}'s: "
                        f'{", ".join(own) or "none"}', "DSH036")
    elif flow is not None:
        keys = [stage.key for stage in flow.stages]
        for key in ("to", "from"):
            if key in span and span[key] not in keys:
                yield widget.at(("duration", key), f'workflow "{name}" has no stage '
                                f'"{span[key]}"{did_you_mean(span[key], keys)}', "DSH036")


def _list(widget: Widget, entity: Entity) -> Iterator[Problem]:
    sort = widget.raw.get("sort")
    if isinstance(sort, str):
        field, found = _field(widget, entity, sort.lstrip("-"), ("sort",), LIST_SORT)
        yield from found
        if field is not None and not TYPES[field.type].orderable:
            yield widget.at(("sort",), f'"{field.name}" is {a_an(field.type)} field; a list '
                            "cannot be sorted by it", "DSH037")
    for index, name in entries(widget.raw, "columns"):
        field, found = _field(widget, entity, name, ("columns", index))
        yield from found
        if field is not None and field.type == "lines":
            yield widget.at(("columns", index), f'"{name}" is a lines field; a list shows '
                            "no lines — show the document's totals instead", "DSH037")
