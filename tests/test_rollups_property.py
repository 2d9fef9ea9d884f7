"""Property: whatever creates, edits (a re-pointed link, a changed amount or stage),
deletes and restores of deals and customers happen, in any order, every stored rollup of
every customer equals a fresh SELECT aggregate of its live deals (SPEC §3.6)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from karte.store import Records
from karte.store.errors import NotFound, Refused, ValidationFailed
from karte.store.migrate import migrate
from tests.test_rollups import WON, rollup

CUSTOMER = {"fields": {
    "name": {"type": "string"},
    "deals": rollup("count"),
    "won_deals": rollup("count", where=WON),
    "total": rollup("sum", "amount", result="money"),
    "won_total": rollup("sum", "amount", where=WON, result="money"),
    "smallest": rollup("min", "amount", result="money"),
    "latest": rollup("max", "close_on"),
    "average": rollup("avg", "amount"),
    "won_average": rollup("avg", "amount", where={"not": WON}),
}}
DEAL = {"fields": {
    "title": {"type": "string"},
    "customer": {"type": "link", "to": "customer", "on_delete": "set_null"},
    "amount": {"type": "money"},
    "close_on": {"type": "date"},
    "stage": {"type": "enum", "options": ["open", "won", "lost"]},
}}

picks = st.integers(min_value=0, max_value=3)
deal_values = st.fixed_dictionaries({}, optional={
    "amount": st.sampled_from([None, "0", "7", "12.5", "1000", "-3"]),
    "stage": st.sampled_from([None, "open", "won", "lost"]),
    "close_on": st.sampled_from([None, "2026-01-01", "2026-06-30", "2027-02-28"]),
})
steps = st.lists(st.one_of(
    st.tuples(st.just("new customer"), picks, st.none()),
    st.tuples(st.just("new deal"), picks, deal_values),
    st.tuples(st.just("edit deal"), picks, deal_values),
    st.tuples(st.just("re-point deal"), picks, picks),
    st.tuples(st.just("unlink deal"), picks, st.none()),
    st.tuples(st.just("delete deal"), picks, st.none()),
    st.tuples(st.just("restore deal"), picks, st.none()),
    st.tuples(st.just("delete customer"), picks, st.none()),
    st.tuples(st.just("restore customer"), picks, st.none()),
), min_size=1, max_size=15)
SETUP = [("new customer", 0, None), ("new customer", 1, None),
         ("new deal", 0, {"amount": "5", "stage": "won", "close_on": "2026-03-03"}),
         ("new deal", 1, {"amount": "8"}), ("new deal", 2, {"stage": "won"})]


@pytest.fixture
def records(engine, make_pack) -> Records:
    pack = make_pack({"customer": CUSTOMER, "deal": DEAL})
    migrate(engine, pack)
    return Records(engine, pack)


def _ids(records: Records, entity: str) -> list[int]:
    table = records.store.table(entity)
    with records.engine.connect() as conn:
        return list(conn.scalars(sa.select(table.c.id).order_by(table.c.id)))


def _one(ids: list[int], pick: int) -> int | None:
    return ids[pick % len(ids)] if ids else None


def _apply(records: Records, step: tuple) -> None:
    kind, pick, extra = step
    customers, deals = _ids(records, "customer"), _ids(records, "deal")
    deal = _one(deals, pick)
    if kind == "new customer":
        records.create("customer", {"name": f"c{pick}"})
    elif kind == "new deal":
        records.create("deal", {"title": "d", "customer": _one(customers, pick), **extra})
    elif deal is None:
        return
    elif kind in ("edit deal", "re-point deal", "unlink deal"):
        values = {"edit deal": lambda: extra,
                  "re-point deal": lambda: {"customer": _one(customers, extra)},
                  "unlink deal": lambda: {"customer": None}}[kind]()
        current = records.get("deal", deal, include_deleted=True)
        if current["deleted_at"] is None:
            records.update("deal", deal, values, current["version"])
    elif kind == "delete deal":
        records.delete("deal", deal)
    elif kind == "restore deal":
        records.restore("deal", deal)
    elif kind == "delete customer" and customers:
        records.delete("customer", _one(customers, pick))
    elif kind == "restore customer" and customers:
        records.restore("customer", _one(customers, pick))


def _rounded(value, places: str) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _expected(conn: sa.Connection, records: Records) -> dict[int, dict]:
    """Every customer's rollups, aggregated afresh from the deal table."""
    deal, customer = records.store.table("deal"), records.store.table("customer")
    won = deal.c.stage == "won"
    not_won = sa.or_(deal.c.stage.is_(None), deal.c.stage != "won")
    live = sa.and_(deal.c.customer == customer.c.id, deal.c.deleted_at.is_(None))

    def agg(value, where=None):
        return sa.select(value).where(live, sa.true() if where is None else where) \
            .scalar_subquery()
    query = sa.select(
        customer.c.id, agg(sa.func.count()), agg(sa.func.count(), won),
        agg(sa.func.sum(deal.c.amount)), agg(sa.func.sum(deal.c.amount), won),
        agg(sa.func.min(deal.c.amount)), agg(sa.func.max(deal.c.close_on)),
        agg(sa.func.sum(deal.c.amount)), agg(sa.func.count(deal.c.amount)),
        agg(sa.func.sum(deal.c.amount), not_won), agg(sa.func.count(deal.c.amount), not_won))
    found = {}
    for (id, deals, won_deals, total, won_total, smallest, latest, amount_sum, amounts,
         other_sum, others) in conn.execute(query):
        found[id] = {
            "deals": deals, "won_deals": won_deals,
            "total": _rounded(total or 0, "0.01"), "won_total": _rounded(won_total or 0, "0.01"),
            "smallest": _rounded(smallest, "0.01"),
            "latest": dt.date.fromisoformat(latest) if isinstance(latest, str) else latest,
            "average": _rounded(Decimal(str(amount_sum)) / amounts, "0.0001") if amounts
            else None,
            "won_average": _rounded(Decimal(str(other_sum)) / others, "0.0001") if others
            else None}
    return found


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(steps=steps)
def test_stored_rollups_always_equal_a_fresh_aggregate(records, steps):
    names = [n for n, f in records.pack.entities["customer"].fields.items()
             if f.type == "rollup"]
    for step in [*SETUP, *steps]:
        note(f"step {step}")
        try:
            _apply(records, step)
        except (ValidationFailed, Refused, NotFound):   # refused writes change nothing
            pass
        with records.engine.connect() as conn:        # after every step, not only the last
            expected = _expected(conn, records)
            stored = {row.id: {n: row._mapping[n] for n in names}
                      for row in conn.execute(sa.select(records.store.table("customer")))}
        assert stored == expected
