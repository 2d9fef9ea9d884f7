"""Matching a file's columns to an entity's fields (SPEC §14: "matched automatically by
field name and by label in every locale; remembered per entity")."""

from __future__ import annotations

from collections.abc import Mapping

from karte.meta.model import Entity, Field, Pack
from karte.transfer.cells import folded
from karte.transfer.values import importable

ID = "id"


def targets(entity: Entity, pack: Pack | None = None, *, read_only: bool = True
            ) -> list[tuple[str, Field]]:
    """What a column may be mapped to: "id", the importable fields, then for each `lines`
    field of the entity (when `pack` is given to find its part) "lines_field.child" for
    each importable field of the part."""
    found: list[tuple[str, Field]] = [(ID, entity.lookup(ID))]  # type: ignore[list-item]
    found += [(f.name, f) for f in importable(entity, read_only=read_only)]
    for lines in entity.lines_fields():
        part = pack.entities.get(lines.of or "") if pack is not None else None
        if part is not None:
            found += [(f"{lines.name}.{f.name}", f)
                      for f in importable(part, read_only=read_only)]
    return found


def match_columns(entity: Entity, columns: list[str],
                  remembered: Mapping[str, str | None] | None = None,
                  pack: Pack | None = None) -> dict[str, str | None]:
    """Each column → a field name ("id", a field, or "lines_field.child" when `pack` is
    given and the entity has lines), or None (ignored). A remembered choice for the column
    comes first (when its target still exists), then the field's name, then its label in
    any locale — compared with NFKC, case, spaces, underscores and punctuation ignored — for
    a line field also "Lines label child label" and the child's own name or label when no
    field of the entity has it. Each target is given to one column at most (the first)."""
    options = targets(entity, pack)
    known = {name for name, _ in options}
    names = _names(entity, options)
    result: dict[str, str | None] = {}
    taken: set[str] = set()
    for column in columns:
        choice: str | None
        if remembered is not None and column in remembered and (
                remembered[column] is None or remembered[column] in known):
            choice = remembered[column]
        else:
            choice = names.get(folded(column))
            if choice in taken:
                choice = None
        result[column] = choice
        if choice is not None:
            taken.add(choice)
    return result


def _names(entity: Entity, options: list[tuple[str, Field]]) -> dict[str, str]:
    """Folded name or label → target, best first: names, then labels, then a line field's
    bare names and labels (never over the entity's own)."""
    names: dict[str, str] = {}

    def add(text: str, target: str) -> None:
        key = folded(text)
        if key and key not in names:
            names[key] = target

    for target, _field in options:
        if "." not in target:
            add(target, target)
    for target, field in options:
        if "." not in target:
            for label in field.label.values.values():
                add(label, target)
    for target, field in options:
        if "." in target:
            lines_name, child = target.split(".", 1)
            lines = entity.fields[lines_name]
            add(target, target)
            add(f"{lines_name} {child}", target)
            for label in field.label.values.values():
                for outer in lines.label.values.values():
                    add(f"{outer} {label}", target)
    for target, field in options:
        if "." in target:
            add(target.split(".", 1)[1], target)
            for label in field.label.values.values():
                add(label, target)
    return names
