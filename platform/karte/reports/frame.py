"""Where a widget's statement reads from: the entity's live records within the actor's
read scope, joined to the stage history when a measure is a duration, and the SQL of the
widget's conditions (`karte.store.where.to_sql`, as of the widget's `now`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from karte.meta.conditions import Condition, Context
from karte.meta.dashboards import Measure, Span
from karte.meta.model import Entity
from karte.reports.aggregates import Expr, scale, seconds_between
from karte.store.actor import Actor
from karte.store.permissions import scope
from karte.store.records.store import Store
from karte.store.where import to_sql


@dataclass(frozen=True)
class Frame:
    store: Store
    entity: Entity
    actor: Actor | None
    context: Context

    @property
    def table(self) -> sa.Table:
        return self.store.table(self.entity)

    def sql(self, condition: Condition | None) -> sa.ColumnElement[bool] | None:
        return None if condition is None else to_sql(condition, self.store.tables,
                                                     self.context)

    def clause(self, condition: Condition) -> sa.ColumnElement[bool]:
        return to_sql(condition, self.store.tables, self.context)

    def rows(self, condition: Condition | None) -> list[sa.ColumnElement[bool]]:
        """The WHERE of every statement: live, readable, meeting `condition`."""
        found = [scope(self.store, self.entity, self.actor, "read"),
                 self.table.c.deleted_at.is_(None)]
        clause = self.sql(condition)
        return found if clause is None else [*found, clause]

    def first_entered(self, workflow: str, stage: str) -> sa.Subquery:
        """Per record: when it first entered `stage` (its stage history)."""
        moves = self.store.tables["karte_stage_move"]
        return (sa.select(moves.c.record_id, sa.func.min(moves.c.at).label("at"))
                .where(moves.c.entity == self.entity.name, moves.c.workflow == workflow,
                       moves.c.to_stage == stage)
                .group_by(moves.c.record_id).subquery())

    def measured(self, measures: list[Measure]) -> tuple[Any, dict[int, Expr]]:
        """The FROM clause and each measure's value expression (by position): a field's
        column, or a span's seconds from the history (records without both ends are
        left out by the join)."""
        source: Any = self.table
        values: dict[int, Expr] = {}
        for index, measure in enumerate(measures):
            if measure.span is not None:
                source, values[index] = self._span(source, measure.span)
            elif measure.field is not None:
                values[index] = self.table.c[measure.field.name]
        return source, values

    def _span(self, source: Any, span: Span) -> tuple[Any, Expr]:
        ends = self.first_entered(span.workflow, span.end)
        source = source.join(ends, ends.c.record_id == self.table.c.id)
        start: Expr = self.table.c.created_at
        if span.start is not None:
            starts = self.first_entered(span.workflow, span.start)
            source = source.join(starts, starts.c.record_id == self.table.c.id)
            start = starts.c.at
        return source, seconds_between(ends.c.at, start)


def places(measure: Measure) -> int:
    """Decimal places of the measure's values (a span's seconds: 0)."""
    return 0 if measure.span is not None else scale(measure.field)
