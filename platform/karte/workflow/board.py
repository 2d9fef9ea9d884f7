"""A kanban board in SQL: per stage its count and money total, its overdue count
(capped), and a page of its cards with when each entered its stage — days in stage, and
the overdue flag (one query per column with cards, and one for every shown card's
entry into its stage).

Everything is limited by the same WHERE clause — the actor's read scope, the board's
filters and search — so a column's count, its total and its cards never disagree, and a
role that may read only its own records sees only those, in numbers too (SPEC §3.4).
When nothing narrows the board (no filter, no search, and the actor's role reads every
record of the entity) the counts and totals come from the counters every write keeps
(`karte.store.stage_totals`), equal to that grouped query by construction; otherwise the
grouped query runs. A money field hidden from the viewer is never summed either way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Stage, Workflow
from karte.store import Records, stage_times
from karte.store.actor import Actor
from karte.store.db import snapshot
from karte.store.field_rights import hidden, strip_all
from karte.store.permissions import scope
from karte.store.records.query import check_paging, filtered, order_by
from karte.workflow import reports

Record = dict[str, Any]


@dataclass
class Column:
    """One stage of a board: its numbers over every matching record, and one page of
    cards (`offset` onwards) with the ids of those that are overdue."""

    stage: Stage
    count: int = 0
    total: Decimal | None = None
    overdue: int = 0
    overdue_capped: bool = False  # more than reports.OVERDUE_CAP: shown "1000+"
    cards: list[Record] = field(default_factory=list)
    late: set[int] = field(default_factory=set)
    offset: int = 0
    entered: dict[int, dt.datetime] = field(default_factory=dict)  # card id → since

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.cards)

    @property
    def more(self) -> bool:
        """More cards than shown: the column offers "Load more"."""
        return self.next_offset < self.count


@dataclass(frozen=True)
class Filter:
    """What a board shows: a condition (raw or parsed), search text, the viewer."""

    where: Any = None
    search: str | None = None
    actor: Actor | None = None


def _matching(records: Records, workflow: Workflow, chosen: Filter) -> sa.Select:
    entity = records.store.entity(workflow.entity)
    return filtered(records.store, entity, chosen.where, chosen.search, actor=chosen.actor)


def counts(records: Records, workflow: Workflow, chosen: Filter, now: dt.datetime,
           money_field: str | None = None, *,
           conn: sa.Connection | None = None) -> dict[str, dict]:
    """Per stage {"count", "sum", "overdue"} over the records the filter admits."""
    entity = records.pack.entities[workflow.entity]
    where = _matching(records, workflow, chosen).whereclause
    if chosen.where is None and not chosen.search and reports.everything(
            scope(records.store, entity, chosen.actor, "read")):
        where = None  # every live record: the counters answer (reports.stage_counts)
    with _connection(records, conn) as c:
        return reports.stage_counts(c, records.store.tables, workflow, entity, now,
                                    money_field, where,
                                    hidden(records.store, entity, chosen.actor))


@contextmanager
def _connection(records: Records, conn: sa.Connection | None) -> Iterator[sa.Connection]:
    """The caller's connection (a snapshot shared by a whole board), else a new one."""
    if conn is not None:
        yield conn
    else:
        with records.engine.connect() as own:
            yield own


def entered(workflow: Workflow, rows: Iterable[Record]) -> dict[int, dt.datetime]:
    """When each of the shown cards entered its stage (days in stage, the overdue flag),
    from the stage time the card's row already holds (store/stage_times.py): no query."""
    return {row["id"]: stage_times.entered(row, workflow.field) for row in rows}


def late(workflow: Workflow, stage: str, since: Mapping[int, dt.datetime],
         now: dt.datetime) -> set[int]:
    """Which cards of `stage` are overdue: in it longer than its `max_days` — exactly
    `history.overdue`, which is `entered_at < cutoff`."""
    days = workflow.stage(stage).max_days
    if days is None:
        return set()
    cutoff = now - dt.timedelta(days=days)
    return {id for id, at in since.items() if at < cutoff}


def _page(conn: sa.Connection, records: Records, workflow: Workflow, stage: str,
          chosen: Filter, limit: int, offset: int) -> list[Record]:
    store = records.store
    entity, table = store.entity(workflow.entity), store.table(workflow.entity)
    limit, offset = check_paging(limit, offset)
    query = (_matching(records, workflow, chosen).where(table.c[workflow.field] == stage)
             .order_by(*order_by(store, entity, None, chosen.actor)).limit(limit)
             .offset(offset))
    rows = [dict(row) for row in conn.execute(query).mappings()]
    store.attach_links(conn, entity, rows)
    return strip_all(store, entity, chosen.actor, rows)


def cards(records: Records, workflow: Workflow, stage: str, chosen: Filter,
          now: dt.datetime, limit: int, offset: int = 0) -> tuple[list[Record], set[int]]:
    """A page of a stage's cards in the list's order, and which of them are overdue."""
    with records.engine.connect() as conn:
        rows = _page(conn, records, workflow, stage, chosen, limit, offset)
    since = entered(workflow, rows)
    return rows, late(workflow, stage, since, now)


def _fill(conn: sa.Connection, records: Records, workflow: Workflow, columns: list[Column],
          chosen: Filter, now: dt.datetime, limit: int) -> list[Column]:
    """Each column's page of cards (a query per column that has cards to show), and when
    each shown card entered its stage."""
    for col in columns:
        if limit and col.offset < col.count:  # an empty column costs no query
            col.cards = _page(conn, records, workflow, col.stage.key, chosen, limit,
                              col.offset)
    for col in columns:
        col.entered = entered(workflow, col.cards)
        col.late = late(workflow, col.stage.key, col.entered, now)
    return columns


def _numbers(stage: Stage, numbers: Mapping[str, dict], offset: int) -> Column:
    number = numbers.get(stage.key, {})
    return Column(stage, number.get("count", 0), number.get("sum"), number.get("overdue", 0),
                  number.get("overdue_capped", False), offset=offset)


def column(records: Records, workflow: Workflow, stage: Stage, chosen: Filter,
           numbers: Mapping[str, dict], now: dt.datetime, limit: int,
           offset: int = 0, *, conn: sa.Connection | None = None) -> Column:
    found = _numbers(stage, numbers, offset)
    if limit and offset < found.count:
        with _connection(records, conn) as c:
            _fill(c, records, workflow, [found], chosen, now, limit)
    return found


def board(records: Records, workflow: Workflow, chosen: Filter, now: dt.datetime,
          limit: int, money_field: str | None = None,
          closed: Collection[str] = ()) -> list[Column]:
    """Every stage of the workflow, in order, with its first `limit` cards (none with
    `limit` 0: the numbers alone; none for the `closed` stages, shown collapsed)."""
    with snapshot(records.engine) as conn:  # the numbers and the cards of one moment
        numbers = counts(records, workflow, chosen, now, money_field, conn=conn)
        columns = [_numbers(stage, numbers, 0) for stage in workflow.stages]
        wanted = [col for col in columns if col.stage.key not in closed and col.count]
        if limit and wanted:
            _fill(conn, records, workflow, wanted, chosen, now, limit)
    return columns
