"""Lines: the records of a part, written only with their parent (SPEC §3.5).

The value of a `lines` field in create/update input is a list of dicts in order: a dict
with "id" updates that stored line, one without is a new line, stored lines left out are
removed (soft-deleted: a removed line never counts anywhere). `plan` validates every line
with the part's own rules and names problems `lines[N].field` (N from 1, as the grid
shows rows); `save_lines` writes them inside the parent's transaction and returns the
changes for the parent's audit row ("lines[3].quantity": [2, 5], "lines[4]": [None,
"product: Cement"] for a line added, [..., None] for one removed). The parent's version
is the lines' version: any line change is a change of the parent (one bump).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from karte.fields import is_empty, record_id
from karte.meta import conditions
from karte.meta.model import SYSTEM_FIELDS, Entity, Field
from karte.meta.parts import POSITION
from karte.problems import Detailed, Problem
from karte.store import audit
from karte.store.actor import Actor
from karte.store.errors import Refused
from karte.store.records import rollups
from karte.store.records.fetch import Linked
from karte.store.records.lines_audit import Summaries, describe, line_key
from karte.store.records.store import Store
from karte.store.records.unique import unique_problems
from karte.store.records.write import (
    ATTACH,
    blank,
    compute_formulas,
    insert,
    reference_problems,
    replace_links,
    stamp,
)
from karte.store.records.write import _defaults as defaults_of  # a record's, reused
from karte.store.validation import (
    Judge,
    check_protected,
    check_required,
    differs,
    label,
    noun,
)

Record = dict[str, Any]
__all__ = ["LinesPlan", "changed_names", "db_problems", "describe", "line_key", "lines_of",
           "plan", "refuse_part", "restore_lines", "save_lines"]


@dataclass
class LinesPlan:
    """One `lines` field of one parent as it will be saved."""

    field: Field
    part: Entity
    lines: list[Record]                 # prepared lines, in order; "id" None for new ones
    stored: list[Record]                # the lines stored now, in order
    given: list[set[str]] = dataclasses.field(default_factory=list)  # names given per line

    @property
    def changed(self) -> bool:
        kept = [line["id"] for line in self.lines if line["id"] is not None]
        if len(kept) != len(self.lines) or kept != [s["id"] for s in self.stored]:
            return True     # a line added, removed or moved
        return any(differs(before.get(n), line.get(n))
                   for before, line in zip(self.stored, self.lines, strict=True)
                   for n in line_names(self.part))


def line_names(part: Entity) -> list[str]:
    """The part's own fields: what a line holds besides its parent link and position."""
    return [n for n in part.fields if n not in (part.part_of, POSITION)]


def refuse_part(store: Store, entity: Entity) -> None:
    """Lines are written only through their parent: "Quote lines are edited on their
    quote"."""
    if entity.part_of is None:
        return
    parent = store.pack.entities.get(entity.part_of)
    named = noun(parent) if parent is not None else entity.part_of
    raise Refused([Problem("", f"{noun(entity, plural=True).capitalize()} are edited on their "
                               f"{named}: save the {named} with its lines.", "part")])


def _where(field: Field, n: int, name: str = "") -> str:
    return f"{field.name}[{n}].{name}" if name else f"{field.name}[{n}]"


def _count_problems(entity: Entity, field: Field, count: int) -> list[Problem]:
    """Too few or too many lines: a problem on the `lines` field, with its facts (`limit`,
    `count`, `thing`) so a page can say it in its own language."""
    thing = noun(entity)
    facts = {"thing": thing, "count": count}
    if field.min is not None and count < field.min:
        lines = "line" if field.min == 1 else "lines"
        return [Detailed(field.name, f"A {thing} needs at least {field.min} {lines} (it has "
                                     f"{count}).", "lines_min", {**facts, "limit": field.min})]
    if field.max is not None and count > field.max:
        return [Detailed(field.name, f"A {thing} has at most {field.max} lines (this one has "
                                     f"{count}).", "lines_max", {**facts, "limit": field.max})]
    return []


