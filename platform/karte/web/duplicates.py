"""`/<entity>/duplicates` (SPEC §14): the groups each duplicate rule finds across the
whole table, a page of groups at a time, each group with a form that opens the merge
page for two of its records (the first two ticked). A plain GET page: tabs per rule,
"more" by page number; htmx only swaps the page's body.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request

from karte.meta.model import Entity
from karte.store.errors import InvalidQuery
from karte.web import actor, entity_or_404, records, render, signed_in_actor
from karte.web.display import references
from karte.web.list_params import MAX_PAGE
from karte.web.subtitles import with_refs

blueprint = Blueprint("duplicates", __name__)

GROUPS_PER_PAGE = 20


def _number(name: str, default: int, top: int) -> int:
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        abort(400)
    if not 0 <= value <= top:
        abort(400)
    return value


def rule_label(entity: Entity, rule: tuple[str, ...]) -> list[Any]:
    """The rule's fields (their labels are shown in the UI language)."""
    return [entity.fields[name].label for name in rule]


@blueprint.route("/<entity>/duplicates", methods=["GET"])
def index(entity: str):
    ent = entity_or_404(entity)
    signed_in_actor()
    rule = _number("rule", 0, len(ent.duplicates))
    page = _number("page", 1, MAX_PAGE) or 1
    try:
        found = records().duplicate_groups(ent.name, rule, GROUPS_PER_PAGE,
                                           (page - 1) * GROUPS_PER_PAGE, actor=actor())
    except InvalidQuery:
        abort(404)
    rows = [r for g in found["groups"] for r in g["records"]]
    refs = references(ent, rows, ent.subtitle)
    return render("duplicates.html", "_partials/duplicate_groups.html", entity=ent,
                  rules=[rule_label(ent, r) for r in found["rules"]], rule=rule, number=page,
                  groups=found["groups"], more=found["more"], refs=refs,
                  subtitles=with_refs(ent, rows, refs))
