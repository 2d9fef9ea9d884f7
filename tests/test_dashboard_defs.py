"""Dashboard definitions: `dashboards/<name>.json` → `Pack.dashboards`.

Valid files build the Registry objects the reports and pages read (conditions parsed,
group_by paths resolved as a condition's field, ranges as dates, defaults filled in);
overlays add, replace and remove dashboards; mistakes are reported with file, pointer and
a way to fix them (the corpus in tests/defs/invalid/DSH*.json proves every code).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from karte.meta import conditions
from karte.meta.dashboards import AGGS, CHARTS, FORMATS, KINDS, GroupBy, Range, Span
from karte.meta.load import check_pack
from karte.meta.validate.dashboards import NEEDS, TAKES
from karte.meta.validate.schema import SCHEMAS
from tests.conftest import write_pack

ENTITIES = {
    "customer": {"fields": {"name": {"type": "string"},
                            "segment": {"type": "enum", "options": ["smb", "enterprise"]}}},
    "deal": {"fields": {
        "title": {"type": "string"},
        "amount": {"type": "money"},
        "probability": {"type": "percent"},
        "note": {"type": "text"},
        "closed_on": {"type": "date"},
        "owner": {"type": "user"},
        "customer": {"type": "link", "to": "customer"},
        "weighted": {"type": "formula", "formula": "amount * probability", "result": "money"},
    }, "list": {"columns": ["title", "amount"], "sort": "-amount"}},
}
WORKFLOWS = {"deal_pipeline": {"entity": "deal", "field": "stage", "stages": [
    {"key": "new"}, {"key": "qualified"}, {"key": "won", "final": "won"},
    {"key": "lost", "final": "lost"}]}}
PACK = {"roles": {"sales": {"*": {"read": "all"}}, "manager": {"*": {"read": "all"}}}}
SALES = {
    "label": {"en": "Sales", "ja": "営業"}, "description": "How the quarter goes.",
    "roles": ["sales", "manager"],
    "widgets": [
        {"kind": "number", "label": "Won this month", "entity": "deal", "agg": "sum",
         "field": "amount", "where": {"field": "stage", "op": "=", "value": "won"},
         "date": "closed_on", "range": "this_month", "compare": "previous_period",
         "target": 50000},
        {"kind": "ratio", "name": "win_rate", "label": "Win rate", "entity": "deal",
         "numerator": {"agg": "count", "where": {"field": "stage", "op": "=", "value": "won"}},
         "denominator": {"agg": "count", "where": {"field": "stage", "op": "in",
                                                   "value": ["won", "lost"]}},
         "range": {"from": "2026-01-01", "to": "2026-03-31"}, "roles": ["manager"]},
        {"kind": "chart", "name": "by_segment", "label": "Pipeline by segment",
         "chart": "bar", "entity": "deal", "agg": "sum", "field": "weighted",
         "group_by": "customer.segment", "limit": 5, "wide": True},
        {"kind": "chart", "name": "monthly", "label": "Created and closed", "chart": "line",
         "entity": "deal", "group_by": "closed_on:month", "range": "last_12_months",
         "series": [{"label": "Created", "agg": "count", "date": "created_at"},
                    {"label": {"en": "Won", "ja": "受注"}, "agg": "count",
                     "where": {"field": "stage", "op": "=", "value": "won"}}]},
        {"kind": "funnel", "name": "funnel", "label": "Funnel", "workflow": "deal_pipeline",
         "range": "this_quarter"},
        {"kind": "list", "name": "top", "label": "Top open deals", "entity": "deal",
         "where": {"field": "stage", "op": "not_in", "value": ["won", "lost"]}},
        {"kind": "number", "name": "cycle", "label": "Days to win", "entity": "deal",
         "agg": "median", "duration": {"workflow": "deal_pipeline", "to": "won"}},
    ],
}


def _check(tmp_path, dashboards, *, base=None, entities=ENTITIES):
    pack = dict(PACK)
    if base is not None:
        write_pack(tmp_path / "base", ENTITIES, WORKFLOWS, PACK, base)
        pack = {"extends": "../base"}
    root = write_pack(tmp_path / "client", entities if base is None else {},
                      WORKFLOWS if base is None else None, pack, dashboards)
    return check_pack(root)


def _load(tmp_path, dashboards, **kwargs):
    pack, problems = _check(tmp_path, dashboards, **kwargs)
    assert [str(p) for p in problems] == []
    return pack


def test_a_dashboard_builds_every_widget_kind(tmp_path):
    board = _load(tmp_path, {"sales": SALES}).dashboards["sales"]
    assert (board.name, board.label.get("ja"), board.roles) == ("sales", "営業",
                                                               ("sales", "manager"))
    assert board.description.get() == "How the quarter goes."
    assert board.source == "dashboards/sales.json"
    assert [w.name for w in board.widgets] == ["w1", "win_rate", "by_segment", "monthly",
                                               "funnel", "top", "cycle"]
    assert [w.pointer for w in board.widgets][:2] == ["/widgets/0", "/widgets/1"]
    assert board.widget("top").kind == "list" and board.widget("nope") is None


def test_a_number_resolves_its_measure_range_and_format(tmp_path):
    won = _load(tmp_path, {"sales": SALES}).dashboards["sales"].widgets[0]
    assert (won.measure.agg, won.measure.field.name, won.format) == ("sum", "amount", "money")
    assert isinstance(won.where, conditions.Compare) and won.where.value == "won"
    assert (won.date, won.range, won.compare) == ("closed_on", Range(name="this_month"),
                                                  "previous_period")
    assert won.target == Decimal(50000) and won.roles == () and not won.wide


def test_a_ratio_has_two_parts_dates_and_percent(tmp_path):
    ratio = _load(tmp_path, {"sales": SALES}).dashboards["sales"].widget("win_rate")
    assert (ratio.numerator.agg, ratio.denominator.agg) == ("count", "count")
    assert ratio.denominator.where.op == "in" and ratio.measure is None
    assert ratio.range == Range(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
    assert (ratio.date, ratio.format, ratio.roles) == ("created_at", "percent", ("manager",))


def test_a_group_by_path_is_the_ref_a_condition_would_read(tmp_path):
    pack = _load(tmp_path, {"sales": SALES})
    chart = pack.dashboards["sales"].widget("by_segment")
    parsed, _ = conditions.parse({"field": "customer.segment", "op": "empty"},
                                 pack.entities["deal"], pack.entities, "x", "")
    assert chart.group_by == GroupBy("customer.segment", parsed.ref, None)
    assert (chart.chart, chart.limit, chart.wide, chart.format) == ("bar", 5, True, "money")
    assert chart.measure.field.name == "weighted" and chart.date is None


def test_a_date_group_by_reads_its_field_and_series_keep_their_own_date(tmp_path):
    chart = _load(tmp_path, {"sales": SALES}).dashboards["sales"].widget("monthly")
    assert (chart.group_by.path, chart.group_by.bucket) == ("closed_on", "month")
    assert chart.group_by.ref.field.type == "date" and chart.date == "closed_on"
    assert chart.measure is None
    assert [(s.label.get("ja"), s.measure.agg, s.date) for s in chart.series] == [
        ("Created", "count", "created_at"), ("受注", "count", None)]
    assert chart.series[1].measure.where.ref.path == "stage"


def test_a_funnel_counts_its_workflows_entity(tmp_path):
    funnel = _load(tmp_path, {"sales": SALES}).dashboards["sales"].widget("funnel")
    assert (funnel.entity, funnel.workflow, funnel.date) == ("deal", "deal_pipeline",
                                                             "created_at")


def test_a_list_takes_the_entitys_sort_and_columns_unless_it_names_its_own(tmp_path):
    pack = _load(tmp_path, {"sales": SALES, "own": {"widgets": [
        {"kind": "list", "label": "Recent", "entity": "deal", "sort": "closed_on",
         "columns": ["title", "closed_on"], "limit": 3}]}})
    top = pack.dashboards["sales"].widget("top")
    assert (top.sort, top.columns, top.limit) == ("-amount", ("title", "amount"), 10)
    own = pack.dashboards["own"].widgets[0]
    assert (own.sort, own.columns, own.limit) == ("closed_on", ("title", "closed_on"), 3)
    assert pack.dashboards["own"].label.get() == "Own" and pack.dashboards["own"].roles == ()


def test_a_duration_reads_the_workflows_stage_field(tmp_path):
    cycle = _load(tmp_path, {"sales": SALES}).dashboards["sales"].widget("cycle")
    assert cycle.measure.span == Span("deal_pipeline", "stage", "won", None)
    assert (cycle.measure.agg, cycle.format) == ("median", "duration")


def test_dashboards_are_in_file_name_order_and_leave_the_definitions_alone(tmp_path):
    plain = _load(tmp_path / "a", {})
    pack = _load(tmp_path / "b", {"zeta": SALES, "alpha": SALES})
    assert list(pack.dashboards) == ["alpha", "zeta"]
    assert pack.definitions == plain.definitions    # no migration for a dashboard edit


def test_overlays_add_replace_and_remove_dashboards(tmp_path):
    one = {"label": "Base", "widgets": [{"kind": "number", "label": "Deals",
                                         "entity": "deal", "agg": "count"}]}
    base = {"alpha": one, "beta": one, "gamma": one}
    pack = _load(tmp_path, {"beta": {"remove": True}, "alpha": {**one, "label": "Mine"},
                            "aardvark": one}, base=base)
    assert list(pack.dashboards) == ["alpha", "gamma", "aardvark"]
    assert pack.dashboards["alpha"].label.get() == "Mine"
    assert pack.dashboards["alpha"].source == "dashboards/alpha.json"
    assert pack.dashboards["gamma"].source == "../base/dashboards/gamma.json"


@pytest.mark.parametrize(("removal", "where", "message"), [
    ({"remove": True, "label": "Sales"}, "dashboards/sales.json: /label",
     "holds only \"remove\""),
    ({"remove": False}, "dashboards/sales.json: /remove", "\"remove\" is true"),
])
def test_a_removal_file_holds_nothing_else(tmp_path, removal, where, message):
    _, problems = _check(tmp_path, {"sales": removal}, base={"sales": SALES})
    assert [(p.code, p.where) for p in problems] == [("DSH014" if "only" in message
                                                      else "DSH016", where)]
    assert message in problems[0].message


def test_a_where_problem_keeps_the_condition_code_under_the_widget(tmp_path):
    widget = {"kind": "number", "label": "x", "entity": "deal", "agg": "count",
              "where": {"field": "stage", "op": "=", "value": "wno"}}
    _, problems = _check(tmp_path, {"sales": {"widgets": [widget]}})
    assert [(p.code, p.where) for p in problems] == [
        ("COND008", "dashboards/sales.json: /widgets/0/where/value")]
    assert 'did you mean "won"?' in problems[0].message


def test_the_menu_names_the_merged_dashboards(tmp_path):
    one = {"widgets": [{"kind": "number", "label": "Deals", "entity": "deal", "agg": "count"}]}
    write_pack(tmp_path / "base", ENTITIES, WORKFLOWS, {**PACK, "nav": [
        {"label": "Boards", "items": ["dashboard:sales", "dashboard:support"]}]},
        {"sales": one, "support": one})
    root = write_pack(tmp_path / "client", {}, None, {"extends": "../base"},
                      {"support": {"remove": True}})
    _, problems = check_pack(root)
    assert [(p.code, p.where) for p in problems] == [
        ("DEF117", "../base/pack.json: /nav/0/items/1")]
    assert 'dashboard "support" is removed by this client pack' in problems[0].message


def _widget_problems(tmp_path, widget, roles=None):
    board = {"widgets": [widget], **({"roles": roles} if roles else {})}
    _, problems = _check(tmp_path, {"sales": board})
    return [(p.code, p.where.partition(": ")[2], p.message) for p in problems]


COUNT = {"kind": "number", "label": "Deals", "entity": "deal", "agg": "count"}


@pytest.mark.parametrize(("widget", "roles", "code", "where", "hint"), [
    ({**COUNT, "agg": "sum", "field": "note"}, None, "DSH029", "/widgets/0/field",
     'use "count"'),
    ({"kind": "chart", "chart": "bar", "label": "x", "entity": "deal", "agg": "count",
      "group_by": "note"}, None, "DSH030", "/widgets/0/group_by", "group by an enum, stage"),
    ({**COUNT, "range": "last_mnth"}, None, "DSH032", "/widgets/0/range",
     'did you mean "last_month"?'),
    ({"kind": "funnel", "label": "x", "workflow": "pipeline"}, None, "DSH036",
     "/widgets/0/workflow", 'did you mean "deal_pipeline"?'),
    (COUNT, ["sales", "manger"], "DSH022", "/roles/1", 'did you mean "manager"?'),
    ({**COUNT, "entity": "deals"}, None, "DSH025", "/widgets/0/entity",
     'did you mean "deal"?'),
])
def test_the_issues_mistakes_are_found_with_a_way_to_fix_them(tmp_path, widget, roles, code,
                                                             where, hint):
    [(found, at, message)] = _widget_problems(tmp_path, widget, roles)
    assert (found, at) == (code, where) and hint in message


def test_conditions_of_parts_and_series_point_inside_them(tmp_path):
    wrong = {"field": "stage", "op": "=", "value": "wno"}
    problems = _widget_problems(tmp_path, {
        "kind": "chart", "chart": "bar", "label": "x", "entity": "deal", "group_by": "stage",
        "series": [{"label": "a", "agg": "count", "where": wrong},
                   {"label": "b", "agg": "count", "where": {"field": "amout", "op": "empty"}}]})
    assert [(code, at) for code, at, _ in problems] == [
        ("COND008", "/widgets/0/series/0/where/value"),
        ("COND002", "/widgets/0/series/1/where/field")]
    ratio = {"kind": "ratio", "label": "x", "entity": "deal", "denominator": {"agg": "count"},
             "numerator": {"agg": "count", "where": wrong}}
    assert [(code, at) for code, at, _ in _widget_problems(tmp_path / "r", ratio)] == [
        ("COND008", "/widgets/0/numerator/where/value")]


def test_a_field_hidden_by_the_clients_overlay_is_named_as_removed(tmp_path):
    base = {"sales": {"widgets": [{**COUNT, "agg": "max", "field": "closed_on"}]}}
    write_pack(tmp_path / "base", ENTITIES, WORKFLOWS, PACK, base)
    root = write_pack(tmp_path / "client", {"deal": {"extends": True, "remove": ["closed_on"]}},
                      None, {"extends": "../base"})
    _, problems = check_pack(root)
    assert [(p.code, str(p)) for p in problems] == [(
        "DSH026", '../base/dashboards/sales.json: /widgets/0/field: field "closed_on" is '
                  "removed by this client pack")]


def test_system_dates_and_stage_fields_are_fields_of_every_widget(tmp_path):
    pack = _load(tmp_path, {"ops": {"widgets": [
        {**COUNT, "date": "updated_at", "range": "last_7_days", "compare": "previous_period"},
        {"kind": "chart", "chart": "line", "label": "x", "entity": "deal", "agg": "max",
         "field": "closed_on", "group_by": "created_at:week", "range": "last_90_days"},
        {"kind": "chart", "chart": "pie", "label": "x", "entity": "deal", "agg": "avg",
         "field": "probability", "group_by": "owner"},
        {"kind": "list", "label": "x", "entity": "deal", "sort": "-created_at",
         "columns": ["title", "stage", "customer"], "limit": 50}]}})
    widgets = pack.dashboards["ops"].widgets
    assert [w.date for w in widgets] == ["updated_at", "created_at", None, None]
    assert (widgets[1].format, widgets[2].format) == ("number", "percent")



def test_the_schema_lists_the_registrys_kinds_aggs_charts_and_formats():
    widget = json.loads((SCHEMAS / "dashboard.schema.json").read_text("utf-8"))[
        "$defs"]["widget"]["properties"]
    assert widget["kind"]["enum"] == list(KINDS) == list(TAKES) == list(NEEDS)
    assert widget["agg"]["enum"] == list(AGGS)
    assert widget["chart"]["enum"] == list(CHARTS)
    assert widget["format"]["enum"] == list(FORMATS)
    assert set().union(*TAKES.values()) <= set(widget)


REPO_ROOT = Path(__file__).resolve().parents[1]
JSON_BLOCK = re.compile(r"^```json\n(.*?)^```", re.M | re.S)
WIDGETISH = re.compile(r'"widgets"|"kind": "(number|ratio|chart|funnel|list)"')


def _doc_examples(name):
    """The dashboards and widgets the docs show (a block with "…" is a sketch)."""
    text = (REPO_ROOT / "docs" / name).read_text(encoding="utf-8")
    return [json.loads(block) for block in JSON_BLOCK.findall(text)
            if "…" not in block and WIDGETISH.search(block)]


@pytest.mark.parametrize("name", ["dashboards.md", "pack-format.md"])
def test_the_docs_examples_load_on_the_standard_pack(tmp_path, name):
    examples = _doc_examples(name)
    assert examples
    boards = {f"example{n}": item if "widgets" in item else {"widgets": [item]}
              for n, item in enumerate(examples)}
    for board in boards.values():
        board.pop("$schema", None)
    root = write_pack(tmp_path, {}, None, {"extends": str(REPO_ROOT)}, boards)
    pack, problems = check_pack(root)
    assert [str(p) for p in problems] == []
    assert len(pack.dashboards) >= len(boards)
