"""A small sales pack with six deals whose numbers are worked out by hand in the reports
tests, and helpers that build dashboard widgets the way `karte.meta.dashboards` holds them.

The deals (UTC pack, "now" is 2026-05-14 03:00 UTC):

    deal  amount  source  owner  customer     won    closed_on   created     stages
    A     100     web     sales  c1 (smb)     true   2026-05-03  2026-05-02  new→proposal→won
    B     250.50  call    -      c2 (ent.)    true   2026-05-10  2026-05-05  new→won
    C     40      web     sales  c1 (smb)     false  2026-04-20  2026-04-10  new→proposal→lost
    D     300     web     -      -            false  -           2026-04-15  new→proposal
    E     -       -       sales  c2 (ent.)    -      2026-04-30  2026-03-20  new
    F     10      call    -      -            true   2026-04-01  2026-05-13  new→won

Each deal is won 2 (A), 1 (B) and 4 (F) days after it was created.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from karte.auth.users import add_user
from karte.meta.conditions import parse
from karte.meta.conditions.model import Ref
from karte.meta.dashboards import Dashboard, GroupBy, Measure, Range, Series, Span, Widget
from karte.meta.model import Text
from karte.reports.service import Reports
from karte.store import Records
from karte.store.actor import Actor
from karte.store.migrate import migrate
from karte.workflow import Workflows

NOW = dt.datetime(2026, 5, 14, 3, tzinfo=dt.UTC)
CUSTOMER = {"label": {"en": "Customer"}, "title_field": "name", "fields": {
    "name": {"type": "string"},
    "segment": {"type": "enum", "options": ["smb", "enterprise"]}}}
DEAL = {"label": {"en": "Deal"}, "title_field": "title", "fields": {
    "title": {"type": "string"}, "amount": {"type": "money"}, "cost": {"type": "money"},
    "source": {"type": "enum", "options": ["web", "call"]}, "owner": {"type": "user"},
    "customer": {"type": "link", "to": "customer"}, "won": {"type": "boolean"},
    "closed_on": {"type": "date"}},
    "list": {"columns": ["title", "amount", "cost"], "sort": "title"}}
PIPELINE = {"entity": "deal", "field": "stage", "stages": [
    {"key": "new"}, {"key": "proposal"}, {"key": "won", "final": "won"},
    {"key": "lost", "final": "lost"}]}
ROLES = {"sales": {"*": {"read": "own", "create": True, "update": "own"}},
         "support": {"*": {"read": "all"}, "deal": {"hidden": ["cost"]}},
         "viewer": {"deal": {"read": "all"}}}      # customers: not theirs to read
DEALS = [  # title, amount, cost, source, owner?, customer, won, closed_on, created, stages
    ("A", "100", "60", "web", True, "c1", True, "2026-05-03", "2026-05-02",
     ["proposal", "won"]),
    ("B", "250.50", "100", "call", False, "c2", True, "2026-05-10", "2026-05-05", ["won"]),
    ("C", "40", None, "web", True, "c1", False, "2026-04-20", "2026-04-10",
     ["proposal", "lost"]),
    ("D", "300", "200", "web", False, None, False, None, "2026-04-15", ["proposal"]),
    ("E", None, None, None, True, "c2", None, "2026-04-30", "2026-03-20", []),
    ("F", "10", None, "call", False, None, True, "2026-04-01", "2026-05-13", ["won"]),
]
WON_AFTER_DAYS = {"A": 2, "B": 1, "F": 4}


class Sales:
    """The fixture's services, users and pack."""

    def __init__(self, engine: sa.Engine, make_pack: Any, timezone: str = "UTC"):
        self.pack = make_pack({"customer": CUSTOMER, "deal": DEAL}, {"pipeline": PIPELINE},
                              {"name": "t", "timezone": timezone, "roles": ROLES})
        migrate(engine, self.pack)
        self.engine = engine
        self.records = Records(engine, self.pack)
        self.workflows = Workflows(self.records)
        self.reports = Reports(self.records)
        self.users = {role: add_user(engine, self.pack, f"{role}@example.com", role,
                                     name=role.title()) for role in ("sales", "support", "viewer")}
        self.ids: dict[str, int] = {}

    def actor(self, role: str) -> Actor:
        return Actor(self.users[role], f"{role}@example.com", role.title(), role)

    def at(self, when: dt.datetime) -> None:
        self.records.store.clock = lambda: when

    def fill(self) -> Sales:
        customers = {"c1": self.records.create("customer", {"name": "Acme",
                                                            "segment": "smb"})["id"],
                     "c2": self.records.create("customer", {"name": "Globex",
                                                            "segment": "enterprise"})["id"]}
        for (title, amount, cost, source, owned, customer, won, closed, created,
             stages) in DEALS:
            self.at(dt.datetime.fromisoformat(created).replace(tzinfo=dt.UTC))
            record = self.records.create("deal", {
                "title": title, "amount": amount, "cost": cost, "source": source,
                "owner": self.users["sales"] if owned else None,
                "customer": customers.get(customer or ""), "won": won, "closed_on": closed})
            self.ids[title] = record["id"]
            for stage in stages:
                self.workflows.move("deal", record["id"], stage)
            if title in WON_AFTER_DAYS:
                self._won_at(record["id"], created, WON_AFTER_DAYS[title])
        self.at(NOW)
        return self

    def _won_at(self, id: int, created: str, days: int) -> None:
        moves = self.records.store.tables["karte_stage_move"]
        when = dt.datetime.fromisoformat(created).replace(tzinfo=dt.UTC) + dt.timedelta(days=days)
        with self.engine.begin() as conn:
            conn.execute(moves.update().where(moves.c.record_id == id,
                                              moves.c.entity == "deal",
                                              moves.c.to_stage == "won").values(at=when))

    # ---------------------------------------------------------------- widgets

    def where(self, raw: dict | None, entity: str = "deal") -> Any:
        if raw is None:
            return None
        parsed, problems = parse(raw, self.pack.entities[entity], self.pack.entities, "t", "")
        assert not problems, problems
        return parsed

    def measure(self, agg: str, field: str | None = None, where: dict | None = None,
                span: Span | None = None) -> Measure:
        found = self.pack.entities["deal"].lookup(field) if field else None
        return Measure(agg, found, self.where(where), span)

    def group(self, path: str, bucket: str | None = None) -> GroupBy:
        deal = self.pack.entities["deal"]
        if "." not in path:
            return GroupBy(path, Ref("deal", path, deal.lookup(path)), bucket)
        link, name = path.split(".")
        target = deal.fields[link].to
        return GroupBy(path, Ref("deal", path, self.pack.entities[target].fields[name], link,
                                 target), bucket)

    def widget(self, kind: str, name: str = "w", **keys: Any) -> Widget:
        keys.setdefault("entity", "deal")
        if isinstance(keys.get("where"), dict):
            keys["where"] = self.where(keys["where"])
        if isinstance(keys.get("range"), str):
            keys["range"] = Range(keys["range"])
        return Widget(name, kind, Text.of(name), **keys)

    def board(self, *widgets: Widget, roles: tuple[str, ...] = ()) -> Dashboard:
        board = Dashboard("sales", Text.of("Sales"), widgets, roles)
        self.pack = _with_board(self.pack, board)
        self.records.pack = self.records.store.pack = self.pack
        self.reports.pack = self.pack
        return board

    def run(self, board: Dashboard, name: str, role: str | None = None) -> Any:
        widget = board.widget(name)
        assert widget is not None
        return self.reports.run(board, widget, self.actor(role) if role else None, now=NOW)

    def count(self, board: Dashboard, name: str, role: str | None = None, **drill: Any) -> int:
        """How many records the list reached from the widget shows."""
        actor = self.actor(role) if role else None
        found = self.reports.drill(board.name, name, actor, now=NOW, **drill)
        return self.records.count(found.entity, found.condition, actor=actor)

    def total(self, board: Dashboard, name: str, field: str, **drill: Any) -> Decimal:
        found = self.reports.drill(board.name, name, None, now=NOW, **drill)
        return self.records.totals(found.entity, [field], found.condition)[field]


def _with_board(pack: Any, board: Dashboard) -> Any:
    from dataclasses import replace

    from karte.meta.model import frozen_map
    return replace(pack, dashboards=frozen_map({**pack.dashboards, board.name: board}))


def span(end: str, start: str | None = None) -> Span:
    return Span("pipeline", "stage", end, start)


def values(result: Any, series: int = 0) -> dict[str, Any]:
    return {p.key: p.value for p in result.series[series].points}


__all__ = ["NOW", "Sales", "Series", "span", "values"]
