"""Which fields a widget reads, so that a role never aggregates, groups by, filters by or
dates by a field hidden from it (SPEC §3.4): such a widget is not shown to that role."""

from __future__ import annotations

from collections.abc import Iterator

from karte.meta.conditions import Condition, compares
from karte.meta.conditions.model import Ref
from karte.meta.dashboards import Measure, Widget
from karte.meta.model import Entity, Pack

Read = tuple[str, str]   # (entity, field)


def _ref(ref: Ref) -> Iterator[Read]:
    yield ref.entity, ref.link or ref.field.name
    if ref.link is not None and ref.target is not None:
        yield ref.target, ref.field.name


def _condition(cond: Condition | None) -> Iterator[Read]:
    if cond is not None:
        for compare in compares(cond):
            yield from _ref(compare.ref)


def _measure(entity: Entity, pack: Pack, measure: Measure | None) -> Iterator[Read]:
    if measure is None:
        return
    if measure.field is not None:
        yield entity.name, measure.field.name
    if measure.span is not None:
        yield entity.name, measure.span.field
    yield from _condition(measure.where)


def reads(pack: Pack, entity: Entity, widget: Widget) -> set[Read]:
    """Every (entity, field) the widget's statement reads."""
    found = set(_condition(widget.where))
    for measure in (widget.measure, widget.numerator, widget.denominator,
                    *(s.measure for s in widget.series)):
        found.update(_measure(entity, pack, measure))
    found.update((entity.name, name) for name in
                 (widget.date, *(s.date for s in widget.series)) if name)
    if widget.group_by is not None:
        found.update(_ref(widget.group_by.ref))
    if widget.kind == "list":
        found.add((entity.name, (widget.sort or entity.list.sort).lstrip("-")))
    if widget.kind == "funnel" and widget.workflow in pack.workflows:
        found.add((entity.name, pack.workflows[widget.workflow or ""].field))
    return found
