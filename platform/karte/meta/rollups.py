"""Rollups (SPEC §3.6): a stored aggregate over a record's lines or over the records that
link to it, e.g. `{"type": "rollup", "of": "deal.customer", "agg": "sum", "field": "amount",
"where": {"field": "stage", "op": "=", "value": "won"}, "result": "money"}`.

`parse` checks a rollup against the Registry (DEF070–DEF078, plus the condition codes for
its `where`) and `cycles` refuses values that would depend on themselves across entities
(DEF079). Keeping the values current is the store's work (`karte.store.records.rollups`).
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from karte.meta import conditions
from karte.meta.conditions import Condition, Token, compares
from karte.meta.formulas import NUMBERS, _stored
from karte.meta.formulas.check import operand_kind
from karte.meta.formulas.functions import DATE, NUMBER
from karte.meta.model import Entity, Field, frozen_map
from karte.problems import Problem, a_an, at, did_you_mean, pointer

AGGREGATES = ("count", "sum", "min", "max", "avg")
KEYS = ("of", "agg", "field", "where")
NEEDS_NUMBER = frozenset({"sum", "avg"})


@dataclass(frozen=True)
class Rollup:
    """A checked rollup: `agg` of `field` (None for count) over the live `child` records
    whose `link` points at this record and for which `where` holds."""

    of: str                       # as written: a lines field, or "<entity>.<link field>"
    agg: str
    field: str | None
    where: Condition | None
    child: str
    link: str
    result: str

    @property
    def reads(self) -> frozenset[str]:
        """The child's fields whose change can change the value (the link aside)."""
        used = conditions.fields_used(self.where) if self.where is not None else frozenset()
        return used | ({self.field} if self.field else set())

    @property
    def empty(self) -> Any:
        """The value over no records: 0 for a count or a sum, else empty."""
        return 0 if self.agg in ("count", "sum") else None


def stored(value: Any, result: str) -> Any:
    """An aggregate as its `result` type stores it, as a formula's value is (rounded half-up
    to the column's places; too large for the column: empty)."""
    return _stored(value, result)


def source(entity: Entity, of: str,
           entities: Mapping[str, Entity]) -> tuple[str, str] | None:
    """(child entity, link field) that `of` aggregates: a `lines` field of `entity` (its part
    links back by a field named after `entity`, SPEC §3.5) or a reverse relation
    "<entity>.<link field>"; None when `of` has neither shape."""
    if "." in of:
        child, _, link = of.partition(".")
        return child, link
    field = entity.fields.get(of)
    part = getattr(field, "of", None)
    if field is None or field.type != "lines" or not isinstance(part, str):
        return None
    return part, entity.name


def starting(entity: Entity) -> dict[str, Any]:
    """Each rollup's value while nothing is aggregated (a new record)."""
    return {name: f.rollup.empty for name, f in entity.fields.items()
            if isinstance(f.rollup, Rollup)}


def of_entity(entity: Entity) -> Iterator[tuple[str, Rollup]]:
    """The entity's checked rollups, by field name."""
    for name, f in entity.fields.items():
        if isinstance(f.rollup, Rollup):
            yield name, f.rollup


def default_results(entities: Mapping[str, Entity]) -> dict[str, Entity]:
    """The entities with each rollup's `result` filled in when not given (integer for a
    count, date for min/max of a date, else decimal), before formulas are parsed: a
    formula using a rollup reads its kind from `result`."""
    return {name: replace(entity, fields=frozen_map(
        {n: _with_result(f, entity, entities) for n, f in entity.fields.items()}))
        for name, entity in entities.items()}


def _with_result(f: Field, entity: Entity, entities: Mapping[str, Entity]) -> Field:
    raw = f.rollup
    if f.type != "rollup" or f.result is not None or not isinstance(raw, Mapping):
        return f
    of = raw.get("of")
    found = source(entity, of, entities) if isinstance(of, str) else None
    child = entities.get(found[0]) if found else None
    aggregated = child.fields.get(raw.get("field", "")) if child else None
    date = aggregated is not None and operand_kind(aggregated) == DATE
    if raw.get("agg") == "count":
        return replace(f, result="integer")
    return replace(f, result="date" if date and raw.get("agg") in ("min", "max")
                   else "decimal")


