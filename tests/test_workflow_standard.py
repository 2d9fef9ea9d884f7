"""The standard pack's pipelines, end to end: deal_pipeline (requires, a rule, the won/lost
pair, a transition narrowed to roles, a kick-off task) and ticket_flow (reopening, a
follow-up task for the mover)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from karte.auth.users import add_user
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import Forbidden
from karte.store.migrate import migrate
from karte.workflow import MoveRefused, Workflows

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def service(engine) -> Workflows:
    pack = load_pack(ROOT)
    migrate(engine, pack)
    return Workflows(Records(engine, pack))


def user(service: Workflows, role: str, locale: str | None = None) -> Actor:
    email = f"{role}@example.com"
    return Actor(add_user(service.records.engine, service.pack, email, role), email,
                 role=role, locale=locale)


def customer(service: Workflows) -> int:
    return service.records.create("customer", {"name": "Acme"})["id"]


def refused(call) -> MoveRefused:
    with pytest.raises(MoveRefused) as error:
        call()
    return error.value


def test_a_deal_walks_the_sales_pipeline(service):
    sales, viewer = user(service, "sales"), user(service, "viewer")
    deal = service.records.create("deal", {"title": "20 licences",
                                           "customer": customer(service)}, sales)

    error = refused(lambda: service.move("deal", deal["id"], "proposal", sales))
    assert [p.message for p in error.problems] == ["Fill in Amount to move to Proposal."]
    service.move("deal", deal["id"], "invoiced", sales,
                 values={"amount": "4800", "invoice_no": "INV-1"})

    with pytest.raises(Forbidden) as forbidden:
        service.move("deal", deal["id"], "won", viewer)
    assert [p.message for p in forbidden.value.problems] == [
        "Your role (viewer) may not move deals."]
    won = service.move("deal", deal["id"], "won", sales)

    assert (won["stage"], won["probability"]) == ("won", Decimal("100.00"))
    [task] = service.records.query("task")
    assert (task["title"], task["deal"], task["customer"], task["owner"], task["priority"]) == (
        "Kick-off call", deal["id"], deal["customer"], sales.id, "high")
    assert task["due_on"] == won["close_on"] + dt.timedelta(days=3)
    error = refused(lambda: service.move("deal", deal["id"], "lost", sales,
                                         values={"lost_reason": "Changed their mind"}))
    assert error.problems[0].code == "not_allowed" and not error.only_missing


def test_a_lost_deal_needs_a_reason_asked_in_place(service):
    sales = user(service, "sales", "ja")
    deal = service.records.create("deal", {"title": "Pilot", "customer": customer(service),
                                           "owner": sales.id})

    error = refused(lambda: service.move("deal", deal["id"], "lost", sales))
    assert error.missing == ("lost_reason",) and error.only_missing
    assert error.problems[0].message == "「失注」に進むには「失注理由」を入力してください。"

    lost = service.move("deal", deal["id"], "lost", sales, values={"lost_reason": "Price"})
    assert (lost["stage"], lost["probability"]) == ("lost", Decimal("0.00"))
    assert service.records.query("task") == []


def test_a_ticket_is_worked_resolved_and_reopened(service):
    support = user(service, "support")
    ticket = service.records.create("ticket", {"subject": "Cannot log in",
                                               "customer": customer(service)}, support)

    error = refused(lambda: service.move("ticket", ticket["id"], "in_progress", support))
    assert error.missing == ("owner",) and error.only_missing
    service.move("ticket", ticket["id"], "in_progress", support,
                 values={"owner": support.id})
    error = refused(lambda: service.move("ticket", ticket["id"], "resolved", support))
    assert [p.message for p in error.problems] == ["Fill in Resolution to move to Resolved."]

    resolved = service.move("ticket", ticket["id"], "resolved", support,
                            values={"resolution": "Password reset"})
    [task] = service.records.query("task")
    assert (task["ticket"], task["owner"]) == (ticket["id"], support.id)
    assert task["due_on"] == resolved["updated_at"].date() + dt.timedelta(days=7)
    reopened = service.move("ticket", ticket["id"], "in_progress", support)
    assert (resolved["status"], reopened["status"]) == ("resolved", "in_progress")
    assert [m["to_stage"] for m in reversed(service.history("ticket", ticket["id"]))] == [
        "new", "in_progress", "resolved", "in_progress"]
