"""The reports service: which dashboards a role may open, each widget's result (one SQL
statement under the viewer's read scope), and the drill-down condition of a number, a
bar or a funnel step (`karte.reports.drill`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from karte.meta.conditions import Context
from karte.meta.dashboards import Dashboard, GroupBy, Measure, Widget
from karte.problems import Problem, did_you_mean
from karte.reports import charts, funnel, lists, scalar
from karte.reports.conditions import plain, widget_entity
from karte.reports.drill import Drill, drill_condition
from karte.reports.frame import Frame
from karte.reports.reads import reads
from karte.reports.results import Result, change
from karte.reports.summary import Summary, summarize
from karte.store.actor import Actor, actor_id
from karte.store.errors import Forbidden, InvalidQuery, NotFound
from karte.store.field_rights import hidden
from karte.store.permissions import rights
from karte.store.records.service import Records


class DashboardNotFound(NotFound):
    """No dashboard, or no widget in it, by that name (HTTP 404)."""

    def __init__(self, message: str):
        self.entity, self.id = "", None
        Exception.__init__(self, message)
        self.problems = [Problem("", message, "not_found")]


def _role(actor: Actor | None) -> str:
    return actor.role if actor is not None else "admin"


def _refused(actor: Actor | None, what: str, what_ja: str) -> Forbidden:
    """"Your role (viewer) may not open the dashboard "sales"." in the actor's language
    (English or Japanese), as the records service words its refusals."""
    role = _role(actor)
    if actor is not None and actor.locale == "ja":
        return Forbidden([Problem("", f"ロール（{role}）は{what_ja}を開けません。", "forbidden")])
    return Forbidden([Problem("", f"Your role ({role}) may not open {what}.", "forbidden")])


class Reports:
    """Dashboards of one pack over one records service."""

    def __init__(self, records: Records) -> None:
        self.records = records
        self.store = records.store
        self.pack = records.pack

    def visible(self, actor: Actor | None) -> list[Dashboard]:
        """The dashboards the actor's role may open, in the pack's order."""
        role = _role(actor)
        return [d for d in self.pack.dashboards.values() if d.shown_to(role)]

    def dashboard(self, name: str, actor: Actor | None) -> Dashboard:
        found = self.pack.dashboards.get(name)
        if found is None:
            raise DashboardNotFound(f'There is no dashboard "{name}"'
                                    f"{did_you_mean(name, self.pack.dashboards)}.")
        if not found.shown_to(_role(actor)):
            raise _refused(actor, f'the dashboard "{name}"', f"ダッシュボード「{name}」")
        return found

    def frame(self, widget: Widget, actor: Actor | None,
              now: dt.datetime | None = None) -> Frame:
        context = Context.current(actor_id(actor), self.pack.timezone,
                                  now if now is not None else self.store.clock())
        return Frame(self.store, widget_entity(self.pack, widget), actor, context)

    def shown(self, dashboard: Dashboard, widget: Widget, actor: Actor | None) -> bool:
        """Whether the actor may see the widget: its roles, its entity readable, and no
        field it reads hidden from the actor's role."""
        role = _role(actor)
        if not (dashboard.shown_to(role) and widget.shown_to(role)):
            return False
        entity = widget_entity(self.pack, widget)
        if not rights(self.store, entity, actor).read:
            return False
        return not any(field in hidden(self.store, self.pack.entities[name], actor)
                       for name, field in reads(self.pack, entity, widget)
                       if name in self.pack.entities)

    def run(self, dashboard: Dashboard, widget: Widget, actor: Actor | None, *,
            now: dt.datetime | None = None) -> Result | None:
        """The widget's result (one SQL statement), or None when the actor may not see
        it."""
        with self.records.engine.connect() as conn:
            _no_jit(conn)
            return self._run(conn, dashboard, widget, actor, now)

    def results(self, dashboard: Dashboard, actor: Actor | None, *,
                now: dt.datetime | None = None) -> list[Result]:
        """The results of the widgets the actor may see, in order (one connection, and
        one setting, one pool checkout for the whole dashboard)."""
        with self.records.engine.connect() as conn:
            _no_jit(conn)
            found = [self._run(conn, dashboard, widget, actor, now)
                     for widget in dashboard.widgets]
        return [result for result in found if result is not None]

    def _run(self, conn: sa.Connection, dashboard: Dashboard, widget: Widget,
             actor: Actor | None, now: dt.datetime | None) -> Result | None:
        if not self.shown(dashboard, widget, actor):
            return None
        frame = self.frame(widget, actor, now)
        found = _RUNNERS[widget.kind](conn, frame, dashboard, plain(widget))
        return replace(found, widget=widget)

    def drill(self, dashboard: str, widget: str, actor: Actor | None, *,
              at: str | None = None, series: int = 0, part: str | None = None,
              now: dt.datetime | None = None) -> Drill:
        """The condition selecting exactly the records a number, a point or a step counts
        (NotFound, Forbidden; InvalidQuery for a bad `at`, `series` or `part`)."""
        board = self.dashboard(dashboard, actor)
        chosen = board.widget(widget)
        if chosen is None:
            raise DashboardNotFound(f'The dashboard "{dashboard}" has no widget "{widget}"'
                                    f"{did_you_mean(widget, [w.name for w in board.widgets])}.")
        if not self.shown(board, chosen, actor):
            raise _refused(actor, f'the widget "{widget}"', f"ウィジェット「{widget}」")
        frame = self.frame(chosen, actor, now)
        condition = drill_condition(frame, plain(chosen), at, series, part)
        point = None
        if at is not None:
            result = self.run(board, chosen, actor, now=now)
            point = _point(result, at, series)
        return Drill(board, chosen, frame.entity.name, condition, point)


    def summary(self, entity: str, groups: Sequence[GroupBy], measures: Sequence[Measure],
                where: Any = None, search: str | None = None, *,
                actor: Actor | None = None) -> Summary:
        """A list's grouped summary (`karte.reports.summary`) over the records the list
        with this filter and search shows the actor; InvalidQuery when a group or measure
        reads a field hidden from the actor's role."""
        ent = self.store.entity(entity)
        unseen = hidden(self.store, ent, actor)
        names = [*(g.ref.link or g.ref.field.name for g in groups),
                 *(m.field.name for m in measures if m.field is not None)]
        refused = [name for name in names if name in unseen]
        if refused:
            raise InvalidQuery([Problem("group", f'"{refused[0]}" is hidden from your role '
                                        "and cannot be grouped or summed", "hidden")])
        return summarize(self.store, ent, groups, measures, where, search, actor)


