"""Validation messages in the UI language.

The records service speaks English (its messages also reach the CLI and logs). A page in
another language translates them here: a missing required field by its code, with the
field's label in that language, and the fixed sentences of the field-type table through
the message catalogue. A message the catalogue does not know stays as it is.

A bad query parameter of a list, board or export (a value the condition language refuses, a
sort the records service refuses) is said again the same way, from the facts the problem
carries (`karte.problems.Detailed`), with labels for field and entity names and the
parameter itself kept in front, so the user can find it in the address.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from karte.meta.conditions import RECORD_ID
from karte.meta.model import Entity, Field
from karte.problems import Detailed, Problem, closest
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
    _l("Attach files through the upload form or the files endpoint."),
    _l("This field holds one file; attach a single file."),
    _l("The same file is attached twice."),
    _l("Remove the invisible NUL character from this text; it cannot be saved."),
    _l("This date is outside the calendar (years 1 to 9999)."),
    _l("Use at most 2048 characters."),
    _l("Use at most %(limit)d characters (this has %(count)d)."),
    _l("This number is too large (%(digits)d digits at most before the decimal point)."),
    _l("Not a valid email address: %(reason)s"),
    _l(RECORD_ID),
)
SHOWN = 60
"""A value longer than this is cut when a message repeats it."""


def noun(label: str) -> str:
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
    said = {"thing": noun(text(entity.label)),
            "field": _listed([noun(text(f.label)) for f in fields])}
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
             thing=noun(text(entity.label)), id=error.id)


# ---------------------------------------------------------------- query parameters

def hint(name: str, candidates: Iterable[str]) -> str:
    """` (did you mean "x"?)` in the UI language when a candidate is close, else ``."""
    close = closest(name, candidates)
    return _(' (did you mean "%(name)s"?)', name=close) if close else ""


def _shown(value: Any) -> str:
    said = str(value)
    return said if len(said) <= SHOWN else said[:SHOWN - 3] + "..."


def _reason(details: dict[str, Any]) -> str:
    values = details.get("reason_values") or {}
    return _(str(details["reason"]), **values)


def _option(field: Field | None, key: str) -> str:
    """An option as typed in the address, with its label when that says more."""
    from karte.web import text

    option = field.option(key) if field is not None else None
    label = text(option.label) if option is not None else ""
    if not label or noun(label) == key.lower():
        return key
    return _("%(key)s (%(label)s)", key=key, label=label)


def query_message(entity: Entity, problem: Problem, field: Field | None = None) -> str:
    """What is wrong with one query parameter, in the UI language (the parameter is not
    part of it). A problem without details, or with a code not known here, is looked up
    in the catalogue as it is."""
    from karte.web import text

    if not isinstance(problem, Detailed):
        return _(problem.message)
    said = dict(problem.details)
    field = field or entity.lookup(str(said.get("field", "")))
    label = noun(text(field.label)) if field is not None else str(said.get("field", ""))
    value = _shown(said.get("value", ""))
    if problem.code == "sort":
        name = str(said["name"])
        return _('%(thing)s cannot be sorted by "%(name)s"%(hint)s.',
                 thing=noun(text(entity.label)), name=_shown(name),
                 hint=hint(name, said["choices"]))
    if problem.code == "COND007" and "reason" in said:
        return _('"%(value)s" does not fit %(field)s: %(reason)s', value=value, field=label,
                 reason=_reason(said))
    if problem.code == "COND008":
        return _('"%(value)s" is not an option of %(field)s%(hint)s; options: %(allowed)s.',
                 value=value, field=label, hint=hint(str(said["value"]), said["choices"]),
                 allowed=", ".join(_option(field, key) for key in said["choices"]))
    if problem.code == "COND012" and "types" in said:
        return _('"%(value)s" cannot be used with %(field)s; it fits only %(types)s fields.',
                 value=value, field=label, types=", ".join(said["types"]))
    if problem.code == "COND012" and "choices" in said:
        return _('"%(value)s" is not a known token%(hint)s; tokens: %(allowed)s.',
                 value=value, hint=hint(str(said["value"]), said["choices"]),
                 allowed=", ".join(said["choices"]))
    return _(problem.message)


def query_problems(entity: Entity, problems: Iterable[Problem]) -> list[Problem]:
    """The records service's problems with a query (a sort it cannot do), said again in
    the UI language after their parameter; the web layer's own (plain `Problem`s, already
    in the UI language) as they are."""
    return [Problem(p.where, f"{p.where}: {query_message(entity, p)}", p.code)
            if isinstance(p, Detailed) else p for p in problems]
