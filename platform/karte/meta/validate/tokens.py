"""Values that steps write, checked against the fields they are written to: the `set` and
`create` steps of workflow `on_enter` actions (SPEC §4) and of record actions (§3.7).

Both read one record through their tokens — the moved record, or the record an action
runs on — so one checker serves both; a `Writer` says which record that is, which codes
its problems carry, and, inside an action's `lines.values`, which part `$line.<field>`
reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from karte.meta.model import SYSTEM_FIELDS, Entity, Field
from karte.meta.validate.context import Ctx, Tokens, unfit
from karte.problems import Problem, a_an, at, pointer

RECORD_FIELD = "$record."
LINE_FIELD = "$line."
NUMBERS = frozenset({"integer", "decimal", "money", "formula", "rollup"})
WIDER: Mapping[str, frozenset[str]] = {
    "decimal": NUMBERS, "money": NUMBERS, "percent": frozenset({"integer"}),
    "string": frozenset({"email", "phone", "url"}),
    "text": frozenset({"string", "email", "phone", "url"})}
"""Target type -> the other source types a `$record.<field>` copy fits (besides its own):
each one the target's normaliser accepts without losing what the source holds."""

WORKFLOW_CODES: Mapping[str, str] = {
    "no_field": "WF050", "unfit": "WF051", "record": "WF036", "value": "WF033",
    "set": "WF032", "entity": "WF034", "values": "WF035"}
"""Problem code per kind of mistake, for workflow files; record actions bring their own."""


@dataclass(frozen=True)
class Writer:
    """Where the checked values come from: the file, the record the tokens read
    (`entity`, named `name` even when it failed to build), and how to word and code it."""

    ctx: Ctx
    file: str
    name: str
    entity: Entity | None
    codes: Mapping[str, str]
    record_word: str = "the moved"          # '"$record" is the moved deal'
    line: Entity | None = None              # the part `$line.<field>` reads, in lines.values
    lines_known: bool = False               # `$line.` is a token here (record actions)

    def at(self, kind: str, message: str, *parts: Any) -> Problem:
        return at(self.file, pointer(*parts), message, self.codes[kind])


def action_tokens(entity: str) -> Tokens:
    return {"$today": lambda f: f.type in ("date", "datetime"),
            "$now": lambda f: f.type == "datetime",
            "$me": lambda f: f.type == "user", "$owner": lambda f: f.type == "user",
            "$record": lambda f: f.type == "link" and f.to == entity}


def copy_unfit(source: Field, target: Field) -> str | None:
    """Why the value of `source` cannot be copied into `target`; None when it can."""
    if source.type == "file" or target.type == "file":
        return "a file field is not copied"
    if source.type != target.type and source.type not in WIDER.get(target.type, ()):
        return f"{a_an(source.type)} value does not fit {a_an(target.type)} field"
    if source.to != target.to:
        return f"it points to {source.to}, this field to {target.to}"
    lost = [key for key in source.option_keys if key not in target.option_keys]
    if target.option_keys and lost:
        return f"this field has no option {', '.join(lost)}"
    return None


def _record_field(w: Writer, field: Field, name: str,
                  where: tuple[str | int, ...]) -> Iterator[Problem]:
    """`$record.<name>`: a field of the record the tokens read, whose values fit `field`."""
    entity = w.entity
    if entity is None or (name not in entity.fields and name in w.ctx.field_names(entity.name)):
        return                    # a stage field whose workflow file has problems of its own
    source = entity.lookup(name)
    if source is None:
        hop = f"; tokens read {w.record_word} record only (one hop)" if "." in name else ""
        yield w.at("no_field", f'"$record.{name}": '
                   f"{w.ctx.unknown_field(entity, name, SYSTEM_FIELDS)}{hop}", *where)
    elif reason := copy_unfit(source, field):
        yield w.at("unfit", _unfit(f"$record.{name}", entity, source, reason), *where)