def _no_jit(conn: sa.Connection) -> None:
    """PostgreSQL compiles a statement it estimates costly to machine code first (JIT):
    300 ms of compiling for a 12,000-row median of resolution times at 1M records, which
    then runs in 40 ms. A widget's statement is never costly enough to gain from it."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")


def _point(result: Result | None, key: str, series: int) -> Any:
    if result is None or len(result.series) <= series:
        return None
    return next((p for p in result.series[series].points if p.key == key), None)


def _number(conn: sa.Connection, frame: Frame, dashboard: Dashboard, widget: Widget) -> Result:
    query, cells = scalar.statement(frame, widget, frame.context.today)
    found = scalar.values(conn.execute(query).one(), cells)
    if widget.kind == "ratio":
        numerator, denominator = found[0], found[1]
        value = _ratio(numerator, denominator)
        before = _ratio(found[2], found[3]) if len(found) > 2 else None
        return Result(dashboard, widget, value, before, change(value, before),
                      numerator=numerator, denominator=denominator)
    before = found[1] if len(found) > 1 else None
    return Result(dashboard, widget, found[0], before, change(found[0], before))


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


def _chart(conn: sa.Connection, frame: Frame, dashboard: Dashboard, widget: Widget) -> Result:
    today = frame.context.today
    rows = list(conn.execute(charts.statement(frame, widget, today)))
    series, truncated = charts.results(frame, widget, rows, today)
    return Result(dashboard, widget, series=series, truncated=truncated)


def _funnel(conn: sa.Connection, frame: Frame, dashboard: Dashboard, widget: Widget) -> Result:
    workflow = frame.store.pack.workflows[widget.workflow or ""]
    rows = list(conn.execute(funnel.statement(frame, widget, workflow, frame.context.today)))
    return Result(dashboard, widget, series=(funnel.result(workflow, rows),))


def _list(conn: sa.Connection, frame: Frame, dashboard: Dashboard, widget: Widget) -> Result:
    rows = list(conn.execute(lists.statement(frame, widget, frame.context.today)))
    found, total, capped = lists.result(frame, widget, rows)
    return Result(dashboard, widget, rows=found, total=total, capped=capped)


_RUNNERS = {"number": _number, "ratio": _number, "chart": _chart, "funnel": _funnel,
            "list": _list}
