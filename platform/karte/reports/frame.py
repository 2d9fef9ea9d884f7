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

    def first_entered(self, workflow: str, stage: str) -> sa.ScalarSelect[Any]:
        """When the record first entered `stage` (None: never), read per record from the
        history's (entity, record_id, at) index."""
        moves = self.store.tables["karte_stage_move"]
        return (sa.select(sa.func.min(moves.c.at))
                .where(moves.c.entity == self.entity.name, moves.c.record_id == self.table.c.id,
                       moves.c.workflow == workflow, moves.c.to_stage == stage)
                .scalar_subquery())

    def measured(self, measures: list[Measure]) -> tuple[Any, dict[int, Expr]]:
        """The FROM clause and each measure's value expression (by position): a field's
        column, or a span's seconds from the history (None for a record that has not
        entered both ends: aggregates leave it out, as its drill-down does)."""
        values: dict[int, Expr] = {}
        for index, measure in enumerate(measures):
            if measure.span is not None:
                values[index] = self._span(measure.span)
            elif measure.field is not None:
                values[index] = self.table.c[measure.field.name]
        return self.table, values

    def _span(self, span: Span) -> Expr:
        start: Expr = self.table.c.created_at
        if span.start is not None:
            start = self.first_entered(span.workflow, span.start)
        return seconds_between(self.first_entered(span.workflow, span.end), start)


def places(measure: Measure) -> int:
    """Decimal places of the measure's values (a span's seconds: 0)."""
    return 0 if measure.span is not None else scale(measure.field)
