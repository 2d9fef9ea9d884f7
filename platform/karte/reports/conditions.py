"""The conditions a widget counts by, as condition nodes (`karte.meta.conditions`).

Both the widget's SQL and its drill-down are built from these same objects: the widget
compiles them with `karte.store.where.to_sql`, the list page ANDs them into its filter. So
a number and the list reached by clicking it cannot disagree about which records count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from karte.meta.conditions import AllOf, Compare, Condition, Reached, Ref
from karte.meta.dashboards import GroupBy, Measure, Widget
from karte.meta.model import Entity, Pack, Workflow
from karte.reports.periods import Period, instant
from karte.store import stage_reached


def every(*parts: Condition | None) -> Condition | None:
    """The conditions ANDed (None parts left out; nested ANDs flattened); None when
    there are none."""
    items: list[Condition] = []
    for part in parts:
        if isinstance(part, AllOf):
            items.extend(part.items)
        elif part is not None:
            items.append(part)
    if not items:
        return None
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def ref(entity: Entity, name: str) -> Ref:
    """A field of the record itself (declared or a system column)."""
    field = entity.lookup(name)
    if field is None:
        raise KeyError(f'"{entity.name}" has no field "{name}"')
    return Ref(entity.table_name, name, field)


def boundary(entity: Entity, name: str, day: dt.date, timezone: str) -> Any:
    """Where local day `day` starts for the field: the date itself for a date field, the
    UTC instant of its local midnight for a datetime."""
    field = entity.lookup(name)
    dated = field is not None and field.as_value().type == "date"   # a formula by its result
    return day if dated else instant(day, timezone)


def within(entity: Entity, name: str, period: Period, timezone: str) -> Condition:
    """The field's value falls in `period` (start included, end excluded)."""
    at = ref(entity, name)
    return AllOf((Compare(at, ">=", boundary(entity, name, period.start, timezone)),
                  Compare(at, "<", boundary(entity, name, period.end, timezone))))


def before(entity: Entity, name: str, day: dt.date, timezone: str) -> Condition:
    """The field's value is before local day `day` (a date bucket's upper edge)."""
    return Compare(ref(entity, name), "<", boundary(entity, name, day, timezone))


def group_is(group: GroupBy, key: str) -> Condition:
    """The records of one non-date group: the field (or path) has the value `key` names
    ("" for no value)."""
    at = group.ref
    if key == "":
        return Compare(at, "empty")
    return Compare(at, "=", parse_key(at.field.type, key))


def parse_key(kind: str, key: str) -> Any:
    """A group key as the field's value; ValueError when it is not one."""
    if kind == "boolean":
        if key not in ("true", "false"):
            raise ValueError(key)
        return key == "true"
    if kind in ("link", "user"):
        number = int(key)
        if number <= 0:
            raise ValueError(key)
        return number
    return key


def key_of(value: Any) -> str:
    """A group value as its drill key."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def measured_where(entity: Entity, measure: Measure) -> Condition | None:
    """The measure's own `where`, and, for an aggregate of a field (a count of one
    included: the records where it has a value), that the field has a value: a drill-down
    lists exactly the records counted, summed or averaged."""
    if measure.field is None:
        return measure.where
    return every(measure.where, Compare(ref(entity, measure.field.name), "not_empty"))


def reached(pack: Pack, workflow: Workflow, stages: Iterable[str]) -> Reached:
    entity = pack.entities[workflow.entity]
    return Reached(entity.table_name, workflow.name, workflow.field, tuple(stages),
                   stage_reached.column_name(workflow.field))


def plain(widget: Widget) -> Widget:
    """The widget with each measure's `where` left out where it repeats the widget's own
    (a number's or chart's `where` is read for both): counted once, and a stage chart
    with only a stage filter can still be read from the board counters."""
    def own(measure: Measure | None) -> Measure | None:
        if measure is None or widget.where is None or measure.where != widget.where:
            return measure
        return replace(measure, where=None)
    if widget.where is None:
        return widget
    return replace(widget, measure=own(widget.measure), numerator=own(widget.numerator),
                   denominator=own(widget.denominator),
                   series=tuple(replace(s, measure=own(s.measure) or s.measure)
                                for s in widget.series))


def widget_entity(pack: Pack, widget: Widget) -> Entity:
    """The entity a widget counts: a funnel's is its workflow's."""
    if widget.kind == "funnel" and widget.workflow in pack.workflows:
        return pack.entities[pack.workflows[widget.workflow or ""].entity]
    return pack.entities[widget.entity]
