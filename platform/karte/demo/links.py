"""Links of demo records that agree with each other.

The rule, for any pack: when entity A links to B and to C, and B links to C, then A's C
is B's C — a shipment's customer is its order's customer, a deal's contact works at the
deal's customer. It is applied where it is unambiguous: A has one link field to C and B
has one link field to C.

A record's links are chosen one field at a time, required ones first, then those whose
target carries the most of A's other links (a deal before its customer): choosing one
sets the links it implies ("bridges") at once, and narrows the choice of the next ones to
the records that agree with the links already chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from karte.meta.model import Entity, Field, Pack

Pick = Callable[[Field, Sequence[int] | None], int | None]
"""pick(field, among) -> a target id, from `among` when it is not None (or None)."""


@dataclass(frozen=True)
class Bridge:
    """A's `field` (to B) implies A's `implied` (to C) through B's `through` (to C)."""

    field: str
    to: str
    through: str
    implied: str

    @property
    def key(self) -> tuple[str, str]:
        """(B, B's field): the link values to remember."""
        return (self.to, self.through)


def _single_links(entity: Entity) -> dict[str, Field]:
    """Link fields by target entity, for targets this entity links to exactly once."""
    by_target: dict[str, list[Field]] = {}
    for field in entity.links():
        by_target.setdefault(field.to_entity, []).append(field)
    return {target: fields[0] for target, fields in by_target.items() if len(fields) == 1}


class Links:
    """Which links imply which, and the link values of the records created so far."""

    def __init__(self, pack: Pack):
        self.pack = pack
        self.bridges: dict[str, dict[str, list[Bridge]]] = {
            name: self._bridges(entity) for name, entity in pack.entities.items()}
        self.known: dict[tuple[str, str], dict[int, int]] = {}
        self.holders: dict[tuple[str, str], dict[int, list[int]]] = {}
        for bridges in self.bridges.values():
            for field_bridges in bridges.values():
                for bridge in field_bridges:
                    self.known.setdefault(bridge.key, {})
                    self.holders.setdefault(bridge.key, {})
        self.orders = {name: self._order(entity) for name, entity in pack.entities.items()}

    def _bridges(self, entity: Entity) -> dict[str, list[Bridge]]:
        mine = _single_links(entity)
        found: dict[str, list[Bridge]] = {}
        for field in mine.values():
            target = self.pack.entities.get(field.to_entity)
            if target is None or field.to_entity == entity.name:
                continue
            theirs = _single_links(target)
            found[field.name] = [Bridge(field.name, field.to_entity, theirs[c].name, mine[c].name)
                                 for c in mine if c in theirs and c != field.to]
        return found

    def _order(self, entity: Entity) -> list[Field]:
        """Link fields in the order they are chosen: required ones first, then those
        implying the most others."""
        bridges = self.bridges[entity.name]
        return sorted(entity.links(),
                      key=lambda f: (not f.required, -len(bridges.get(f.name, ()))))

    def remember(self, entity: str, ids: Sequence[int],
                 rows: Sequence[Mapping[str, Any]]) -> None:
        """Keep the link values other records' choices depend on."""
        for (holder, name), values in self.known.items():
            if holder != entity:
                continue
            by_value = self.holders[(holder, name)]
            for id, row in zip(ids, rows, strict=True):
                value = row.get(name)
                if value is not None:
                    values[id] = value
                    by_value.setdefault(value, []).append(id)

    def among(self, entity: Entity, field: Field,
              record: Mapping[str, Any]) -> Sequence[int] | None:
        """The targets of `field` that agree with the links already in `record` (None:
        no link constrains it)."""
        lists = [self.holders[b.key].get(record[b.implied], [])
                 for b in self.bridges[entity.name].get(field.name, ())
                 if record.get(b.implied) is not None]
        if not lists:
            return None
        if len(lists) == 1:
            return lists[0]
        shortest, *others = sorted(lists, key=len)
        sets = [set(other) for other in others]
        return [id for id in shortest if all(id in s for s in sets)]

    def assign(self, entity: Entity, record: dict[str, Any], field: Field,
               value: int | None) -> None:
        """Set a link and the links it implies that are not chosen yet."""
        record[field.name] = value
        if value is None:
            return
        for bridge in self.bridges[entity.name].get(field.name, ()):
            implied = self.known[bridge.key].get(value)
            if implied is not None and record.get(bridge.implied) is None:
                self.assign(entity, record, entity.fields[bridge.implied], implied)

    def choose(self, entity: Entity, record: dict[str, Any], wanted: Callable[[Field], bool],
               pick: Pick) -> None:
        """Fill the link fields `wanted` says to fill, in agreement with each other."""
        for field in self.orders[entity.name]:
            if record.get(field.name) is not None or not wanted(field):
                continue
            among = self.among(entity, field, record)
            if among is not None and not among and field.required:
                among = None     # nothing agrees: a valid record beats a consistent one
            self.assign(entity, record, field, pick(field, among))
