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
        label=(_text(raw["label"], "widget") if raw.get("label") is not None
               else default_label(raw, entity, scope)), entity=entity.name,
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


# A widget without `label` is named after what it counts, in English and Japanese (the
# entity's and fields' own labels fill the blanks).
AGG_WORDS = {"count": ("Number of {plural}", "{plural}の件数"),
             "sum": ("Total {field}", "{field}の合計"),
             "avg": ("Average {field}", "{field}の平均"),
             "min": ("Lowest {field}", "{field}の最小"),
             "max": ("Highest {field}", "{field}の最大"),
             "median": ("Median {field}", "{field}の中央値")}
BY_WORDS = ("{what} by {group}", "{group}別の{what}")
BUCKET_WORDS = {"day": ("day", "日"), "week": ("week", "週"), "month": ("month", "月"),
                "quarter": ("quarter", "四半期"), "year": ("year", "年")}
LANGS = ("en", "ja")


def default_label(raw: Mapping[str, Any], entity: Entity, scope: _Scope) -> Text:
    """What an unlabelled widget shows: "Total Amount by Ordered on (month)", "Number of
    Deals", the funnel's workflow, a list's entity."""
    kind = raw.get("kind")
    if kind == "funnel":
        workflow = scope.workflows.get(raw.get("workflow", ""))
        return workflow.label if workflow is not None else Text.of(raw.get("workflow", ""))
    if kind == "list":
        return entity.plural
    if kind == "ratio":
        parts = [_said(raw.get(key) or {}, entity) for key in ("numerator", "denominator")]
        return _texts([f"{a} / {b}" for a, b in zip(*parts, strict=True)])
    what = _said(raw, entity)
    group = raw.get("group_by")
    if not isinstance(group, str):
        return _texts(what)
    path, _colon, bucket = group.partition(":")
    named = _field_words(entity, path, scope)
    if bucket in BUCKET_WORDS:
        named = [f"{n} ({b})" for n, b in zip(named, BUCKET_WORDS[bucket], strict=True)]
    return _texts([form.format(what=w, group=g)
                   for form, w, g in zip(BY_WORDS, what, named, strict=True)])


def _said(raw: Mapping[str, Any], entity: Entity) -> list[str]:
    """An aggregate in words, per language."""
    agg = str(raw.get("agg")) if raw.get("agg") in AGG_WORDS else "count"
    field = entity.lookup(raw["field"]) if isinstance(raw.get("field"), str) else None
    labels = [field.label.get(lang) if field else "" for lang in LANGS]
    plurals = [entity.plural.get(lang) for lang in LANGS]
    return [form.format(field=label, plural=plural) for form, label, plural
            in zip(AGG_WORDS[agg], labels, plurals, strict=True)]


def _field_words(entity: Entity, path: str, scope: _Scope) -> list[str]:
    head, _dot, rest = path.partition(".")
    field = entity.lookup(head)
    if field is None:
        return [path] * len(LANGS)
    words = [field.label.get(lang) for lang in LANGS]
    target = scope.entities.get(field.to or "") if rest else None
    far = target.lookup(rest) if target is not None else None
    if far is not None:
        words = [f"{w} {far.label.get(lang)}" for w, lang in zip(words, LANGS, strict=True)]
    return words


def _texts(words: list[str]) -> Text:
    return Text.of(dict(zip(LANGS, words, strict=True)), key="widget")


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
