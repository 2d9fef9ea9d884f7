"""Setting a field on the ticked rows of a list (issue 12): all or nothing, with a report.

The bulk bar offers the fields a choice can set — options (enum), users, yes/no — that
the user's role may write, minus derived values, a workflow's stage (stages change by
moves, with their rules) and a line's document. One `<select>` holds every choice as
`field=value` grouped by field, so the form works without JavaScript. The records service
writes every ticked record in one transaction (`Records.update_many`): if any is refused,
nothing is written and the page says which records and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, request
from flask_babel import gettext as _
from flask_babel import ngettext

from karte.meta.model import Entity, Field
from karte.problems import Problem
from karte.store.errors import InvalidQuery
from karte.store.lookup import titles
from karte.store.permissions import forbidden
from karte.web import actor, records, registry, signed_in_actor, text
from karte.web.field_access import fixed
from karte.web.list_params import _users
from karte.web.lists import _back, _ids, _readable, blueprint

SETTABLE = frozenset({"enum", "user", "boolean"})
EMPTY = "__empty__"


@dataclass(frozen=True)
class Choice:
    """One field of the "Set" select: its label and (value, label) options."""

    name: str
    label: str
    options: tuple[tuple[str, str], ...]


def settable(entity: Entity) -> list[Field]:
    stages = {w.field for w in registry().workflows_of(entity.name)}
    gone = fixed(entity)
    return [f for f in entity.fields.values()
            if f.type in SETTABLE and not f.derived and not f.read_only
            and f.name not in stages and f.name not in gone and f.name != entity.part_of]


def choices(entity: Entity) -> list[Choice]:
    """What the bulk bar may set, each option's value `field=value`."""
    found = []
    for field in settable(entity):
        if field.type == "enum":
            options = [(o.key, text(o.label)) for o in field.options]
        elif field.type == "boolean":
            options = [("1", _("Yes")), ("0", _("No"))]
        else:
            options = _users()
        if not field.required:
            options.append((EMPTY, _("(empty)")))
        label = text(field.label)
        found.append(Choice(field.name, label, tuple(
            (f"{field.name}={value}", f"{label}: {shown}") for value, shown in options)))
    return found


def _chosen(entity: Entity, raw: str) -> tuple[Field, object]:
    name, _eq, value = raw.partition("=")
    field = next((f for f in settable(entity) if f.name == name), None)
    if field is None or not _eq:
        raise InvalidQuery([Problem("set", _("Choose a field and a value to set."), "set")])
    if value == EMPTY:
        return field, None
    if field.type == "boolean":
        return field, value == "1"
    return field, value


@blueprint.post("/<entity>/bulk-set")
def bulk_set(entity: str):
    """Set one field on every ticked record, or on none: back to the list as it was (303)
    with what was done, or which records were refused and why."""
    ent, allowed = _readable(entity)
    if not allowed.update:
        raise forbidden(ent, signed_in_actor(), "update")
    back = _back(ent, request.form.get("back", ""))
    ids = _ids(request.form.getlist("ids"))
    if not ids:
        flash(_("Select at least one record to change."))
        return redirect(back, 303)
    try:
        field, value = _chosen(ent, request.form.get("set", ""))
    except InvalidQuery as error:
        flash(error.problems[0].message)
        return redirect(back, 303)
    refused = records().update_many(ent.name, ids, {field.name: value}, actor=actor())
    for message in _report(ent, field, ids, refused):
        flash(message)
    return redirect(back, 303)


def _report(entity: Entity, field: Field, ids: list[int],
            refused: dict[int, list[Problem]]) -> list[str]:
    label = text(field.label)
    if not refused:
        return [ngettext("Set %(field)s on %(num)d record.",
                         "Set %(field)s on %(num)d records.", len(ids), field=label)]
    names = titles(records().store, entity.name, list(refused), actor())
    lines = [ngettext("Nothing was changed: %(num)d record cannot take this %(field)s:",
                      "Nothing was changed: %(num)d records cannot take this %(field)s:",
                      len(refused), field=label)]
    for id, problems in refused.items():
        who = f"“{names[id]}” (#{id})" if names.get(id) else f"#{id}"
        for problem in problems:
            message = (_("not found, or not yours to read") if problem.code == "not_found"
                       else problem.message)
            lines.append(f"{who}: {message}")
    return lines