def _unfit(token: str, owner: Entity, source: Field, reason: str) -> str:
    """'"$record.amount" is deal.amount, a money field: …' — why a token does not fit."""
    to = f" to {source.to}" if source.to else ""
    return (f'"{token}" is {owner.name}.{source.name}, {a_an(source.type)} field{to}: '
            f"{reason}")


def _line_field(w: Writer, field: Field, name: str,
                where: tuple[str | int, ...]) -> Iterator[Problem]:
    """`$line.<name>`: a field of the copied line, only inside `lines.values`."""
    part = w.line
    if part is None:
        yield w.at("line", f'"$line.{name}" reads a line being copied: use it only in '
                   '"lines": {"values": {…}}', *where)
        return
    source = part.lookup(name)
    if source is None:
        yield w.at("line", f'"$line.{name}": {w.ctx.unknown_field(part, name, SYSTEM_FIELDS)}',
                   *where)
    elif reason := copy_unfit(source, field):
        yield w.at("unfit", _unfit(f"$line.{name}", part, source, reason), *where)


def check_value(w: Writer, field: Field, value: Any,
                where: tuple[str | int, ...]) -> Iterator[Problem]:
    """One value (literal or token) written to `field`."""
    if isinstance(value, str) and value.startswith(RECORD_FIELD):
        yield from _record_field(w, field, value.removeprefix(RECORD_FIELD), where)
        return
    if w.lines_known and isinstance(value, str) and value.startswith(LINE_FIELD):
        yield from _line_field(w, field, value.removeprefix(LINE_FIELD), where)
        return
    reason = unfit(field, value, action_tokens(w.name), w.ctx.pack.country, days=True)
    if reason and value == "$record":
        yield w.at("record", f'"$record" is {w.record_word} {w.name}: it fits a '
                   f"link field to {w.name}, and this is {a_an(field.type)} "
                   f"field{' to ' + field.to if field.to else ''}", *where)
    elif reason:
        yield w.at("value", reason, *where)


def settable(field: Field) -> str | None:
    """Why a step may not write `field` (stage fields move, formulas compute)."""
    if field.workflow:
        return f'"{field.name}" is the stage field of workflow "{field.workflow}": it ' \
               "changes only through moves"
    if field.derived:
        return f'"{field.name}" is a {field.type}: it is computed on save'
    if field.type == "file":
        return f'"{field.name}" is a file field: files are attached by upload (a form, the ' \
               "card or the API), never written by a step"
    return None


def check_values(w: Writer, target: Entity, values: Mapping[str, Any], kind: str,
                 where: tuple[str | int, ...]) -> Iterator[Problem]:
    """Each value of a `set` or `create` step names a field it may write, and fits it."""
    for name, value in values.items():
        field = target.fields.get(name)
        reason = (settable(field) if field is not None
                  else None if name in w.ctx.field_names(target.name)
                  else w.ctx.unknown_field(target, name))
        if reason:
            yield w.at(kind, reason, *where, name)
        elif field is not None:
            yield from check_value(w, field, value, (*where, name))


def check_set(w: Writer, values: Mapping[str, Any],
              where: tuple[str | int, ...]) -> Iterator[Problem]:
    if w.entity is not None:
        yield from check_values(w, w.entity, values, "set", (*where, "set"))


def check_create(w: Writer, entity: str | None, values: Mapping[str, Any],
                 where: tuple[str | int, ...], given: tuple[str, ...] = ()) -> Iterator[Problem]:
    """A `create` step: a known entity, values that fit, every required field given
    (`given`: names filled otherwise, e.g. the lines field a copy fills)."""
    if entity not in w.ctx.entity_names:
        yield w.at("entity", w.ctx.unknown_entity(entity), *where, "create")
    target = w.ctx.pack.entities.get(entity or "")
    if target is None or target.part_of is not None:    # a part: DEF067 says it
        return
    yield from check_values(w, target, values, "values", (*where, "values"))
    missing = [n for n, f in target.fields.items() if f.required and f.default is None
               and f.series is None and not f.workflow and not f.derived and n not in values
               and n not in given]
    if missing:
        yield w.at("values", f"creating a {target.name} needs "
                   f"{', '.join(missing)} (required, without a default)", *where, "values")