class _Checker:
    def __init__(self, entity: Entity, name: str, entities: Mapping[str, Entity]):
        self.entity, self.name, self.entities = entity, name, entities
        self.problems: list[Problem] = []

    def problem(self, code: str, message: str, *parts: Any) -> None:
        self.problems.append(at(self.entity.source, pointer("fields", self.name, *parts),
                                message, code))

    def child(self, of: Any) -> tuple[Entity, Field] | None:
        if not isinstance(of, str) or not of:
            self.problem("DEF070", 'a rollup needs "of": a lines field of this entity, or '
                         'a relation "<entity>.<link field>" pointing here, e.g. '
                         '"deal.customer"')
            return None
        found = source(self.entity, of, self.entities)
        if found is None:
            lines = [n for n, f in self.entity.fields.items() if f.type == "lines"]
            self.problem("DEF071", f'"of": "{of}" is neither a lines field of '
                         f'{self.entity.name} nor "<entity>.<link field>"'
                         f"{did_you_mean(of, lines)}", "of")
            return None
        child_name, link_name = found
        child = self.entities.get(child_name)
        if child is None:
            self.problem("DEF071", f'"of": no entity "{child_name}"'
                         f"{did_you_mean(child_name, self.entities)}", "of")
            return None
        link = child.fields.get(link_name)
        if link is None:
            links = [n for n, f in child.fields.items() if f.type == "link"]
            self.problem("DEF071", f'"of": {child_name} has no field "{link_name}"'
                         f"{did_you_mean(link_name, links)}", "of")
            return None
        if link.type != "link" or link.to != self.entity.name:
            self.problem("DEF072", f'"of": {child_name}.{link_name} is not a link to '
                         f"{self.entity.name}, so it names no records of this one", "of")
            return None
        return child, link

    def aggregated(self, agg: str, field: Any, child: Entity) -> Field | None:
        if agg == "count":
            if field is not None:
                self.problem("DEF078", 'a count counts records: remove "field"', "field")
            return None
        if not isinstance(field, str):
            self.problem("DEF078", f'a {agg} needs "field": the field of {child.name} to '
                         "aggregate")
            return None
        found = child.fields.get(field)
        if found is None:
            self.problem("DEF073", f'"field": {child.name} has no field "{field}"'
                         f"{did_you_mean(field, child.fields)}", "field")
            return None
        kind = operand_kind(found)
        fits = kind == NUMBER or (kind == DATE and agg not in NEEDS_NUMBER)
        if not fits:
            wanted = "a number" if agg in NEEDS_NUMBER else "a number or a date"
            self.problem("DEF074", f'"field": {child.name}.{field} is {a_an(found.type)} '
                         f"field; {agg} needs {wanted}", "field")
            return None
        return found

    def result(self, agg: str, field: Field | None, given: str | None) -> str | None:
        """The result type: given, else integer for a count, a date for min/max of a date,
        else decimal; None (reported) when it does not fit."""
        date = field is not None and operand_kind(field) == DATE
        default = "integer" if agg == "count" else "date" if date else "decimal"
        result = given or default
        fits = result == "date" if date else result in NUMBERS
        if agg == "count":
            fits = result in ("integer", "decimal")
        if not fits:
            self.problem("DEF075", f'"result": "{result}" does not fit a {agg}'
                         f"{' of a date' if date else ''}; give \"result\": "
                         f'"{default}"', "result")
            return None
        return result

    def where(self, raw: Any, child: Entity) -> tuple[Condition | None, bool]:
        if raw is None:
            return None, True
        parsed, found = conditions.parse(raw, child, self.entities, self.entity.source,
                                         pointer("fields", self.name, "where"))
        self.problems += found
        if parsed is None:
            return None, False
        for compare in compares(parsed):
            if compare.ref.link is not None:
                self.problem("DEF076", f'"where" reads {compare.ref.path} on another record; '
                             "a rollup's condition reads the aggregated records' own fields "
                             "(a change over there would not update it)", "where")
            elif _has_token(compare.value):
                self.problem("DEF076", f'"where" compares {compare.ref.path} with a token '
                             "($today, $now, $me, days_from_today): a stored total must not "
                             "depend on the day or the user", "where")
        return parsed, not self.problems


def _has_token(value: Any) -> bool:
    if isinstance(value, tuple):
        return any(_has_token(item) for item in value)
    return isinstance(value, Token)


def parse(raw: Mapping[str, Any], result: str | None, entity: Entity, name: str,
          entities: Mapping[str, Entity]) -> tuple[Rollup | None, list[Problem]]:
    """The checked rollup of field `name`, or None with every problem found."""
    checker = _Checker(entity, name, entities)
    agg = raw.get("agg")
    if agg not in AGGREGATES:
        checker.problem("DEF070", f'a rollup needs "agg": one of {", ".join(AGGREGATES)}')
    found = checker.child(raw.get("of"))
    if found is None or agg not in AGGREGATES:
        return None, checker.problems
    child, link = found
    field = checker.aggregated(agg, raw.get("field"), child)
    kind = checker.result(agg, field, result)
    where, ok = checker.where(raw.get("where"), child)
    if checker.problems or kind is None or not ok or (agg != "count" and field is None):
        return None, checker.problems
    return Rollup(raw["of"], agg, field.name if field else None, where, child.name,
                  link.name, kind), []


# ------------------------------------------------------------------ cycles across entities

Node = tuple[str, str]      # (entity, field)


def _graph(entities: Mapping[str, Entity]) -> dict[Node, set[Node]]:
    """Each derived field and the fields its value is computed from."""
    graph: dict[Node, set[Node]] = {}
    for entity in entities.values():
        for name, f in entity.fields.items():
            if isinstance(f.rollup, Rollup):
                graph[(entity.name, name)] = {(f.rollup.child, n) for n in f.rollup.reads}
            elif f.type == "formula" and f.formula is not None:
                graph[(entity.name, name)] = {(entity.name, n)
                                              for n in getattr(f.formula, "fields", ())}
    return graph


def cycles(entities: Mapping[str, Entity]) -> list[Problem]:
    """A DEF079 problem naming the loop when rollups (with formulas) depend on themselves."""
    graph = _graph(entities)
    marked = {node for node in graph
              if isinstance(entities[node[0]].fields[node[1]].rollup, Rollup)}
    loop = _find_loop(graph, marked)
    if loop is None:
        return []
    first = next(node for node in loop if node in marked)
    words = " → ".join(f"{e}.{f}" for e, f in loop)
    return [at(entities[first[0]].source, pointer("fields", first[1], "of"),
               f"derived values depend on themselves in a circle: {words}; a rollup may not "
               "aggregate a value computed from itself", "DEF079")]


def _find_loop(graph: dict[Node, set[Node]], marked: set[Node]) -> list[Node] | None:
    graph = {node: set(uses) for node, uses in graph.items()}
    while True:
        try:
            graphlib.TopologicalSorter(graph).prepare()
            return None
        except graphlib.CycleError as error:
            loop: list[Node] = list(reversed(error.args[1]))
        if any(node in marked for node in loop):
            return loop
        graph[loop[0]].discard(loop[1])   # a loop of formulas only: FORM014 reports it