def _input(part: Entity, raw: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A line's id and the values it gives; what a read returns (system columns, parent
    link, position, formulas) may be sent back and is ignored: the order of the list is
    the order, and formulas are computed."""
    ignored = _IGNORED.get(id(part))
    if ignored is None or ignored[0] is not part:    # worked out once per part entity
        if len(_IGNORED) > 10_000:                   # packs built again and again (tests)
            _IGNORED.clear()
        ignored = _IGNORED[id(part)] = (part, frozenset({
            *SYSTEM_FIELDS, part.part_of, POSITION,
            *(n for n, f in part.fields.items() if f.type == "formula")}))
    return raw.get("id"), {k: v for k, v in raw.items() if k not in ignored[1]}


_IGNORED: dict[int, tuple[Entity, frozenset[Any]]] = {}


def _without_files(part: Entity, values: dict[str, Any]) -> dict[str, Any]:
    """A line's values without its file fields: no upload reaches a line (the files
    service attaches to records), so a file value there is refused, and an empty one (a
    line sent back as read) changes nothing."""
    return {n: v for n, v in values.items()
            if n not in part.fields or part.fields[n].type != "file"}


class _Line:
    """Prepares one line: its record and its problems (named `lines[N].field`)."""

    def __init__(self, store: Store, plan: LinesPlan, ctx: conditions.Context, judge: Judge,
                 trusted: bool, linked: Linked | None = None):
        self.store, self.plan, self.ctx, self.judge, self.trusted = (store, plan, ctx, judge,
                                                                     trusted)
        self.linked = linked
        self.stored = {line["id"]: line for line in plan.stored}
        self.used: set[int] = set()

    def prepare(self, n: int, raw: Mapping[str, Any]) -> list[Problem]:
        part, where = self.plan.part, _where(self.plan.field, n)
        raw_id, values = _input(part, raw)
        problems: list[Problem] = []
        before: Record = {}
        if raw_id not in (None, ""):
            number = record_id(raw_id)
            if number is None or number not in self.stored or number in self.used:
                problems.append(Problem(f"{where}.id", f"There is no line with id {raw_id} on "
                                                      "this record (or it is listed twice).",
                                        "line"))
            else:
                self.used.add(number)
                before = self.stored[number]
        loaded, found = self.store.schemas.load(part, _without_files(part, values))
        found += [Problem(n, ATTACH, "invalid") for n, v in values.items()
                  if n in part.fields and part.fields[n].type == "file" and not is_empty(v)]
        if before:
            line = {**before, **loaded}
        else:
            defaults, more = defaults_of(part, values, self.ctx, self.store.pack.country)
            line, found = {**blank(part), **defaults, **loaded}, found + more
        if self.linked is not None:       # fetched cells, formulas reading through links
            found += self.linked.fill(line, loaded, before or None, self.trusted)
        compute_formulas(part, line, self.linked.hop_values(line) if self.linked else None)
        line["id"] = before.get("id")
        found += check_protected(part, loaded, before, self.judge, self.trusted)
        changed = None if not before else {n for n in loaded if differs(before.get(n),
                                                                        line.get(n))}
        named = {p.where for p in found} | {part.part_of, POSITION}   # set on save
        found += [p for p in check_required(part, line, changed, self.judge)
                  if p.where not in named]
        self.plan.lines.append(line)
        self.plan.given.append(set(line_names(part)) if not before else set(loaded))
        if problems:        # an id that is not this record's line: that alone is said
            return problems
        return [Problem(f"{where}.{p.where}" if p.where else where, p.message, p.code)
                for p in found]


def plan(store: Store, entity: Entity, record: Record, values: Mapping[str, Any],
         old: Mapping[str, Any] | None, ctx: conditions.Context, judge: Judge,
         trusted: bool, conn: sa.Connection | None = None,
         actor: Actor | None = None,
         linked_parts: Mapping[str, Linked] | None = None
         ) -> tuple[list[LinesPlan], list[Problem]]:
    """The lines of each `lines` field given in `values` (on create, every `lines` field:
    none given is no lines), validated line by line and counted against `min`/`max`.
    `record[field]` becomes the prepared lines. `old` is the stored parent (None on
    create), read with its lines. With `conn`, fetched cells are copied through their links
    (read as `actor` may read them) and formulas read through links; `linked_parts` holds
    those links already read for a whole batch (store/records/bulk_lines.py)."""
    plans: list[LinesPlan] = []
    problems: list[Problem] = []
    for f in entity.lines_fields():
        if f.of not in store.pack.entities or (old is not None and f.name not in values):
            continue
        raw = values.get(f.name)
        raw = [] if raw is None or raw == "" else raw
        stored = list(old.get(f.name) or []) if old is not None else []
        plan = LinesPlan(f, store.pack.entities[f.of or ""], [], stored)
        parent_id = old.get("id") if old is not None else None
        if not isinstance(raw, list | tuple) or not all(isinstance(r, dict) for r in raw):
            continue        # the type's own check has named the field
        linked = (linked_parts or {}).get(plan.part.name)
        if linked is None and conn is not None:
            linked = Linked(store, conn, plan.part, actor)
            linked.prime(raw)
        line = _Line(store, plan, ctx, judge, trusted, linked)
        for n, item in enumerate(raw, 1):
            problems += line.prepare(n, item)
            plan.lines[-1][plan.part.part_of or ""] = parent_id   # conditions may follow it
        problems += _count_problems(entity, f, len(plan.lines))
        record[f.name] = plan.lines
        plans.append(plan)
    return plans, problems


def changed_names(entity: Entity, changed: Sequence[str], plans: Sequence[LinesPlan]) -> list[str]:
    """The changed names of an update, a `lines` field in them only when a line changes."""
    lines = {f.name for f in entity.lines_fields()}
    names = [n for n in changed if n not in lines]
    return names + [p.field.name for p in plans if p.changed]


def db_problems(store: Store, conn: sa.Connection, plans: Sequence[LinesPlan],
                actor: Actor | None, parent_id: int | None = None) -> list[Problem]:
    """Links of the lines that point at nothing alive (or nothing the actor may read), and
    unique values or combinations (`"unique": [["quote", "product"]]` on the part) that
    another live line, or another line of this save, holds."""
    problems = []
    for p in plans:
        names = [sorted(given) for given in p.given]
        found = reference_problems(store, conn, p.part, p.lines, names, actor)
        if p.part.unique_keys:
            placed = [{**line, p.part.part_of or "": parent_id or 0} for line in p.lines]
            every = [[*line_names(p.part), p.part.part_of or ""]] * len(placed)
            found += unique_problems(store, conn, p.part, placed, every,
                                     {line["id"] for line in p.stored}, {}, actor)
        problems += [Problem(_where(p.field, i + 1, f.where), f.message, f.code)
                     for i, f in sorted(found, key=lambda tagged: tagged[0])]
    return problems


def audit_names(entity: Entity, names: Sequence[str]) -> list[str]:
    """Names whose [old, new] go to the audit row as they are (not the `lines` fields:
    their changes are line by line)."""
    return [n for n in names if entity.fields[n].type != "lines"]


# ---------------------------------------------------------------- writing

def save_lines(store: Store, conn: sa.Connection, entity: Entity, parent_id: int,
               plans: Sequence[LinesPlan], at: dt.datetime,
               user: int | None) -> dict[str, list[Any]]:
    """Write the lines of one parent: the one place lines are written. Returns the audit
    changes for the parent's row."""
    changes: dict[str, list[Any]] = {}
    for p in plans:
        if p.changed:
            changes.update(_write(store, conn, p, parent_id, at, user))
            rollups.refresh(store, conn, p.part.name, {p.part.part_of or "": {parent_id}})
    return changes


