"""Field-level permissions (SPEC §3.4) inside the records service.

A role's `hidden` fields do not exist for it: records are read without them, a filter or a
sort on one is refused like an unknown field, search never looks in them, history leaves
their changes out. Its `read_only` fields are shown but never written by it: input that
would change one is Forbidden, naming the field. Pages ask `visible_fields` and `writable`
which fields to show and to offer, so every page agrees with the store.

`None` as the actor is the system (CLI, demo, workflow `on_enter`, defaults) and `admin`
sees everything: both have no hidden and no read-only fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from karte.fields import normalise
from karte.meta.conditions import Condition, compares
from karte.meta.model import Entity
from karte.problems import Detailed, Problem, did_you_mean
from karte.store.actor import Actor
from karte.store.errors import Forbidden, InvalidQuery
from karte.store.permissions import rights
from karte.store.records.store import Store
from karte.store.validation import label

EMPTY: frozenset[str] = frozenset()


def hidden(store: Store, entity: Entity, actor: Actor | None) -> frozenset[str]:
    """The fields of `entity` the actor never sees (worked out once per role)."""
    if actor is None:
        return EMPTY
    return store.remember(("hidden", entity.name, actor.role),
                          lambda: frozenset(rights(store, entity, actor).hidden or ()))


def read_only(store: Store, entity: Entity, actor: Actor | None) -> frozenset[str]:
    """The fields of `entity` the actor sees but may not change (hidden ones included)."""
    if actor is None:
        return EMPTY
    return store.remember(("read_only", entity.name, actor.role),
                          lambda: frozenset(rights(store, entity, actor).read_only or ())
                          | hidden(store, entity, actor))


def visible_fields(store: Store, entity: Entity, actor: Actor | None) -> tuple[str, ...]:
    """The entity's fields the actor may see, in declaration order."""
    gone = hidden(store, entity, actor)
    return tuple(name for name in entity.fields if name not in gone)


def writable(store: Store, entity: Entity, actor: Actor | None) -> tuple[str, ...]:
    """The entity's fields the actor's role may write (the field's own `read_only`,
    formulas and stages aside: those no input writes)."""
    fixed = read_only(store, entity, actor)
    return tuple(name for name in entity.fields if name not in fixed)


def _parts(store: Store, entity: Entity) -> Iterable[tuple[str, Entity]]:
    """(lines field, part entity) of the entity (SPEC §3.5: `{"type": "lines", "of"}`)."""
    for field in entity.fields.values():
        part = getattr(field, "of", None)
        if field.type == "lines" and isinstance(part, str) and part in store.pack.entities:
            yield field.name, store.pack.entities[part]


def _stripping(store: Store, entity: Entity,
               actor: Actor) -> tuple[frozenset[str], tuple[tuple[str, Entity], ...]]:
    """What `strip` removes for the actor's role: the entity's hidden fields, and the
    `lines` fields whose part hides some (worked out once per role)."""
    return store.remember(("stripping", entity.name, actor.role), lambda: (
        hidden(store, entity, actor),
        tuple((name, part) for name, part in _parts(store, entity)
              if hidden(store, part, actor))))


def strip(store: Store, entity: Entity, actor: Actor | None,
          record: dict[str, Any]) -> dict[str, Any]:
    """The record without the fields hidden from the actor — its lines without the part's
    hidden fields too (the same dict when nothing is hidden)."""
    if actor is None:
        return record
    gone, parts = _stripping(store, entity, actor)
    kept = {name: value for name, value in record.items() if name not in gone} if gone \
        else record
    for name, part in parts:
        lines = kept.get(name)
        if isinstance(lines, list):
            kept = {**kept, name: [strip(store, part, actor, line) if isinstance(line, dict)
                                   else line for line in lines]}
    return kept


