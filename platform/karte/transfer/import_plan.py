"""Checking a plan against the entity, the file's columns and the actor's rights before a
row is read: which column feeds which field (or which field of a line), which key
matches stored records. What cannot work is a plan problem (line 0): nothing is imported
until the plan is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from karte.meta.model import Entity, Field, Pack
from karte.store import field_rights
from karte.store.actor import Actor
from karte.store.permissions import rights
from karte.store.records.store import Store
from karte.transfer.imports import Plan, RowProblem
from karte.transfer.values import importable

ID = "id"


@dataclass(frozen=True)
class Column:
    """One mapped column: its position and header, the field it feeds, and the `lines`
    field when it feeds a field of the entity's lines."""

    index: int
    header: str
    field: Field
    lines: str | None = None


@dataclass
class Mapped:
    """A checked plan: the columns read, the key's column, and the plan's problems."""

    entity: Entity
    columns: list[Column] = field(default_factory=list)
    key: str | None = None             # "id" or a unique field of the entity
    key_index: int | None = None       # the column holding the key
    key_header: str | None = None
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def parent_columns(self) -> list[Column]:
        return [c for c in self.columns if c.lines is None]

    @property
    def line_columns(self) -> list[Column]:
        return [c for c in self.columns if c.lines is not None]

    @property
    def stage_fields(self) -> list[str]:
        return [c.field.name for c in self.parent_columns if c.field.workflow]


def _problem(code: str, message: str, column: str | None = None, name: str | None = None,
             **details: Any) -> RowProblem:
    return RowProblem(0, column, name, code, message, details)


def _importable(entity: Entity) -> dict[str, Field]:
    """Fields an import may set, stage fields included (moves), read_only ones too."""
    found = {f.name: f for f in importable(entity, read_only=True)}
    found.update({n: f for n, f in entity.fields.items() if f.workflow})
    return found


def _target(pack: Pack, entity: Entity, name: str) -> tuple[Field | None, str | None, str]:
    """The field a mapping names (`lines_field.child` for a line's field), the lines field,
    and why it cannot be imported when the field is None."""
    if "." in name:
        head, child = name.split(".", 1)
        holder = entity.fields.get(head)
        if holder is None or holder.type != "lines" or (holder.of or "") not in pack.entities:
            return None, None, f'"{entity.name}" has no lines field "{head}".'
        part = pack.entities[holder.of or ""]
        found = _importable(part).get(child)
        if found is None or found.name == part.part_of:
            return None, None, f'The lines of "{head}" have no field "{child}" an import ' \
                               "may set."
        return found, head, ""
    found = _importable(entity).get(name)
    if found is None:
        why = "is not a field of" if name not in entity.fields else "cannot be imported into"
        return None, None, f'"{name}" {why} "{entity.name}".'
    return found, None, ""


def check(store: Store, entity: Entity, plan: Plan, columns: list[str],
          actor: Actor | None) -> Mapped:
    """The plan as columns to read, with every reason it cannot run."""
    pack = store.pack
    mapped = Mapped(entity)
    if entity.part_of:
        mapped.problems.append(_problem(
            "import.plan.part", f'"{entity.name}" are lines of "{entity.part_of}": import '
            f'them as rows of the "{entity.part_of}" file.', entity=entity.name))
        return mapped
    used: dict[str, str] = {}
    id_index = None
    for index, header in enumerate(columns):
        name = plan.mapping.get(header)
        if not name:
            continue
        if name == ID:
            id_index = index
            continue
        if name in used:
            mapped.problems.append(_problem(
                "import.plan.twice", f'The columns "{used[name]}" and "{header}" both feed '
                f'"{name}": ignore one of them.', header, name, other=used[name]))
            continue
        used[name] = header
        target, lines, why = _target(pack, entity, name)
        if target is None:
            mapped.problems.append(_problem("import.plan.field", why, header, name))
            continue
        mapped.columns.append(Column(index, header, target, lines))
    _check_moves(mapped, plan)
    _check_key(mapped, plan, used, id_index, columns)
    _check_rights(store, mapped, actor)
    return mapped


def _check_moves(mapped: Mapped, plan: Plan) -> None:
    if plan.allow_moves:
        return
    for column in mapped.parent_columns:
        if column.field.workflow:
            mapped.problems.append(_problem(
                "import.plan.stage", f'The column "{column.header}" sets the stage '
                f'("{column.field.name}"): allow moves to apply it, or ignore the column.',
                column.header, column.field.name))


def _check_rights(store: Store, mapped: Mapped, actor: Actor | None) -> None:
    """Fields hidden from or read-only for the actor's role (the line fields by the
    part's rights) cannot be imported by them; nor rows created without the right."""
    if actor is None:
        return
    for column in mapped.columns:
        owner = (store.pack.entities[mapped.entity.fields[column.lines].of or ""]
                 if column.lines else mapped.entity)
        closed = (field_rights.hidden(store, owner, actor)
                  | field_rights.read_only(store, owner, actor))
        if column.field.name in closed:
            mapped.problems.append(_problem(
                "import.plan.forbidden", f"Your role ({actor.role}) may not set "
                f'"{column.field.name}": ignore the column "{column.header}".',
                column.header, column.field.name, role=actor.role))
    if not mapped.key and not rights(store, mapped.entity, actor).create:
        mapped.problems.append(_problem(
            "import.plan.create", f"Your role ({actor.role}) may not create "
            f'"{mapped.entity.name}" records: choose a key to update stored ones.',
            role=actor.role))


def _check_key(mapped: Mapped, plan: Plan, used: dict[str, str], id_index: int | None,
               columns: list[str]) -> None:
    key = plan.key or (ID if id_index is not None else None)
    if key is None:
        return
    if key == ID:
        if id_index is None:
            mapped.problems.append(_problem(
                "import.plan.key", 'Matching by id needs a column mapped to "id".', None,
                ID, key=ID))
            return
        mapped.key, mapped.key_index = ID, id_index
        mapped.key_header = columns[id_index]
        return
    field = mapped.entity.fields.get(key)
    if field is None or not (field.unique or field.series):
        mapped.problems.append(_problem(
            "import.plan.key", f'"{key}" cannot match stored records: choose "id" or a unique '
            f"field ({_unique_names(mapped.entity)}).", None, key, key=key))
        return
    if key not in used:
        mapped.problems.append(_problem(
            "import.plan.key", f'Matching by "{key}" needs a column mapped to it.', None, key,
            key=key))
        return
    mapped.key, mapped.key_header = key, used[key]
    mapped.key_index = next(c.index for c in mapped.parent_columns if c.field.name == key)


def _unique_names(entity: Entity) -> str:
    names = [ID, *(n for n, f in entity.fields.items() if f.unique or f.series)]
    return ", ".join(names)
