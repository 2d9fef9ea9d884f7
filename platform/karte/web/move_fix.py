"""Fixing a refused move in place (issue 12): which reasons the mover can fix by typing.

A refusal whose every reason is about a field of the record — empty where the stage
`requires` it, a rule of the stage refusing its value (amount must be > 0), a value that
does not validate, a later stage's rule refusing a value typed now — becomes ONE form
asking for exactly those fields, which saves them and completes the move in one
transaction (the move service). Any other reason (roles, transitions, a final stage, a
field the role may not write, an action that fails) is listed instead, with a link to the
record. Each asked field also says what the later stages' rules will want of it
("Invoiced will need this: An invoice needs a positive amount."), before anything is typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask_babel import gettext as _

from karte.meta.model import Entity, Workflow
from karte.problems import Problem
from karte.web import text
from karte.workflow.ahead import later_rules

NOT_ASKED = frozenset({"formula", "rollup"})
# reasons typing cannot fix: the move itself, the role's rights, an action's own failure
UNFIXABLE = frozenset({"not_allowed", "read_only", "forbidden", "action", "invalid_move"})


def askable(entity: Entity, name: str) -> bool:
    """A field of the record a move form can ask for (not a stage field, not computed)."""
    field = entity.fields.get(name)
    return field is not None and not field.workflow and field.type not in NOT_ASKED


def fixable(entity: Entity, problems: Sequence[Problem],
            before: Iterable[str] = ()) -> list[str] | None:
    """The fields to ask for, in the entity's order: those the reasons are about, plus
    those a form already asked (a typo is corrected in place, the rest kept). None when
    a reason is not a field's to fix: the reasons are then listed, not asked."""
    if not problems or not all(p.code not in UNFIXABLE and askable(entity, p.where)
                               for p in problems):
        return None
    wanted = {p.where for p in problems} | {n for n in before if askable(entity, n)}
    return [name for name in entity.fields if name in wanted]


def hints(workflow: Workflow, to: str, asked: Sequence[str]) -> dict[str, list[str]]:
    """Per asked field, what the later stages' rules will need of it, in the UI language."""
    found: dict[str, list[str]] = {}
    for stage, rule, read in later_rules(workflow, to, asked):
        message = text(rule.message) or _("its rules must hold")
        for name in read:
            found.setdefault(name, []).append(_("%(stage)s will need this: %(message)s",
                                                stage=text(stage.label), message=message))
    return found
