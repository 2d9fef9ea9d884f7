"""The later stages' rules on the values a move asks for (issue 12, "fixing in place").

When a move asks for a field (a stage `requires` it, or a rule refused its value), the
value typed is also judged by the rules of the stages AFTER the target that read only the
fields asked: a zero amount typed at Proposal would be refused at Invoiced ("An invoice
needs a positive amount"), so it is refused now, saying which stage will need what.
Stages that end the pipeline as lost are off the path a record walks on, so their rules
are not judged ahead. Pure: conditions are judged by the caller's `judge`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from karte.fields import is_empty
from karte.meta.conditions.model import fields_used
from karte.meta.model import Rule, Stage, Workflow
from karte.problems import Problem

AHEAD = "rule_ahead"     # the problem code of a value a later stage's rule refuses


def later_rules(workflow: Workflow, target: str, asked: Collection[str]
                ) -> list[tuple[Stage, Rule, tuple[str, ...]]]:
    """(stage, rule, asked fields it reads) for each rule of a stage after `target` that
    reads asked fields and nothing else (the stage field aside): a rule that also reads
    a field nobody is typing now is for that stage to judge."""
    keys = workflow.stage_keys
    if target not in keys:
        return []
    found = []
    for stage in workflow.stages[keys.index(target) + 1:]:
        if stage.final == "lost":
            continue
        for rule in stage.rules:
            read = fields_used(rule.when) - {workflow.field} if rule.when is not None \
                else frozenset()
            if read and read <= set(asked):
                found.append((stage, rule, tuple(n for n in asked if n in read)))
    return found


def ahead_problems(workflow: Workflow, target: str, asked: Collection[str],
                   entering: Mapping[str, Any], judge: Callable[[Any, Any], bool],
                   say: Callable[[Stage, Rule], str]) -> list[Problem]:
    """A problem (code "rule_ahead", on the first asked field the rule reads) for each
    later rule the record as it enters `target` would fail; a rule reading an empty
    field is left to the "missing" reason."""
    problems = []
    for stage, rule, read in later_rules(workflow, target, asked):
        if any(is_empty(entering.get(n)) for n in read):
            continue
        if not judge(rule.when, {**entering, workflow.field: stage.key}):
            problems.append(Problem(read[0], say(stage, rule), AHEAD))
    return problems
