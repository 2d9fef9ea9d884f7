"""Validation messages in the UI language.

The records service speaks English (its messages also reach the CLI and logs). A page in
another language translates them here: a missing required field by its code, with the
field's label in that language, and the fixed sentences of the field-type table through
the message catalogue. A message the catalogue does not know stays as it is.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from karte.meta.model import Entity
from karte.problems import Problem
from karte.store.errors import NotFound, RecordError
from karte.store.records.unique import Clash
from karte.web.display import Refs, link_to

# The field-type table's fixed sentences (karte/fields.py), listed so the catalogue has them.
FIXED = (
    _l("Enter a number."), _l("Enter a whole number."), _l("Enter text."),
    _l("Enter a date as YYYY-MM-DD."), _l("Enter a date without a time (YYYY-MM-DD)."),
    _l("Enter a date and time as YYYY-MM-DDTHH:MM."),
    _l("Enter a web address starting with http:// or https://."),
    _l("Choose yes or no."), _l("Choose a record."), _l("Choose a record (an id number)."),
    _l("Choose a list of records."), _l("Choose a list of options."),
    _l("This number is too large."),
    _l("This value is computed and cannot be set."), _l("Attach files through the upload form."),
    _l("Remove the invisible NUL character from this text; it cannot be saved."),
    _l("This date is outside the calendar (years 1 to 9999)."),
)


def _noun(label: str) -> str:
    """A label inside a sentence: "email" in English, 電話番号 as it is."""
    return label.lower() if label.isascii() else label


def _listed(labels: list[str]) -> str:
    """"email", "product and warehouse", "code, region and year" in the UI language."""
    if len(labels) == 1:
        return labels[0]
    return _("%(first)s and %(last)s", first=_(", ").join(labels[:-1]), last=labels[-1])


def _clash(entity: Entity, problem: Clash) -> str:
    """A unique value (or combination) another record holds, that record linked when the
    user may read it."""
    from karte.web import text

    fields = [entity.fields[name] for name in problem.fields or (problem.where,)]
    said = {"thing": _noun(text(entity.label)),
            "field": _listed([_noun(text(f.label)) for f in fields])}
    if problem.record is None:
        return _("Another %(thing)s already has this %(field)s.", **said)
    held = link_to(problem.entity, problem.record,
                   Refs({problem.entity: {problem.record: problem.title}}))
    return Markup(_("Another %(thing)s already has this %(field)s: %(record)s.")) % {
        **said, "record": held}


def _message(entity: Entity, problem: Problem) -> str:
    from karte.web import text

    field = entity.fields.get(problem.where)
    if problem.code == "required" and field is not None:
        return _("%(field)s is required.", field=text(field.label))
    if isinstance(problem, Clash) and field is not None:
        return _clash(entity, problem)
    return _(problem.message)


def field_errors(error: RecordError, entity: Entity) -> dict[str, list[str]]:
    """Messages grouped by field ("" for the whole record), in the UI language."""
    grouped: dict[str, list[str]] = {}
    for problem in error.problems:
        grouped.setdefault(problem.where, []).append(_message(entity, problem))
    return grouped


def not_found(error: NotFound) -> str:
    """What a 404 for a record says, in the UI language and with the entity's label (the
    same words whether the record is missing, deleted or out of the user's reach)."""
    from karte.web import registry, text

    entity = registry().entities.get(error.entity)
    if entity is None or error.id is None:
        return _("There is no such page. Check the address, or start again from the "
                 "navigation.")
    return _("There is no %(thing)s #%(id)s (it may have been deleted).",
             thing=_noun(text(entity.label)), id=error.id)
