"""The lines of a whole `create_many` batch, checked and written per batch, not per parent.

`lines.plan` / `lines.db_problems` / `lines.save_lines` serve one parent at a time: for a
batch of new parents that made one link query per part and per parent, one reference
query per line field and parent, and one INSERT, one title query and one rollup refresh
(lock, read, aggregate, update) per parent. Here the linked records of every line of the
batch are read once per part, the links of all the batch's lines are checked in one
query per field, and the new lines are inserted in one executemany per `lines` field,
followed by one rollup refresh for all the batch's parents. The results are those of the
per-parent path: the same rows, the same audit changes ("lines[2]": [None, "product:
Cement"]), the same problems in the same order, each tagged with its row.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity
from karte.meta.parts import POSITION
from karte.problems import Problem
from karte.store.actor import Actor
from karte.store.records import rollups
from karte.store.records.fetch import Linked
from karte.store.records.lines import LinesPlan, line_names
from karte.store.records.lines_audit import Summaries
from karte.store.records.store import Store
from karte.store.records.unique import unique_problems
from karte.store.records.write import insert, reference_problems, stamp

Record = dict[str, Any]
Tagged = list[tuple[int, Problem]]


def linked_parts(store: Store, conn: sa.Connection, entity: Entity,
                 batch: Sequence[Mapping[str, Any]], actor: Actor | None) -> dict[str, Linked]:
    """Per part, the records that the batch's lines link to, read once (one query per
    link field of the part)."""
    found: dict[str, Linked] = {}
    for field in entity.lines_fields():
        part = store.pack.entities.get(field.of or "")
        if part is None:
            continue
        linked = found.setdefault(part.name, Linked(store, conn, part, actor))
        linked.prime(line for values in batch
                     if isinstance(raw := values.get(field.name), list | tuple)
                     for line in raw if isinstance(line, dict))
    return found


def _where(plan: LinesPlan, n: int, name: str) -> str:
    return f"{plan.field.name}[{n}].{name}" if name else f"{plan.field.name}[{n}]"


def db_problems_many(store: Store, conn: sa.Connection, plans: Sequence[Sequence[LinesPlan]],
                     actor: Actor | None) -> dict[int, list[Problem]]:
    """What `lines.db_problems` finds for each new parent of the batch (by its row): dead
    links of the lines in one query per field and part for the whole batch; unique values
    of a part (rare) per parent, as `db_problems` does."""
    rows: dict[int, list[tuple[int, int, Problem]]] = defaultdict(list)
    by_field: dict[tuple[str, str], list[tuple[int, int, LinesPlan]]] = defaultdict(list)
    for i, row_plans in enumerate(plans):
        for k, p in enumerate(row_plans):
            by_field[(p.field.name, p.part.name)].append((i, k, p))
    for pairs in by_field.values():
        lines: list[Record] = []
        names: list[list[str]] = []
        at: list[tuple[int, int, LinesPlan, int]] = []
        for i, k, p in pairs:
            for n, (line, given) in enumerate(zip(p.lines, p.given, strict=True), 1):
                lines.append(line)
                names.append(sorted(given))
                at.append((i, k, p, n))
        part = pairs[0][2].part
        for index, found in reference_problems(store, conn, part, lines, names, actor):
            i, k, p, n = at[index]
            rows[i].append((k, n, Problem(_where(p, n, found.where), found.message,
                                          found.code)))
        if part.unique_keys:
            for i, k, p in pairs:
                rows[i] += [(k, n + 1, Problem(_where(p, n + 1, found.where), found.message,
                                               found.code))
                            for n, found in _unique_problems(store, conn, p, actor)]
    # per parent: plan by plan, line by line (a line's link problem before its unique one)
    return {i: [problem for _k, _n, problem in sorted(found, key=lambda t: (t[0], t[1]))]
            for i, found in rows.items()}


def _unique_problems(store: Store, conn: sa.Connection, plan: LinesPlan,
                     actor: Actor | None) -> Tagged:
    """The unique values of a new parent's lines, checked as `db_problems` does."""
    link = plan.part.part_of or ""
    placed = [{**line, link: 0} for line in plan.lines]
    every = [[*line_names(plan.part), link]] * len(placed)
    return unique_problems(store, conn, plan.part, placed, every,
                           {line["id"] for line in plan.stored}, {}, actor)


def save_new_lines(store: Store, conn: sa.Connection, entity: Entity, ids: Sequence[int],
                   plans: Sequence[Sequence[LinesPlan]], at: dt.datetime,
                   user: int | None) -> list[dict[str, list[Any]]]:
    """Insert the lines of new parents `ids` (one executemany per `lines` field), refresh
    the parents' rollups over them once, and return each parent's audit changes."""
    changes: list[dict[str, list[Any]]] = [{} for _ in ids]
    by_field: dict[str, list[tuple[int, LinesPlan]]] = defaultdict(list)
    for index, row_plans in enumerate(plans):
        for p in row_plans:
            if p.lines:
                by_field[p.field.name].append((index, p))
    for pairs in by_field.values():
        part = pairs[0][1].part
        link = part.part_of or ""
        summary = Summaries(store, conn, part, [line for _, p in pairs for line in p.lines])
        new: list[Record] = []
        for index, p in pairs:
            for n, line in enumerate(p.lines, 1):
                new.append({**line, link: ids[index], POSITION: n})
                changes[index][_where(p, n, "")] = [None, summary(line)]
        insert(store, conn, part, new, stamp(at, user, True))
        rollups.refresh(store, conn, part.name, {link: {ids[index] for index, _ in pairs}})
    return changes
