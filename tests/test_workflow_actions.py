"""`on_enter` actions: `set` and `create` with every token, in the move's transaction; an
action that cannot be saved refuses the whole move."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from karte.auth.users import add_user
from karte.store import Records
from karte.store.actor import Actor
from karte.store.migrate import migrate
from karte.workflow import MoveRefused, Workflows

DEAL = {"name": "deal", "fields": {
    "title": {"type": "string", "required": True},
    "close_on": {"type": "date"}, "closed_at": {"type": "datetime"},
    "score": {"type": "integer", "read_only": True},
    "owner": {"type": "user"}}}
TASK = {"name": "task", "fields": {
    "title": {"type": "string", "required": True},
    "code": {"type": "string", "unique": True},
    "deal": {"type": "link", "to": "deal", "on_delete": "cascade"},
    "due_on": {"type": "date"}, "remind_at": {"type": "datetime"},
    "owner": {"type": "user"}, "mover": {"type": "user"},
    "priority": {"type": "enum", "options": ["low", "high"]},
    "notes": {"type": "text",
              "required_if": {"field": "priority", "op": "=", "value": "high"}}}}
KICK_OFF = {"create": "task", "values": {
    "title": "Kick-off call", "deal": "$record", "due_on": {"days_from_today": 3},
    "remind_at": {"days_from_today": 1}, "owner": "$owner", "mover": "$me"}}


def workflow(*actions) -> dict:
    return {"name": "pipeline", "entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "label": "Won", "final": "won"},
                       {"key": "lost", "final": "lost"}],
            "on_enter": {"won": list(actions)}}


@pytest.fixture
def flows(engine, make_pack):
    def make(*actions):
        built = make_pack({"deal": DEAL, "task": TASK}, {"pipeline": workflow(*actions)})
        migrate(engine, built)
        return Workflows(Records(engine, built))
    return make


def person(service: Workflows, email: str) -> Actor:
    return Actor(add_user(service.records.engine, service.pack, email, "admin"), email)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def test_set_and_create_resolve_every_token_as_of_the_move(flows):
    service = flows({"set": {"close_on": "$today", "closed_at": "$now", "score": 10}},
                    KICK_OFF)
    owner, mover = person(service, "owner@example.com"), person(service, "mover@example.com")
    deal = service.records.create("deal", {"title": "D", "owner": owner.id})
    before = dt.datetime.now(dt.UTC)

    won = service.move("deal", deal["id"], "won", mover)

    after = dt.datetime.now(dt.UTC)
    assert won["close_on"] in (before.date(), after.date()) and won["score"] == 10
    assert before <= won["closed_at"] <= after
    [task] = service.records.query("task")
    day = won["close_on"]
    assert (task["title"], task["deal"], task["owner"], task["mover"]) == (
        "Kick-off call", deal["id"], owner.id, mover.id)
    assert task["due_on"] == day + dt.timedelta(days=3)
    assert task["remind_at"] == dt.datetime.combine(day + dt.timedelta(days=1), dt.time(),
                                                    dt.UTC)
    assert task["created_by"] == mover.id


def test_owner_falls_back_to_the_creator(flows):
    service = flows(KICK_OFF)
    creator = person(service, "creator@example.com")
    deal = service.records.create("deal", {"title": "D"}, creator)

    service.move("deal", deal["id"], "won")

    assert service.records.query("task")[0]["owner"] == creator.id


def test_an_action_that_does_not_validate_refuses_the_whole_move(flows):
    service = flows({"set": {"close_on": "$today"}},
                    {"create": "task", "values": {"title": "Call", "priority": "high"}})
    deal = service.records.create("deal", {"title": "D"})

    with pytest.raises(MoveRefused) as error:
        service.move("deal", deal["id"], "won")

    assert [(p.where, p.message, p.code) for p in error.value.problems] == [
        ("task.notes", "Entering Won creates a task, but: Notes is required.", "action")]
    assert not error.value.only_missing
    assert service.records.get("deal", deal["id"]) == deal
    assert service.records.query("task") == []


def test_an_action_refused_by_the_database_rolls_the_move_back(flows):
    service = flows({"set": {"score": 1}},
                    {"create": "task", "values": {"title": "Call", "code": "UNIQUE"}})
    first = service.records.create("deal", {"title": "A"})
    second = service.records.create("deal", {"title": "B"})
    service.move("deal", first["id"], "won")

    with pytest.raises(MoveRefused) as error:
        service.move("deal", second["id"], "won")

    assert [(p.where, p.message) for p in error.value.problems] == [
        ("task.code", "Entering Won creates a task, but: Another task already has this "
                      'code: "Call" (#1).')]
    assert service.records.get("deal", second["id"]) == second
    assert len(service.records.query("task")) == 1
    assert [m["to_stage"] for m in service.history("deal", second["id"])] == ["new"]


def test_actions_run_only_when_entering_their_stage(flows):
    service = flows(KICK_OFF)
    deal = service.records.create("deal", {"title": "D"})

    service.move("deal", deal["id"], "lost")

    assert service.records.query("task") == []


# -- $record.<field>: one field of the moved record ----------------------------------------

ORDER = {"name": "order", "fields": {
    "title": {"type": "string", "required": True},
    "customer": {"type": "link", "to": "customer"},
    "contacts": {"type": "links", "to": "customer"},
    "amount": {"type": "money"}, "seats": {"type": "integer"},
    "ships_on": {"type": "date"}, "paid": {"type": "boolean"},
    "tags": {"type": "multi_enum", "options": ["vip", "new"]},
    "owner": {"type": "user"}, "billed": {"type": "money"}, "billed_twice": {"type": "money"}}}
INVOICE = {"name": "invoice", "fields": {
    "title": {"type": "text"},
    "customer": {"type": "link", "to": "customer", "required": True},
    "contacts": {"type": "links", "to": "customer"},
    "amount": {"type": "money"}, "seats": {"type": "decimal"},
    "due_on": {"type": "date"}, "paid": {"type": "boolean"},
    "tags": {"type": "multi_enum", "options": ["vip", "new", "old"]},
    "owner": {"type": "user"}, "placed_by": {"type": "user"}}}
COPY_ALL = {"create": "invoice", "values": {
    name: f"$record.{name}" for name in ("title", "customer", "contacts", "amount", "seats",
                                         "paid", "tags", "owner")}
    | {"due_on": "$record.ships_on", "placed_by": "$record.created_by"}}


@pytest.fixture
def orders(engine, make_pack):
    def make(*actions):
        flow = {"name": "fulfilment", "entity": "order", "field": "stage",
                "stages": [{"key": "open"}, {"key": "done", "label": "Done", "final": "won"}],
                "on_enter": {"done": list(actions)}}
        built = make_pack({"customer": {"name": "customer", "fields": {
            "name": {"type": "string"}}}, "order": ORDER, "invoice": INVOICE},
            {"fulfilment": flow})
        migrate(engine, built)
        return Workflows(Records(engine, built))
    return make


def test_record_field_tokens_copy_every_type_as_the_record_enters(orders):
    service = orders({"set": {"billed": "$record.amount"}},
                     {"set": {"billed_twice": "$record.billed"}}, COPY_ALL)
    owner = person(service, "owner@example.com")
    acme, beta = (service.records.create("customer", {"name": n})["id"] for n in "AB")
    order = service.records.create("order", {
        "title": "Ten seats", "customer": acme, "contacts": [acme, beta], "amount": "100",
        "seats": 10, "ships_on": "2030-01-02", "paid": False, "tags": ["vip"],
        "owner": owner.id}, owner)

    done = service.move("order", order["id"], "done", values={"amount": "250.50"})

    assert done["billed"] == done["billed_twice"] == Decimal("250.50")   # after carrying
    [invoice] = service.records.query("invoice")
    assert {k: invoice[k] for k in (*COPY_ALL["values"],)} == {
        "title": "Ten seats", "customer": acme, "contacts": [acme, beta],
        "amount": Decimal("250.50"), "seats": Decimal("10.00"), "paid": False,
        "tags": ["vip"], "owner": owner.id, "due_on": dt.date(2030, 1, 2),
        "placed_by": owner.id}


def test_an_empty_source_writes_an_empty_value(orders):
    service = orders({"set": {"billed": "$record.amount"}},
                     {"create": "invoice", "values": {
                         "customer": "$record.customer", "amount": "$record.amount",
                         "contacts": "$record.contacts", "tags": "$record.tags"}})
    acme = service.records.create("customer", {"name": "A"})["id"]
    order = service.records.create("order", {"title": "T", "customer": acme,
                                             "billed": "5"})

    done = service.move("order", order["id"], "done")

    [invoice] = service.records.query("invoice")
    assert done["billed"] is None
    assert (invoice["amount"], invoice["contacts"], invoice["tags"]) == (None, [], None)


def test_a_create_left_without_a_required_copied_value_refuses_the_move(orders):
    service = orders({"set": {"billed": "1"}},
                     {"create": "invoice", "values": {"customer": "$record.customer"}})
    order = service.records.create("order", {"title": "No customer yet"})

    with pytest.raises(MoveRefused) as error:
        service.move("order", order["id"], "done")

    [problem] = error.value.problems
    assert problem.where == "invoice.customer"
    assert problem.message.endswith("but: Customer is required.")
    assert service.records.get("order", order["id"]) == order
    assert service.records.query("invoice") == []