def _write(store: Store, conn: sa.Connection, p: LinesPlan, parent_id: int, at: dt.datetime,
           user: int | None) -> dict[str, list[Any]]:
    table, part, names = store.table(p.part), p.part, line_names(p.part)
    changes: dict[str, list[Any]] = {}
    kept = {line["id"] for line in p.lines if line["id"] is not None}
    gone = [before for before in p.stored if before["id"] not in kept]
    added = [line for line in p.lines if line["id"] is None]
    summary = Summaries(store, conn, part, [*gone, *added])
    if gone:
        conn.execute(table.update().where(table.c.id.in_([line["id"] for line in gone]))
                     .values(deleted_at=at, version=table.c.version + 1, updated_at=at,
                             updated_by=user))
    for n, before in enumerate(p.stored, 1):
        if before["id"] not in kept:
            changes[_where(p.field, n)] = [summary(before), None]
    stored = {line["id"]: line for line in p.stored}
    new: list[Record] = []
    for n, line in enumerate(p.lines, 1):
        was = stored.get(line["id"]) if line["id"] is not None else None
        if was is None:
            new.append({**line, part.part_of or "": parent_id, POSITION: n})
            removed = changes.get(_where(p.field, n), [None])[0]
            changes[_where(p.field, n)] = [removed, summary(line)]
            continue
        before = was
        changed = [name for name in names if differs(before.get(name), line.get(name))]
        if changed or before[POSITION] != n:
            columns = {name: line[name] for name in changed if name in table.c}
            conn.execute(table.update().where(table.c.id == before["id"]).values(
                **columns, position=n, version=table.c.version + 1, updated_at=at,
                updated_by=user))
            for f in part.fields.values():
                if f.type == "links" and f.name in changed:
                    replace_links(store, conn, part, f, before["id"], line[f.name])
        changes.update({_where(p.field, n, name): [audit.jsonable(before.get(name)),
                                                   audit.jsonable(line.get(name))]
                        for name in changed})
    if new:
        insert(store, conn, part, new, stamp(at, user, True))
    return changes


