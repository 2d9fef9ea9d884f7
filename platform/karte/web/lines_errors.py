"""Problems of lines in the UI language (SPEC §3.5): the records service names them
`lines[3].quantity` (a cell) or `lines[3]` (a whole line), N counted from 1 as the grid
numbers its rows; too few or too many lines is a problem on the `lines` field with its facts.
The form puts them in their cells and lists them as "Line 3: …"; history and the timeline
name a line's change "Line 3 · Quantity"."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from karte.meta.model import Entity, Field
from karte.problems import Problem
from karte.store.errors import RecordError, ValidationFailed
from karte.web import text
from karte.web.lines_values import part_of
from karte.web.messages import field_errors

NAMED = re.compile(r"^(?P<field>\w+)\[(?P<number>\d+)\](?:\.(?P<cell>\w+))?$")
"""`lines[3].quantity` (a cell), or `lines[3]` (the whole line)."""


def errors_of(error: RecordError, entity: Entity) -> dict[str, list[str]]:
    """`field_errors`, with each line's problems said with the part's labels (in the UI
    language) and kept under their `lines[N].cell` names."""
    counted = [p for p in error.problems if p.code in COUNTS]
    plain = [p for p in error.problems if not NAMED.match(p.where) and p not in counted]
    grouped = field_errors(ValidationFailed(plain), entity) if plain else {}
    for p in counted:
        grouped.setdefault(p.where, []).append(_count_message(entity, p))
    for p in error.problems:
        m = NAMED.match(p.where)
        f = entity.fields.get(m["field"]) if m else None
        if m is None:
            continue
        if f is None or f.type != "lines" or m["cell"] is None:
            grouped.setdefault(p.where, []).append(_(p.message))
            continue
        said = field_errors(ValidationFailed([Problem(m["cell"], p.message, p.code)]),
                            part_of(f))
        grouped.setdefault(p.where, []).extend(said.get(m["cell"], []))
    return grouped


COUNTS = ("lines_min", "lines_max")


def _count_message(entity: Entity, problem: Problem) -> str:
    """Too few or too many lines, in the UI language (from the problem's facts)."""
    facts = getattr(problem, "details", None) or {}
    if "limit" not in facts:
        return _(problem.message)
    said = {"thing": text(entity.label), "count": facts.get("count", 0)}
    if problem.code == "lines_min":
        return ngettext("A %(thing)s needs at least %(num)d line (it has %(count)d).",
                        "A %(thing)s needs at least %(num)d lines (it has %(count)d).",
                        int(facts["limit"]), **said)
    return ngettext("A %(thing)s has at most %(num)d line (this one has %(count)d).",
                    "A %(thing)s has at most %(num)d lines (this one has %(count)d).",
                    int(facts["limit"]), **said)


def summary(entity: Entity, errors: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """"Line 3: Quantity is required." for the form's summary of problems."""
    found: list[tuple[str, str]] = []
    for where, messages in errors.items():
        m = NAMED.match(where)
        f = entity.fields.get(m["field"]) if m else None
        if m is None or f is None or f.type != "lines":
            continue
        line = _("Line %(number)s", number=m["number"])
        where_said = line if len(_lines_fields(entity)) == 1 else f"{text(f.label)} · {line}"
        found.extend((where_said, message) for message in messages)
    return found


MERGES = {"merged_from": _l("Merged from record"),     # a merge's audit rows (docs/merge.md)
          "merged_into": _l("Merged into record")}


def change_label(entity: Entity, name: str) -> str:
    """How history and the timeline name a line's change: `lines[3].quantity` →
    "Line 3 · Quantity", `lines[3]` → "Line 3"; any other name as it is."""
    m = NAMED.match(name)
    f = entity.fields.get(m["field"]) if m else None
    if m is None or f is None or f.type != "lines":
        return str(MERGES.get(name, name))
    said = _("Line %(number)s", number=m["number"])
    if len(_lines_fields(entity)) > 1:
        said = f"{text(f.label)} · {said}"
    cell = part_of(f).fields.get(m["cell"] or "")
    return f"{said} · {text(cell.label)}" if cell is not None else said


def _lines_fields(entity: Entity) -> list[Field]:
    return [f for f in entity.fields.values() if f.type == "lines"]


def is_line_error(name: str) -> bool:
    return NAMED.match(name) is not None
