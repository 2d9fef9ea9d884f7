"""Meaning checks of dashboard files (`dashboards/<name>.json`, SPEC §12).

A dashboard is read by managers who trust its numbers, so every name it uses is checked
when the pack loads, never found by someone staring at a zero: entities, fields, roles,
workflows and stages exist (with a did-you-mean), each field fits what the widget does
with it, ranges and buckets are known and bounded. Each problem names the file, the JSON
pointer and how to fix it. Codes DSH010–DSH016 come from the JSON Schema (`schema`);
conditions keep their own COND codes, under the widget's pointer (`build_dashboards`).

This module checks a dashboard's shape (names, roles, which keys a kind takes, ranges);
`widget_fields` checks the fields and workflows each widget reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from karte.meta.dashboards import RANGES
from karte.meta.raw import Doc
from karte.meta.validate.context import Ctx, entries, misnamed, repeats
from karte.meta.validate.widget_fields import Widget, check_widget_fields
from karte.problems import Problem, at, did_you_mean, pointer

DASHBOARD_CODES = {
    "DSH010": "unknown key in a dashboard file (schema)",
    "DSH011": "wrong JSON type in a dashboard file (schema)",
    "DSH012": "a value not among the allowed ones, e.g. an unknown widget kind or agg "
              "(schema)",
    "DSH013": "a required key is missing, e.g. a widget's kind (schema)",
    "DSH014": "malformed name, text, day or group_by (schema)",
    "DSH015": "number, length or size out of range, e.g. no widgets (schema)",
    "DSH016": "object of the wrong shape, e.g. \"remove\" that is not true (schema)",
    "DSH020": "\"name\" differs from the file stem",
    "DSH021": "\"remove\": true names no dashboard of a base pack",
    "DSH022": "roles name a role pack.json does not declare",
    "DSH023": "a widget's roles name a role the dashboard is not shown to",
    "DSH024": "two widgets of a dashboard have the same name",
    "DSH025": "a widget's entity names no entity, or not the funnel's workflow's",
    "DSH026": "a widget names no field of its entity (or one an overlay removed)",
    "DSH027": "a widget lacks a key its kind needs (a chart's group_by, a ratio's part…)",
    "DSH028": "a widget has a key its kind, agg or series do not take",
    "DSH029": "an agg that does not fit its field (sum of a text field)",
    "DSH030": "a group_by that cannot group: a text field, a date without bucket, a "
              "bucket on a non-date, an unknown bucket",
    "DSH031": "date names a field that is not a date or datetime",
    "DSH032": "an unknown range, a day that does not exist, or to before from",
    "DSH033": "compare, or a date group_by, without a range",
    "DSH034": "day buckets over more than 400 days",
    "DSH035": "series: fewer than two",
    "DSH036": "a funnel or duration names no workflow of the entity, or no stage of it",
    "DSH037": "a list sorts by or shows a field it cannot (text, lines…)",
    "DSH038": "limit above 50",
}

COMMON = {"kind", "label", "name", "entity", "roles", "wide", "where", "date", "range"}
TAKES = {
    "number": {"agg", "field", "duration", "compare", "target", "format"},
    "ratio": {"numerator", "denominator", "compare", "target", "format"},
    "chart": {"chart", "group_by", "agg", "field", "series", "limit", "target", "format"},
    "funnel": {"workflow"},
    "list": {"sort", "limit", "columns"},
}
NEEDS = {"number": ("agg",), "ratio": ("numerator", "denominator"),
         "chart": ("chart", "group_by"), "funnel": ("workflow",), "list": ()}
MAX_DAY_BUCKETS = 400
MAX_LIMIT = 50


def check_dashboard(ctx: Ctx, doc: Doc) -> Iterator[Problem]:
    """Every problem of one schema-valid dashboard file."""
    data = doc.data
    stem = doc.file.rpartition("/")[2].removesuffix(".json")
    if reason := misnamed(data.get("name"), stem):
        yield at(doc.file, "/name", reason, "DSH020")
    roles = ctx.roles or []
    for index, role in entries(data, "roles"):
        if role not in roles:
            yield at(doc.file, pointer("roles", index), ctx.unknown_role(role, roles),
                     "DSH022")
    yield from _names(doc)
    for index, raw in entries(data, "widgets"):
        widget = Widget(ctx, doc.file, index, raw)
        yield from _roles(widget, data.get("roles"))
        yield from _keys(widget)
        yield from _range(widget)
        yield from check_widget_fields(widget)


def _names(doc: Doc) -> Iterator[Problem]:
    names = [(index, raw.get("name") or f"w{index + 1}")
             for index, raw in entries(doc.data, "widgets")]
    for index in repeats(names):
        yield at(doc.file, pointer("widgets", index), f'a widget named "{names[index][1]}" '
                 'comes earlier (a widget without "name" is named w<position>); give each '
                 'widget its own "name"', "DSH024")


def _roles(widget: Widget, shown_to: Any) -> Iterator[Problem]:
    roles = widget.ctx.roles or []
    for index, role in entries(widget.raw, "roles"):
        where = ("roles", index)
        if role not in roles:
            yield widget.at(where, widget.ctx.unknown_role(role, roles), "DSH022")
        elif isinstance(shown_to, list) and role != "admin" and role not in shown_to:
            yield widget.at(where, f'the dashboard is not shown to "{role}" (its roles: '
                            f'{", ".join(shown_to)}); add "{role}" to the dashboard\'s '
                            "roles or take it out of the widget's", "DSH023")


def _keys(widget: Widget) -> Iterator[Problem]:
    """The keys the widget's kind needs and takes; a ratio or series part's own."""
    raw, kind = widget.raw, widget.kind
    for key in NEEDS[kind]:
        if key not in raw:
            yield widget.at((), f'a {kind} widget needs "{key}"{_example(key)}', "DSH027")
    if kind == "chart" and "agg" not in raw and "series" not in raw:
        yield widget.at((), 'a chart needs "agg" (and "field"), or "series"', "DSH027")
    if kind != "funnel" and "entity" not in raw:
        yield widget.at((), f'a {kind} widget needs "entity": the entity whose records it '
                        "counts", "DSH027")
    for key in raw:
        if key not in COMMON and key not in TAKES[kind]:
            takers = [k for k, keys in TAKES.items() if key in keys]
            yield widget.at((key,), f'a {kind} widget takes no "{key}" (a key of '
                            f'{" and ".join(takers)} widgets); remove it', "DSH028")
    if kind == "chart" and "series" in raw:
        yield from _series(widget)
    limit = raw.get("limit")
    if isinstance(limit, int) and limit > MAX_LIMIT:
        what = "rows" if kind == "list" else "groups"
        yield widget.at(("limit",), f"a widget shows at most {MAX_LIMIT} {what}; change "
                        f'"limit": {limit} to {MAX_LIMIT} or less', "DSH038")


def _example(key: str) -> str:
    return {"group_by": ', e.g. "stage" or "closed_on:month"', "chart": ": bar, line or pie",
            "agg": ": count, sum, avg, min, max or median",
            "workflow": ": the workflow whose stages are the steps"}.get(key, "")


def _series(widget: Widget) -> Iterator[Problem]:
    items = widget.raw["series"]
    if len(items) < 2:
        yield widget.at(("series",), f"series draws two or more measures side by side; "
                        f"with {len(items)}, use the widget's own \"agg\" and \"field\"",
                        "DSH035")
    for key in ("agg", "field"):
        if key in widget.raw:
            yield widget.at((key,), f'a chart with "series" takes no "{key}": each series '
                            "has its own", "DSH028")


def _range(widget: Widget) -> Iterator[Problem]:
    raw = widget.raw
    span = None
    if isinstance(raw.get("range"), str) and raw["range"] not in RANGES:
        name = raw["range"]
        yield widget.at(("range",), f'unknown range "{name}"{did_you_mean(name, RANGES)}; '
                        f'use one of {", ".join(RANGES)} or {{"from": "YYYY-MM-DD"}}',
                        "DSH032")
    elif isinstance(raw.get("range"), dict):
        span, found = _days(widget, raw["range"])
        yield from found
    if "range" in raw:
        yield from _day_buckets(widget, span)
        return
    if "compare" in raw:
        yield widget.at(("compare",), 'compare needs a "range": the previous period is the '
                        'one before it (e.g. "range": "this_month")', "DSH033")
    if ":" in str(raw.get("group_by", "")):
        yield widget.at(("group_by",), 'a date group_by needs a "range": it says which '
                        'buckets there are (e.g. "range": "last_12_months")', "DSH033")


def _days(widget: Widget, raw: Mapping[str, Any]
          ) -> tuple[int | None, list[Problem]]:
    """The days a from/to range spans (None: open-ended or broken), and its problems."""
    days: dict[str, dt.date] = {}
    problems = []
    for key in ("from", "to"):
        try:
            if key in raw:
                days[key] = dt.date.fromisoformat(raw[key])
        except ValueError:
            problems.append(widget.at(("range", key), f'{raw[key]} is not a day of the '
                                      'calendar; write an existing day, e.g. "2026-02-28"',
                                      "DSH032"))
    if len(days) < 2:
        return None, problems
    if days["to"] < days["from"]:
        problems.append(widget.at(("range", "to"), f'"to" ({raw["to"]}) is before "from" '
                                  f'({raw["from"]}); swap them', "DSH032"))
        return None, problems
    return (days["to"] - days["from"]).days + 1, problems


def _day_buckets(widget: Widget, span: int | None) -> Iterator[Problem]:
    """Day buckets over a from/to range: it must end, and within 400 days (every named
    range is shorter)."""
    raw = widget.raw
    if not str(raw.get("group_by", "")).endswith(":day") or not isinstance(raw["range"],
                                                                          dict):
        return
    if "to" not in raw["range"]:
        yield widget.at(("range",), 'day buckets need a range with "to", so the number of '
                        "bars does not grow every day; add \"to\", or use week or month "
                        "buckets", "DSH034")
    elif span is not None and span > MAX_DAY_BUCKETS:
        yield widget.at(("group_by",), f"day buckets over {span} days would draw {span} "
                        f"bars (at most {MAX_DAY_BUCKETS}); use week or month buckets, or "
                        "a shorter range", "DSH034")