def strip_all(store: Store, entity: Entity, actor: Actor | None,
              records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    if actor is None or _stripping(store, entity, actor) == (EMPTY, ()):
        return list(records)
    return [strip(store, entity, actor, record) for record in records]


# ---------------------------------------------------------------- writes


def _same(store: Store, entity: Entity, name: str, value: Any, stored: Any) -> bool:
    """Whether `value` as input stores as `stored` (empty and [] alike)."""
    try:
        given = normalise(entity.fields[name].as_value(), value, store.pack.country)
    except (ValueError, ArithmeticError, TypeError, KeyError):    # KeyError: no such type
        return False
    return (given if given not in ([], "") else None) == (
        stored if stored not in ([], "") else None)


def _default(store: Store, entity: Entity, name: str) -> Any:
    """What a new record holds when the input leaves the field out: a literal default,
    else nothing (a token default is the system's to fill)."""
    default = entity.fields[name].default
    if default is None or (isinstance(default, str) and default.startswith("$")):
        return None
    try:
        return normalise(entity.fields[name].as_value(), default, store.pack.country)
    except (ValueError, ArithmeticError, TypeError):
        return None


def refused_field(entity: Entity, actor: Actor, name: str, where: str = "") -> Problem:
    """"Your role (sales) may not change Discount." in the actor's language, at `where`
    (default the field's name; a line's field is `lines[3].unit_cost`)."""
    field = entity.fields[name]
    if actor.locale == "ja":
        shown = field.label.get("ja")
        return Problem(where or name, f"ロール（{actor.role}）は{shown}を変更できません。",
                       "forbidden")
    return Problem(where or name, f"Your role ({actor.role}) may not change {label(field)}.",
                   "forbidden")


def _refused(store: Store, entity: Entity, actor: Actor, values: Mapping[str, Any],
             stored: Mapping[str, Any] | None, prefix: str = "") -> list[Problem]:
    gone, fixed = hidden(store, entity, actor), read_only(store, entity, actor)
    refused = []
    for name in values:
        if name in gone:
            refused.append(name)
        elif name in fixed:
            before = stored.get(name) if stored is not None else _default(store, entity, name)
            if not _same(store, entity, name, values[name], before):
                refused.append(name)
    return [refused_field(entity, actor, name, prefix + name) for name in refused]


def _stored_line(stored: Mapping[str, Any] | None, name: str,
                 line: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The stored line a line of input updates (by "id"), None for a new line."""
    lines = stored.get(name) if stored is not None else None
    if "id" not in line or not isinstance(lines, list):
        return None
    return next((old for old in lines if isinstance(old, Mapping)
                 and str(old.get("id")) == str(line["id"])), None)


def _line_problems(store: Store, entity: Entity, actor: Actor, values: Mapping[str, Any],
                   stored: Mapping[str, Any] | None) -> list[Problem]:
    """Lines of input (SPEC §3.5) setting a field of the part the actor may not write:
    named `lines[3].unit_cost`, lines counted from 1."""
    found = []
    for name, part in _parts(store, entity):
        lines = values.get(name)
        for index, line in enumerate(lines if isinstance(lines, list) else []):
            if isinstance(line, Mapping):
                own = {k: v for k, v in line.items() if k != "id"}
                found += _refused(store, part, actor, own, _stored_line(stored, name, line),
                                  f"{name}[{index + 1}].")
    return found


def check_input(store: Store, entity: Entity, actor: Actor | None,
                values: Mapping[str, Any], stored: Mapping[str, Any] | None = None) -> None:
    """Forbidden when `values` set a field hidden from the actor (whatever the value) or
    change one read-only for them (`stored`: the record as stored; None on create, where
    only the field's default or nothing may be sent)."""
    if actor is None:
        return
    refused = (_refused(store, entity, actor, values, stored)
               + _line_problems(store, entity, actor, values, stored))
    if refused:
        raise Forbidden(refused)


# ---------------------------------------------------------------- queries


def unknown_field(entity: Entity, name: str, visible: Iterable[str]) -> Problem:
    """The problem an unknown field gives, for a field hidden from the actor: the same
    words, so that a refusal does not reveal the field exists."""
    return Detailed("where", f'"{entity.name}" has no field "{name}"'
                             f"{did_you_mean(name, visible)}", "COND002", {"name": name})


def check_condition(store: Store, entity: Entity, actor: Actor | None,
                    condition: Condition | None) -> None:
    """InvalidQuery when a filter reads a field hidden from the actor (on the record or
    one link away), as for a field that does not exist."""
    if actor is None or condition is None:
        return
    for compare in compares(condition):
        ref = compare.ref
        owner = store.entity(ref.target) if ref.target else entity
        first = ref.link or ref.field.name
        if first in hidden(store, entity, actor):
            raise InvalidQuery([unknown_field(entity, first,
                                              visible_fields(store, entity, actor))])
        if ref.target and ref.field.name in hidden(store, owner, actor):
            raise InvalidQuery([unknown_field(owner, ref.field.name,
                                              visible_fields(store, owner, actor))])


def sortable(store: Store, entity: Entity, actor: Actor | None, sort: str | None) -> bool:
    """Whether the actor may sort by `sort` ("field" / "-field"; None: the default)."""
    return sort is None or sort.lstrip("-") not in hidden(store, entity, actor)


# ---------------------------------------------------------------- history


class Unseen:
    """The change-log keys of changes the actor may not see (`name in unseen`): the
    record's hidden fields, and its lines' (`lines[2].unit_cost` when the part hides
    `unit_cost`). The card's timeline and the API's history both ask this."""

    def __init__(self, gone: frozenset[str], lines: Mapping[str, frozenset[str]]):
        self.gone, self.lines = gone, {name: seen for name, seen in lines.items() if seen}

    def __contains__(self, name: object) -> bool:
        if name in self.gone:
            return True
        if not self.lines or not isinstance(name, str) or "[" not in name:
            return False
        from karte.store.records.lines_audit import line_key

        key = line_key(name)
        return key is not None and key[2] in self.lines.get(key[0], ())

    def __bool__(self) -> bool:
        return bool(self.gone or self.lines)


def unseen(store: Store, entity: Entity, actor: Actor | None) -> Unseen:
    """What of `entity`'s change log the actor may not see."""
    return Unseen(hidden(store, entity, actor),
                  {f.name: hidden(store, part, actor) for f in entity.lines_fields()
                   if (part := store.pack.entities.get(f.of or "")) is not None})


def history(store: Store, entity: Entity, actor: Actor | None,
            entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit entries without the changes the actor may not see (`unseen`); an entry that
    changed only such fields is left out (it would show that something unseen changed)."""
    gone = unseen(store, entity, actor)
    if not gone:
        return entries
    kept = []
    for entry in entries:
        changes = {n: v for n, v in entry["changes"].items() if n not in gone}
        if changes or not entry["changes"] or entry["action"] != "update":
            kept.append({**entry, "changes": changes})
    return kept
