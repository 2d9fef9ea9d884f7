"""Changing a demo record so that a condition (SPEC §5) holds — or does not.

A stage's `rules` must hold for a record to sit in that stage. Rather than drawing records
until one happens to pass, the demo asks for values that make each comparison come out as
wanted: `amount > 0` gets a positive amount within the field's own limits, `kind in [...]`
one of the listed keys, `customer.segment = "enterprise"` a customer that is one. `all`,
`any` and `not` are walked down to their comparisons. The caller judges the record again
afterwards with the engine's own evaluator: this module only proposes values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from faker import Faker

from karte.fields import is_empty
from karte.meta.conditions import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Context,
    Not,
    Overdue,
    Reached,
    evaluate,
)
from karte.meta.conditions.model import resolve
from karte.meta.model import Entity, Field

from .values import NoValue, Values

NEGATED = {"=": "!=", "!=": "=", ">": "<=", ">=": "<", "<": ">=", "<=": ">", "in": "not_in",
           "not_in": "in", "empty": "not_empty", "not_empty": "empty",
           "contains": "not_contains", "not_contains": "contains",
           "starts_with": "not_starts_with", "not_starts_with": "starts_with"}
RANGES = {">": (True, None), ">=": (False, None), "<": (None, True), "<=": (None, False)}
HOP_TRIES = 30
Fetch = Callable[[str, int], Mapping[str, Any] | None]


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()
"""No value proposed: the field stays as it is."""


@dataclass
class Change:
    """One record being changed, and what may be changed in it."""

    entity: Entity
    record: dict[str, Any]
    fake: Faker
    may_set: Callable[[str], bool]       # the field may get another value
    may_clear: Callable[[str], bool]     # the field may be left empty
    set_link: Callable[[Field, int], None]


class Satisfier:
    """Proposes values that make conditions come out as wanted."""

    def __init__(self, values: Values, ctx: Context, fetch: Fetch):
        self.values, self.ctx, self.fetch = values, ctx, fetch

    def make(self, cond: Condition, change: Change, want: bool = True) -> None:
        if isinstance(cond, Not):
            self.make(cond.item, change, not want)
        elif isinstance(cond, AllOf | AnyOf):
            # all true / any false: every item; all false / any true: one of them
            every = isinstance(cond, AllOf) == want
            items = cond.items if every or not cond.items else \
                (self.values.rng.choice(cond.items),)
            for item in items:
                self.make(item, change, want)
        elif isinstance(cond, Overdue | Reached):
            return     # time in a stage: nothing a value can make (lists only)
        elif cond.ref.link is not None:
            self._hop(cond, change, want)
        else:
            self._compare(cond, change, cond.op if want else NEGATED[cond.op])

    def _hop(self, cond: Compare, change: Change, want: bool) -> None:
        """`link.field` compared: pick a linked record for which it comes out right."""
        if cond.ref.link is None:
            return
        link = change.entity.fields[cond.ref.link]
        targets = self.values.ids.get(link.to_entity) or []
        if not change.may_set(link.name) or not targets:
            return
        for _ in range(HOP_TRIES):
            candidate = self.values.rng.choice(targets)
            trial = {**change.record, link.name: candidate}
            if evaluate(cond, trial, self.ctx, self.fetch) == want:
                change.set_link(link, candidate)
                return

    def _compare(self, cond: Compare, change: Change, op: str) -> None:
        field = cond.ref.field
        if not change.may_set(field.name):
            return
        current = change.record.get(field.name)
        expected = resolve(cond.value, field, self.ctx)
        value = self._value(field, op, expected, current, change)
        if value is not KEEP:
            change.record[field.name] = value

    def _value(self, field: Field, op: str, expected: Any, current: Any,
               change: Change) -> Any:
        if op == "empty":
            return None if change.may_clear(field.name) else KEEP
        if op == "not_empty":
            return self._fresh(field, change) if is_empty(current) else KEEP
        if op == "=":
            return self._valid(field, expected)
        if op == "in":
            return self._valid(field, self.values.rng.choice(expected) if expected else None)
        if op in RANGES:
            return self._range(field, op, expected)
        if op in ("contains", "starts_with"):
            return self._containing(field, op, expected, current, change)
        return self._avoiding(field, op, expected, current, change)

    def _valid(self, field: Field, value: Any) -> Any:
        stored = self.values.stored(field, value)
        return KEEP if stored is None else stored

    def _fresh(self, field: Field, change: Change) -> Any:
        try:
            return self.values.value(change.entity, field, change.fake, need=True)
        except NoValue:
            return KEEP

    def _range(self, field: Field, op: str, expected: Any) -> Any:
        """A number or date on the right side of `expected`, within the field's limits."""
        if expected is None:
            return KEEP
        above, below = RANGES[op]
        strict = (bool(above), bool(below))
        low, high = (expected, None) if above is not None else (None, expected)
        value: Any
        if field.type == "date":
            value = self.values.date(field, low, high, strict)
        elif field.type == "datetime":
            value = expected + dt.timedelta(hours=self.values.rng.randint(1, 240)
                                            * (1 if above is not None else -1))
        else:
            value = self.values.number(field, low, high, strict) \
                if not field.derived else None
        return KEEP if value is None else value

    def _containing(self, field: Field, op: str, expected: Any, current: Any,
                    change: Change) -> Any:
        if field.type == "links":
            return sorted({*(current or []), expected})
        if field.type == "multi_enum":
            return [key for key in field.option_keys if key in (*(current or []), expected)]
        filler = self._fresh(field, change)
        filler = "" if filler is KEEP else str(filler)
        text = f"{expected} {filler}" if op == "starts_with" else f"{filler} {expected}"
        stored = self.values.stored(field, text.strip())
        return stored if stored is not None else self._valid(field, expected)

    def _avoiding(self, field: Field, op: str, expected: Any, current: Any,
                  change: Change) -> Any:
        """!=, not_in, not contains, not starts with: a value that is not it. An empty
        field meets the first two and fails the others' positive forms, so when the
        current value does not do, empty is the simplest answer."""
        if field.type in ("multi_enum", "links"):
            kept = [item for item in current or [] if item != expected]
            return kept if kept or change.may_clear(field.name) else KEEP
        if not is_empty(current) and not _matches(op, current, expected):
            return KEEP
        if change.may_clear(field.name):
            return None
        for _ in range(5):
            value = self._fresh(field, change)
            if value is not KEEP and not _matches(op, value, expected):
                return value
        return KEEP


def _matches(op: str, value: Any, expected: Any) -> bool:
    """Whether `value` still meets the positive form of a negated operator."""
    if op == "!=":
        return value == expected
    if op == "not_in":
        return value in expected
    text, part = str(value).lower(), str(expected).lower()
    return part in text if op == "not_contains" else text.startswith(part)

