"""A list drilled down from a dashboard (docs/dashboards.md "Drill-down"):
`?drill=<dashboard>.<widget>[&at=<key>][&series=<i>][&part=<part>]`.

The list asks `Reports.drill` for the condition of exactly the records the widget (or the
bar, slice, point or step `at`, of series `series`, or the ratio's or comparison's `part`)
counts — the same where, range, role scope and stage history the number was read with —
and ANDs it into its own filters, so the list's count is the dashboard's number. A chip
says where the list came from ("Sales › Won this month › March 2026") with a link that
removes it; paging, sorting and filtering keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from karte.meta.model import Entity
from karte.problems import Problem
from karte.store.errors import InvalidQuery

PARAMS = ("drill", "at", "series", "part")


@dataclass(frozen=True)
class Drilled:
    """The drill parameters as given, and what `Reports.drill` made of them."""

    name: str                 # "<dashboard>.<widget>"
    at: str | None
    series: int
    part: str | None
    drill: Any                # karte.reports.service.Drill

    @property
    def condition(self) -> Any:
        return self.drill.condition

    def pairs(self) -> list[tuple[str, str]]:
        """The URL parameters that keep this drill (`at` even when empty: "no value")."""
        found = [("drill", self.name)]
        found += [("at", self.at)] if self.at is not None else []
        found += [("series", str(self.series))] if self.series else []
        return found + ([("part", self.part)] if self.part else [])

    def words(self) -> list[str]:
        """The chip: the dashboard, the widget, then the point, series or part."""
        from karte.web import text
        from karte.web.tiles import point_label

        widget = self.drill.widget
        said = [text(self.drill.dashboard.label), text(widget.label)]
        if len(widget.series) > 1:
            said.append(text(widget.series[self.series].label))
        if self.drill.point is not None:
            said.append(point_label(widget, self.drill.point))
        if self.part:
            said.append(PARTS[self.part]())
        return said


PARTS = {"previous": lambda: _("Previous period"), "numerator": lambda: _("Numerator"),
         "denominator": lambda: _("Denominator")}


def parse(entity: Entity, args: MultiDict) -> Drilled | None:
    """The drill of the request's arguments, None without `drill=`; InvalidQuery (400)
    for a malformed one or one that counts another entity's records, NotFound and
    Forbidden (404, 403) for a dashboard that is not there or not the user's."""
    from karte.web import registry, reports, signed_in_actor, text

    name = args.get("drill", "").strip()
    if not name:
        return None
    dashboard, dot, widget = name.partition(".")
    raw_series = args.get("series", "").strip() or "0"
    if not dot or not raw_series.isdecimal() or len(raw_series) > 3:
        raise InvalidQuery([Problem("drill", _(
            "drill: “%(value)s” is not a widget of a dashboard; it is written "
            "<dashboard>.<widget>, with series a number from 0.", value=name), "drill")])
    at = args.get("at") if "at" in args else None
    part = args.get("part", "").strip() or None
    found = reports().drill(
        dashboard, widget, signed_in_actor(), at=at, series=int(raw_series), part=part)
    if found.entity != entity.name:
        raise InvalidQuery([Problem("drill", _(
            "drill: “%(value)s” counts %(other)s, not %(entity)s.", value=name,
            other=text(registry().entities[found.entity].plural),
            entity=text(entity.plural)), "drill")])
    return Drilled(name, at, int(raw_series), part, found)