def restore_lines(store: Store, conn: sa.Connection, entity: Entity, parent: Mapping[str, Any],
                  at: dt.datetime, user: int | None) -> None:
    """Bring back the lines deleted with `parent` (not those removed earlier by an edit)."""
    deleted = parent.get("deleted_at")
    if deleted is None:
        return
    for f in entity.lines_fields():
        part = store.pack.entities.get(f.of or "")
        if part is None or part.part_of != entity.name:
            continue
        table = store.table(part)
        conn.execute(table.update().where(table.c[entity.name] == parent["id"],
                                          table.c.deleted_at == deleted)
                     .values(deleted_at=None, version=table.c.version + 1, updated_at=at,
                             updated_by=user))
        rollups.refresh(store, conn, part.name, {entity.name: {parent["id"]}})


def changed_meanwhile(entity: Entity, seen: Mapping[str, Any],
                      current: Mapping[str, Any]) -> list[Problem]:
    """For a stale update: a problem on each `lines` field whose lines someone else
    changed after the version the caller read (`seen`: the audit names since then). The
    fields are not in the Conflict's `changed` (theirs, yours) pairs: a page shows lines
    as a grid, not as one value."""
    names = {key[0] for name in seen if (key := line_key(name)) and key[0] in entity.fields}
    return [Problem(name, f"{label(entity.fields[name])} were changed meanwhile; there are "
                          f"now {len(current.get(name) or [])}.", "stale")
            for name in sorted(names)]


def lines_of(store: Store, conn: sa.Connection, entity: Entity,
             ids: Sequence[int]) -> dict[str, dict[int, list[Record]]]:
    """The live lines of live parents `ids`, per `lines` field, ordered by position: one
    query per field (cards, exports, actions copying lines)."""
    found: dict[str, dict[int, list[Record]]] = {}
    for f in entity.lines_fields():
        part = store.pack.entities.get(f.of or "")
        if part is not None:
            found[f.name] = store.lines_of(conn, part, dict.fromkeys(ids))
    return found
