"""SPEC §3.4 enforced by the records and workflow services: every role × entity × action of
a pack written here, against a table of rights worked out by hand from that pack.

`note` has an `owner` user field, so "own" means owned by the actor; `memo` has none, so
"own" means created by the actor. A "mine" note is created by someone else but owned by
the actor (and "theirs" the other way round), so the owner field is seen to win.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from karte.auth.users import add_user
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import Forbidden, NotFound
from karte.store.migrate import migrate
from karte.workflow import Workflows, can_move

FLOW = {"stages": [{"key": "open"}, {"key": "done", "final": "won"}]}
ENTITIES = {
    "note": {"name": "note", "plural": "Notes", "fields": {
        "title": {"type": "string"}, "owner": {"type": "user"}},
        "permissions": {"guest": {"read": "all", "delete": "own"},
                        "auditor": {"create": True, "update": "all"}}},
    "memo": {"name": "memo", "plural": "Memos", "fields": {"title": {"type": "string"}}},
}
WORKFLOWS = {f"{name}_flow": {"name": f"{name}_flow", "entity": name, "field": "stage",
                              **FLOW} for name in ENTITIES}
ROLES = {
    "clerk": {"*": {"read": "all", "create": True, "update": "own", "delete": "own"},
              "memo": {"update": "all", "delete": False}},
    "guest": {"*": {"read": "own", "create": False, "update": "own", "delete": False}},
    "auditor": {"*": {"read": "all"}},
    "blind": {"memo": {"read": "own", "create": True, "update": "all"}},
}
# (read, create, update, delete), worked out by hand: entity file, then the pack's entry for
# the entity, then the role's "*", then false.
EXPECTED = {
    ("admin", "note"): ("all", True, "all", "all"),
    ("admin", "memo"): ("all", True, "all", "all"),
    ("clerk", "note"): ("all", True, "own", "own"),
    ("clerk", "memo"): ("all", True, "all", False),
    ("guest", "note"): ("all", False, "own", "own"),
    ("guest", "memo"): ("own", False, "own", False),
    ("auditor", "note"): ("all", True, "all", False),
    ("auditor", "memo"): ("all", False, False, False),
    ("blind", "note"): (False, False, False, False),
    ("blind", "memo"): ("own", True, "all", False),
}
OK, FORBIDDEN, NOT_FOUND = "ok", "forbidden", "not found"


@pytest.fixture
def flows(engine, make_pack) -> Workflows:
    pack = make_pack(ENTITIES, WORKFLOWS, {"roles": ROLES})
    migrate(engine, pack)
    return Workflows(Records(engine, pack))


def person(flows: Workflows, role: str, email: str = "") -> Actor:
    email = email or f"{role}@example.com"
    return Actor(add_user(flows.records.engine, flows.pack, email, role), email, role=role)


def outcome(call: Callable[[], Any]) -> str:
    try:
        call()
    except Forbidden:
        return FORBIDDEN
    except NotFound:
        return NOT_FOUND
    return OK


def expected(level: str | bool, mine: bool, readable: bool) -> str:
    """What an update, delete, restore or move of one record should come to."""
    if not readable:
        return NOT_FOUND
    return OK if level == "all" or (level == "own" and mine) else FORBIDDEN


class Case:
    """One role on one entity: the actor, someone else, and records of each."""

    def __init__(self, flows: Workflows, role: str, entity: str):
        self.flows, self.records, self.entity = flows, flows.records, entity
        self.actor, self.other = (person(flows, role),
                                  person(flows, "clerk", "other@example.com"))
        self.owned = "owner" in flows.pack.entities[entity].fields

    def record(self, mine: bool) -> dict:
        """A fresh record that is the actor's (`mine`) or the other's, made by the system."""
        me, them = (self.actor, self.other) if mine else (self.other, self.actor)
        if self.owned:
            return self.records.create(self.entity, {"title": "t", "owner": me.id}, them,
                                       enforce=False)
        return self.records.create(self.entity, {"title": "t"}, me, enforce=False)

    def readable(self, level: str | bool, mine: bool) -> bool:
        return level == "all" or (level == "own" and mine)


def writes(case: Case, mine: bool) -> dict[str, str]:
    """Update, delete, restore and move of one record by the actor."""
    records, actor, entity = case.records, case.actor, case.entity
    one, two, three = case.record(mine), case.record(mine), case.record(mine)
    records.delete(entity, three["id"])
    return {
        "update": outcome(lambda: records.update(entity, one["id"], {"title": "u"},
                                                 one["version"], actor)),
        "delete": outcome(lambda: records.delete(entity, two["id"], actor)),
        "restore": outcome(lambda: records.restore(entity, three["id"], actor)),
        "move": outcome(lambda: case.flows.move(entity, case.record(mine)["id"], "done",
                                                actor)),
    }


@pytest.mark.parametrize(("role", "entity"), sorted(EXPECTED))
def test_every_role_gets_exactly_its_rights_on_every_entity(flows, role, entity):
    read, create, update, delete = EXPECTED[(role, entity)]
    case = Case(flows, role, entity)

    for mine in (True, False):
        readable = case.readable(read, mine)
        assert writes(case, mine) == {
            "update": expected(update, mine, readable),
            "delete": expected(delete, mine, readable),
            "restore": expected(delete, mine, readable),
            "move": expected(update, mine, readable)}, f"mine={mine}"
    assert outcome(lambda: case.records.create(entity, {"title": "n"}, case.actor)) == (
        OK if create else FORBIDDEN)
    assert outcome(lambda: case.records.create_many(entity, [{"title": "n"}],
                                                    case.actor)) == (
        OK if create else FORBIDDEN)


@pytest.mark.parametrize(("role", "entity"), sorted(EXPECTED))
def test_every_role_sees_exactly_the_records_it_may_read(flows, role, entity):
    read = EXPECTED[(role, entity)][0]
    case = Case(flows, role, entity)
    mine, theirs = case.record(True), case.record(False)
    records, actor = case.records, case.actor
    visible = [r["id"] for r, is_mine in ((mine, True), (theirs, False))
               if case.readable(read, is_mine)]

    assert [r["id"] for r in records.query(entity, sort="id", actor=actor)] == visible
    assert records.count(entity, actor=actor) == len(visible)
    assert records.count(entity, where={"field": "title", "op": "=", "value": "t"},
                         actor=actor) == len(visible)
    assert [r["id"] for r in records.get_many(entity, [mine["id"], theirs["id"]],
                                              actor=actor)] == visible
    for record in (mine, theirs):
        shown = record["id"] in visible
        assert outcome(lambda r=record: records.get(entity, r["id"], actor=actor)) == (
            OK if shown else NOT_FOUND)
        assert outcome(lambda r=record: records.history(entity, r["id"], actor)) == (
            OK if shown else NOT_FOUND)


def test_the_refusal_names_the_role_and_the_entity_in_words(flows):
    viewer = person(flows, "auditor")
    clerk = person(flows, "clerk")
    note = flows.records.create("note", {"title": "t"}, enforce=False)

    with pytest.raises(Forbidden) as error:
        flows.records.create("memo", {"title": "t"}, viewer)
    assert (error.value.status, [p.message for p in error.value.problems]) == (
        403, ["Your role (auditor) may not create memos."])
    with pytest.raises(Forbidden) as error:
        flows.records.delete("note", note["id"], clerk)
    assert [p.message for p in error.value.problems] == [
        "Your role (clerk) may only delete your own notes."]


def test_can_move_gives_the_refusal_as_a_reason_and_hides_unreadable_records(flows):
    clerk, blind = person(flows, "clerk"), person(flows, "blind")
    note = flows.records.create("note", {"title": "t"})

    assert [(p.code, p.message) for p in can_move(flows, "note", note["id"], "done",
                                                  clerk)] == [
        ("forbidden", "Your role (clerk) may only move your own notes.")]
    assert can_move(flows, "note", note, "done") == []
    with pytest.raises(NotFound):
        can_move(flows, "note", note["id"], "done", blind)
    assert flows.next_stages("note", note, clerk) == []
    assert flows.next_stages("note", note, person(flows, "auditor")) == ["done"]
