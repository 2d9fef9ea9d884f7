"""Schema-valid `dashboards/<name>.json` documents → `Dashboard`s (karte.meta.dashboards).

Building resolves what a widget names against the finished entities and workflows: its
`where` is parsed as a condition on the widget's entity (a funnel's entity is its
workflow's), a `group_by` path becomes the same `Ref` a condition's field would, ranges
become dates, and defaults are filled in (widget names, the range's date field, a list's
sort and columns, the display format). Like the rest of `build`, it tolerates broken
references: a widget whose entity cannot be found is left out, a field that cannot be
found is left empty, and `validate.dashboards` reports each with its file and pointer —
so the pack never loads with such a widget.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from karte.meta import conditions
from karte.meta.dashboards import Dashboard, GroupBy, Measure, Range, Series, Span, Widget
from karte.meta.model import Entity, Text, Workflow, humanise
from karte.meta.raw import Doc
from karte.problems import Problem, pointer

FORMAT_OF_TYPE = {"money": "money", "percent": "percent"}


class _Scope:
    """What every widget of one file is built against, and where its problems go."""

    def __init__(self, doc: Doc, entities: Mapping[str, Entity],
                 workflows: Mapping[str, Workflow], problems: list[Problem]) -> None:
        self.file, self.entities, self.workflows = doc.file, entities, workflows
        self.problems = problems

    def condition(self, raw: Mapping[str, Any], entity: Entity, where: str) -> Any:
        """The parsed `where` of `raw` (a widget, ratio part or series), or None."""
        if raw.get("where") is None:
            return None
        parsed, found = conditions.parse(raw["where"], entity, self.entities, self.file,
                                         f"{where}/where")
        self.problems += found
        return parsed


def build_dashboards(docs: Mapping[str, Doc], entities: Mapping[str, Entity],
                     workflows: Mapping[str, Workflow]) -> tuple[dict[str, Dashboard],
                                                                 list[Problem]]:
    """Every dashboard in file order, and the problems of their conditions (COND…)."""
    problems: list[Problem] = []
    built = {name: _dashboard(name, doc, _Scope(doc, entities, workflows, problems))
             for name, doc in docs.items()}
    return built, problems


def _text(raw: Any, name: str) -> Text:
    return Text.of(raw if raw is not None else humanise(name), key=name)


def _dashboard(name: str, doc: Doc, scope: _Scope) -> Dashboard:
    data = doc.data
    widgets = (_widget(raw, index, scope) for index, raw in enumerate(data["widgets"]))
    return Dashboard(name=name, label=_text(data.get("label"), name),
                     widgets=tuple(w for w in widgets if w is not None),
                     roles=tuple(data.get("roles", ())),
                     description=(Text.of(data["description"], key="description")
                                  if "description" in data else None),
                     source=doc.file)


def widget_entity(raw: Mapping[str, Any], workflows: Mapping[str, Workflow]) -> str | None:
    """The entity a widget counts: its own, or for a funnel its workflow's."""
    if raw.get("kind") == "funnel" and raw.get("workflow") in workflows:
        return workflows[raw["workflow"]].entity
    entity = raw.get("entity")
    return entity if isinstance(entity, str) else None


def _widget(raw: Mapping[str, Any], index: int, scope: _Scope) -> Widget | None:
    entity = scope.entities.get(widget_entity(raw, scope.workflows) or "")
    if entity is None:
        return None
    where = pointer("widgets", index)
    group_by = _group_by(raw.get("group_by"), entity, scope, where)
    measure = _measure(raw, entity, scope, where) if raw["kind"] in ("number", "chart") \
        and "agg" in raw else None
    series = tuple(Series(_text(item["label"], "series"),
                          _measure(item, entity, scope, f"{where}/series/{number}"),
                          item.get("date"))
                   for number, item in enumerate(raw.get("series", ())))
    parts = {key: _measure(raw[key], entity, scope, f"{where}/{key}")
             for key in ("numerator", "denominator") if isinstance(raw.get(key), dict)}
    kind = raw["kind"]
    return Widget(
        name=raw.get("name") or f"w{index + 1}", kind=kind,
        label=_text(raw["label"], "widget"), entity=entity.name,
        where=scope.condition(raw, entity, where), date=_date(raw, group_by),
        range=_range(raw.get("range")), measure=measure,
        numerator=parts.get("numerator"), denominator=parts.get("denominator"),
        chart=raw.get("chart"), group_by=group_by, series=series,
        compare=raw.get("compare"),
        target=Decimal(str(raw["target"])) if "target" in raw else None,
        format=raw.get("format") or _format(kind, measure or (series[0].measure if series
                                                               else None)),
        workflow=raw.get("workflow"),
        sort=raw.get("sort") or (entity.list.sort if kind == "list" else None),
        limit=raw.get("limit", 10),
        columns=tuple(raw.get("columns") or (entity.list.columns if kind == "list" else ())),
        roles=tuple(raw.get("roles", ())), wide=raw.get("wide", False), pointer=where)


def _measure(raw: Mapping[str, Any], entity: Entity, scope: _Scope, where: str) -> Measure:
    """An aggregate: `agg` of `field`, or of a stage-history `duration`, under `where`."""
    span = None
    duration = raw.get("duration")
    if isinstance(duration, dict):
        workflow = scope.workflows.get(duration["workflow"])
        span = Span(duration["workflow"], workflow.field if workflow else "",
                    duration["to"], duration.get("from"))
    name = raw.get("field")
    return Measure(raw["agg"], entity.lookup(name) if isinstance(name, str) else None,
                   scope.condition(raw, entity, where), span)


def _group_by(raw: Any, entity: Entity, scope: _Scope, where: str) -> GroupBy | None:
    """The path and bucket of "customer.segment" or "close_on:month"; its `Ref` is the
    one a condition naming the path gets (problems are validate's to word)."""
    if not isinstance(raw, str):
        return None
    path, _, bucket = raw.partition(":")
    ref, _ = conditions.reference(path, entity, scope.entities, scope.file,
                                  f"{where}/group_by")
    return GroupBy(path, ref, bucket or None) if ref is not None else None


def _date(raw: Mapping[str, Any], group_by: GroupBy | None) -> str | None:
    """The field the range reads: as given; with a range, a date group_by's own field
    (so the buckets and the range agree), else created_at."""
    if raw.get("date") is not None or raw.get("range") is None:
        return raw.get("date")
    if group_by is not None and group_by.bucket and group_by.ref.link is None:
        return group_by.path
    return "created_at"


def _range(raw: Any) -> Range | None:
    if isinstance(raw, str):
        return Range(name=raw)
    if not isinstance(raw, dict):
        return None
    try:
        start = dt.date.fromisoformat(raw["from"])
        end = dt.date.fromisoformat(raw["to"]) if raw.get("to") else None
    except ValueError:          # 2026-02-30: validate says which
        return None
    return Range(start=start, end=end)


def _format(kind: str, measure: Measure | None) -> str:
    """money for money fields, percent for percent fields and ratios, duration for spans."""
    if kind == "ratio":
        return "percent"
    if measure is None or measure.agg == "count":
        return "number"
    if measure.span is not None:
        return "duration"
    if measure.field is None:
        return "number"
    return FORMAT_OF_TYPE.get(measure.field.as_value().type, "number")
