"""The import wizard's mapping form: which field each column of the file goes to.

The form names a column by its position (`map.0`, `map.1`, …: a header may be any text),
and carries the key field for updates (`key`), `allow_moves` and the date order
(`day_first`). The same names travel, as hidden inputs, into the dry run and the run, and
back to the mapping page (`?kept=1&map.0=…`), so a choice is never lost. A posted choice
that is not an importable field for this user comes back marked, with the others kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from karte.meta.model import Entity, Field
from karte.store import field_rights
from karte.store.actor import Actor
from karte.store.permissions import rights
from karte.transfer import imports as engine
from karte.transfer.mapping import targets
from karte.transfer.values import Reading
from karte.web import records, registry, text

ID = "id"


@dataclass(frozen=True)
class Target:
    value: str          # what the mapping says: a field name, "id" or "lines.child"
    label: str
    stage: bool = False
    unique: bool = False


@dataclass(frozen=True)
class Choices:
    targets: list[Target]
    can_move: bool              # the user may update records, so moves may be allowed

    def get(self, value: str) -> Target | None:
        return next((t for t in self.targets if t.value == value), None)


def choices(entity: Entity, actor: Actor | None) -> Choices:
    """What this user may map a column to, as the import engine accepts it: `id` first,
    the importable fields (stage fields too: moves), then each line field as
    "lines_field.child"; none that the user's role may not write."""
    store, pack = records().store, registry()
    listed = targets(entity, pack, read_only=True)
    listed += [(f.name, f) for f in entity.fields.values()
               if f.workflow and all(n != f.name for n, _f in listed)]
    found = []
    for value, f in listed:
        head, _dot, child = value.partition(".")
        owner = pack.entities[entity.fields[head].of or ""] if child else entity
        if f.name in field_rights.hidden(store, owner, actor) | \
                field_rights.read_only(store, owner, actor):
            continue
        found.append(_target(entity, value, f))
    return Choices(found, bool(rights(store, entity, actor).update))


def _target(entity: Entity, value: str, f: Field) -> Target:
    if value == ID:
        return Target(ID, _("ID (to update records)"), unique=True)
    head, _dot, child = value.partition(".")
    if child:
        return Target(value, f"{text(entity.fields[head].label)} › {text(f.label)}")
    return Target(value, text(f.label), f.workflow is not None,
                  f.unique or f.series is not None)


@dataclass
class MappingForm:
    entity: Entity
    choices: Choices
    columns: list[str]
    chosen: list[str]                       # per column: a target's value, "" ignored
    key: str = ""
    allow_moves: bool = False
    day_first: bool = False
    errors: dict[str, str] = field(default_factory=dict)   # "map.3" / "key" → message

    def name(self, index: int) -> str:
        return f"map.{index}"

    def mapping(self) -> dict[str, str | None]:
        return {c: (v or None) for c, v in zip(self.columns, self.chosen, strict=True)}

    def has_stage(self) -> bool:
        return any((t := self.choices.get(v)) is not None and t.stage for v in self.chosen)

    def offers_moves(self) -> bool:
        return self.choices.can_move and self.has_stage()

    def key_options(self) -> list[Target]:
        """The fields an update can find records by: the id and each unique field (the
        chosen one must also be mapped to a column)."""
        return [t for t in self.choices.targets if t.unique and "." not in t.value]

    def offers_stage(self) -> bool:
        """Whether to show "allow moves": the user may move, and some field is a stage
        (shown before a stage column is chosen: without JavaScript the page cannot
        change as the selects do)."""
        return self.choices.can_move and any(t.stage for t in self.choices.targets)

    def plan(self, entity: str, encoding: str | None) -> engine.Plan:
        return engine.Plan(entity=entity, mapping=self.mapping(), key=self.key or None,
                           allow_moves=self.allow_moves and self.offers_moves(),
                           encoding=encoding, day_first=self.day_first)

    def mapped_labels(self) -> list[tuple[str, str]]:
        """(field, label) of each mapped column, in the file's order."""
        found = [self.choices.get(v) for v in self.chosen if v]
        return [(t.value, t.label) for t in found if t is not None]

    def hidden(self) -> list[tuple[str, str]]:
        """The form as hidden inputs, for the next step's form."""
        pairs = [(self.name(i), v) for i, v in enumerate(self.chosen)]
        pairs += [("key", self.key), ("day_first", "1" if self.day_first else "")]
        if self.allow_moves:
            pairs.append(("allow_moves", "1"))
        return pairs

    def args(self) -> dict[str, str]:
        """The form as query arguments of the mapping page (`kept=1`: take them)."""
        return {"kept": "1", **dict(self.hidden())}


def prefilled(entity: Entity, targets: Choices, columns: list[str],
              matched: Mapping[str, str | None]) -> MappingForm:
    """The form as the automatic matching (and the remembered mapping) fills it; dates
    in the order the pack's locale writes them."""
    chosen = [v if (v := matched.get(c)) and targets.get(v) else "" for c in columns]
    return MappingForm(entity, targets, list(columns), chosen,
                       day_first=Reading.of(registry()).day_first)


def posted(entity: Entity, targets: Choices, columns: list[str],
           form: Mapping[str, Any]) -> MappingForm:
    """The form as posted, each wrong choice marked (an unknown field, a field chosen for
    two columns, a key that is not a mapped unique field)."""
    chosen = [str(form.get(f"map.{i}", "") or "") for i in range(len(columns))]
    made = MappingForm(entity, targets, list(columns), chosen,
                       key=str(form.get("key", "") or ""),
                       allow_moves=form.get("allow_moves") == "1",
                       day_first=form.get("day_first") == "1")
    seen: dict[str, int] = {}
    for i, value in enumerate(chosen):
        if not value:
            continue
        if targets.get(value) is None:
            made.errors[made.name(i)] = _(
                "There is no field “%(name)s” you can import into. Choose another field "
                "or ignore this column.", name=value)
        elif value in seen:
            made.errors[made.name(i)] = _(
                "Column “%(other)s” already goes to this field. Choose another field or "
                "ignore one of the two columns.", other=columns[seen[value]])
        else:
            seen[value] = i
    if made.key and (made.key not in {t.value for t in made.key_options()}
                     or made.key not in chosen):
        made.errors["key"] = _("Update by a field that is unique and mapped to a column, "
                               "or choose “only create new records”.")
    return made
