"""`karte check` runs every widget once on an empty database of the pack's tables: a
definition the database cannot run is a problem with its file and widget pointer, and the
standard and example packs pass."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from karte.meta.dashboards import Dashboard, Measure, Widget
from karte.meta.load import load_pack
from karte.meta.model import Field, Text, frozen_map
from karte.reports.check import plan_problems

ROOT = Path(__file__).resolve().parents[1]


def test_the_standard_and_example_packs_run_every_widget():
    for root in (ROOT, ROOT / "examples" / "distributor"):
        pack = load_pack(root)
        assert pack.dashboards and plan_problems(pack) == []


def test_a_widget_the_database_cannot_run_is_a_problem_at_its_pointer():
    pack = load_pack(ROOT)
    ghost = Field("ghost", "money", Text.of("Ghost"))     # a field the table does not have
    good = Widget("n", "number", Text.of("N"), "deal", measure=Measure("count"),
                  pointer="/widgets/0")
    bad = Widget("sum", "number", Text.of("Sum"), "deal", measure=Measure("sum", ghost),
                 pointer="/widgets/1")
    board = Dashboard("crafted", Text.of("Crafted"), (good, bad), source="dashboards/crafted.json")
    problems = plan_problems(replace(pack, dashboards=frozen_map({"crafted": board})))
    assert [(p.where, p.code) for p in problems] == [("dashboards/crafted.json: /widgets/1",
                                                      "DSH090")]
    assert "cannot run this widget" in problems[0].message
