"""`on_enter` actions: `set` and `create` with every token, in the move's transaction; an
action that cannot be saved refuses the whole move."""

from __future__ import annotations

import datetime as dt

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
