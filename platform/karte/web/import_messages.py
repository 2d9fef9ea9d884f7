"""An import's problems in the UI language (SPEC §14): the wizard's dry run and report.

The import engine speaks English (its messages also reach `karte import` and logs) and
gives each problem a code and the facts behind it (`details`). A page in another language
says it again here by code, with field labels instead of field names; a code this table
does not know goes through the catalogue as the engine wrote it (the records service's
own messages are there, see web/messages.py), else stays as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from karte.meta.model import Entity
from karte.web import registry, text
from karte.web.messages import noun

SAID = {
    "import.integer": _l("Cannot read “%(value)s” as a whole number: write it with digits "
                         "only, e.g. 1200 or 1,200."),
    "import.number": _l("Cannot read “%(value)s” as a number: write %(example)s."),
    "import.boolean": _l("Cannot read “%(value)s” as yes or no: write yes/no, true/false, "
                         "1/0 or はい/いいえ."),
    "import.date": _l("Cannot read “%(value)s” as a date: write %(example)s."),
    "import.datetime": _l("Cannot read “%(value)s” as a date and time: write %(example)s."),
    "import.enum": _l("“%(value)s” is not an option of %(field)s: write one of "
                      "%(allowed)s."),
    "import.multi_enum": _l("“%(value)s” is not an option of %(field)s: write options "
                            "separated by “;”, among %(allowed)s."),
    "import.email": _l("Cannot read “%(value)s” as an email address: %(reason)s"),
    "import.url": _l("Cannot read “%(value)s” as a web address: %(reason)s"),
    "import.not_importable": _l("The field %(field)s cannot be imported: leave this column "
                                "out."),
    "import.user": _l("There is no active user with the email “%(value)s”."),
    "import.ambiguous": _l("“%(value)s” matches %(count)s records: %(candidates)s. Write "
                           "the id of the one you mean."),
    "import.link": _l("No record matches “%(value)s”: write its id, a unique value or its "
                      "title."),
    "import.link.near": _l("No record matches “%(value)s” (did you mean %(suggestions)s?): "
                           "write its id, a unique value or its title."),
    "import.id": _l("There is no record with the id “%(value)s” to update. Leave the id "
                    "empty to create a new record."),
    "import.plan.twice": _l("The columns “%(other)s” and “%(column)s” both go to "
                            "%(field)s: ignore one of them."),
    "import.plan.field": _l("The column “%(column)s” goes to “%(name)s”, which cannot be "
                            "imported into: choose another field or ignore the column."),
    "import.plan.stage": _l("The column “%(column)s” sets the stage (%(field)s): allow "
                            "stage moves to apply it, or ignore the column."),
    "import.plan.forbidden": _l("Your role may not set %(field)s: ignore the column "
                                "“%(column)s”."),
    "import.plan.create": _l("Your role may not create these records: choose a key to "
                             "update existing ones."),
    "import.plan.key": _l("Existing records are found by the id or a unique field, which "
                          "must be chosen for a column: change the key or the columns."),
    "required": _l("%(field)s is required."),
}
"""Code → the sentence, with the facts of `details` (and `field`: the field's label)."""


@dataclass(frozen=True)
class Shown:
    line: int
    column: str | None
    value: Any
    message: str


def problem_rows(entity: Entity, problems: Iterable[Any]) -> list[Shown]:
    """Each problem as a table row: line, column, the value as in the file, message."""
    return [Shown(p.line, p.column, _value(p), message(entity, p)) for p in problems]


def _value(problem: Any) -> Any:
    value = getattr(problem, "value", None)
    return value if value is not None else (problem.details or {}).get("value")


def message(entity: Entity, problem: Any) -> str:
    """One problem in the UI language."""
    details = problem.details or {}
    code = "import.link.near" if problem.code == "import.link" and details.get(
        "suggestions") else problem.code
    template = SAID.get(code)
    if template is None:
        return _(problem.message)
    facts = {**details, "field": _label(entity, problem), "column": problem.column or "",
             "name": problem.field or ""}
    if "reason" in facts:
        facts["reason"] = _(str(facts["reason"]))
    try:
        return str(template) % _Facts(facts)
    except (TypeError, ValueError):
        return _(problem.message)


def _label(entity: Entity, problem: Any) -> str:
    """The problem's field as the user knows it: its label ("lines.child": the part's)."""
    name = str(problem.details.get("field") or problem.field or "") if problem.details \
        else str(problem.field or "")
    owner, _dot, child = name.partition(".")
    f = entity.fields.get(owner)
    part = registry().entities.get(f.of or "") if f is not None and child else None
    if part is not None:
        f = part.fields.get(child, f)
    return text(f.label) if f is not None else name


class _Facts(dict):
    """The details for a sentence: a fact the engine did not give reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""


def duplicate_rows(entity: Entity, duplicates: Iterable[Any]) -> list[dict[str, Any]]:
    """Each duplicate as the page says it: the line, the rule's fields as labels, the
    other lines of the file and the stored records it looks like."""
    rows = []
    for d in duplicates:
        fields = [noun(text(entity.fields[n].label)) if n in entity.fields else n
                  for n in d.rule]
        rows.append({"line": d.line, "fields": _(", ").join(fields), "lines": d.lines,
                     "records": d.records})
    return rows


def preview_rows(entity: Entity, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dry run's preview in the UI language: the engine writes option labels in the
    pack's language and booleans as yes/no; the page says them in the user's."""
    return [{name: _said(entity.fields.get(name), value) for name, value in row.items()}
            for row in rows]


def _said(f: Any, value: Any) -> Any:
    if f is None or not isinstance(value, str) or not value:
        return value
    if f.type == "boolean":
        return {"yes": _("Yes"), "no": _("No")}.get(value, value)
    if f.options:
        return "; ".join(_option_label(f, part) for part in value.split("; "))
    return value


def _option_label(f: Any, said: str) -> str:
    for option in f.options:
        if said == option.key or said in option.label.values.values():
            return text(option.label)
    return said


# The reader's fixed sentences (karte/transfer/read.py, read_text.py), listed so the
# catalogue has them; a sentence carrying the file's own details stays as the reader says it.
READ_ERRORS = (
    _l("The file is empty: export the sheet again with its header row and at least one row "
       "of data."),
    _l("This workbook is protected by a password (Excel stores such a file encrypted): "
       "remove the password in Excel and save it again, or save it as CSV."),
    _l("This file looks like an XLSX workbook but is damaged: open it in your spreadsheet "
       "and save it again."),
    _l("This is a ZIP file (or a Word / OpenDocument file), not an XLSX workbook: save the "
       "sheet as .xlsx or CSV."),
    _l("The workbook's first sheet is empty: its first row must name the columns, and the "
       "rows below hold the data."),
    _l("The file has no header row: its first row must name the columns."),
)


def read_error(error: Exception) -> str:
    """Why a file cannot be read, in the UI language when the catalogue has the sentence."""
    return _(str(error))
