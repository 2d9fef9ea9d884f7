"""Validation messages in the UI language.

The records service speaks English (its messages also reach the CLI and logs). A page in
another language translates them here: a missing required field by its code, with the
field's label in that language, and the fixed sentences of the field-type table through
the message catalogue. A message the catalogue does not know stays as it is.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from karte.meta.model import Entity
from karte.store.errors import RecordError

# The field-type table's fixed sentences (karte/fields.py), listed so the catalogue has them.
FIXED = (
    _l("Enter a number."), _l("Enter a whole number."), _l("Enter text."),
    _l("Enter a date as YYYY-MM-DD."), _l("Enter a date without a time (YYYY-MM-DD)."),
    _l("Enter a date and time as YYYY-MM-DDTHH:MM."),
    _l("Enter a web address starting with http:// or https://."),
    _l("Choose yes or no."), _l("Choose a record."), _l("Choose a record (an id number)."),
    _l("Choose a list of records."), _l("Choose a list of options."),
    _l("This number is too large."), _l("This phone number has the wrong number of digits."),
    _l("This value is computed and cannot be set."), _l("Attach files through the upload form."),
    _l("Remove the invisible NUL character from this text; it cannot be saved."),
    _l("This date is outside the calendar (years 1 to 9999)."),
)


def _message(entity: Entity, where: str, code: str, message: str) -> str:
    from karte.web import text

    field = entity.fields.get(where)
    if code == "required" and field is not None:
        return _("%(field)s is required.", field=text(field.label))
    return _(message)


def field_errors(error: RecordError, entity: Entity) -> dict[str, list[str]]:
    """Messages grouped by field ("" for the whole record), in the UI language."""
    grouped: dict[str, list[str]] = {}
    for problem in error.problems:
        grouped.setdefault(problem.where, []).append(
            _message(entity, problem.where, problem.code, problem.message))
    return grouped
