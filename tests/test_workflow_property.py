"""Property: whatever edits and move attempts people make, in any order, a record is never
in a stage whose `requires` are empty or whose rules fail, a refused write changes
nothing (a viewer's move is Forbidden), and every accepted move is one the policy and the
mover's role allow."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from karte.auth.users import add_user
from karte.meta import conditions
from karte.meta.moves import refusal, stage_index
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import Forbidden, ValidationFailed
from karte.store.migrate import migrate
from karte.workflow import MoveRefused, Workflows

ITEM = {"name": "item", "fields": {"a": {"type": "integer"}, "b": {"type": "string"},
                                   "c": {"type": "integer"}}}
FLOW = {"name": "flow", "entity": "item", "field": "stage", "stages": [
    {"key": "s0"},
    {"key": "s1", "requires": ["a"]},
    {"key": "s2", "requires": ["a", "b"], "rules": [
        {"when": {"field": "a", "op": ">", "value": 0}, "message": "a must be positive"}]},
    {"key": "s3", "rules": [{"when": {"field": "c", "op": "<", "value": 10},
                             "message": "c must stay under 10"}]},
    {"key": "won", "final": "won", "requires": ["b"], "rules": [
        {"when": {"any": [{"field": "a", "op": ">=", "value": 5},
                          {"field": "c", "op": "empty"}]}, "message": "big a or no c"}]},
    {"key": "lost", "final": "lost", "requires": ["c"]}],
    "moves": {"skip": True, "back": True, "reopen": False},
    "transitions": [{"from": "*", "to": "lost"},
                    {"from": "s2", "to": "won", "roles": ["sales"]},
                    {"from": "s1", "to": "won", "when": {"field": "c", "op": ">", "value": 3}}],
    "on_enter": {"s2": [{"set": {"c": 12}}], "s3": [{"set": {"b": "entered"}}]}}
ROLES = {"sales": {"*": {"read": "all", "create": True, "update": "all", "delete": False}},
         "assistant": {"*": {"read": "all", "create": False, "update": "all",
                             "delete": False}},
         "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}}}
KEYS = [stage["key"] for stage in FLOW["stages"]]

values = st.fixed_dictionaries({}, optional={
    "a": st.sampled_from([None, -1, 0, 3, 7, 7]),
    "b": st.sampled_from([None, "", "x", "x"]),
    "c": st.sampled_from([None, 0, 5, 12])})
edits = st.tuples(st.just("edit"), values, st.none())
moves = st.tuples(st.just("move"), st.sampled_from(KEYS), values,
                  st.sampled_from([None, "sales", "assistant", "viewer"]))
steps = st.lists(st.one_of(edits.map(lambda e: (*e, None)), moves), max_size=15)


@pytest.fixture
def service(engine, make_pack) -> Workflows:
    pack = make_pack({"item": ITEM}, {"flow": FLOW}, {"roles": ROLES})
    migrate(engine, pack)
    return Workflows(Records(engine, pack))


@pytest.fixture
def people(service) -> dict[str | None, Actor | None]:
    """The mover per role (None: the system)."""
    def person(role: str) -> Actor:
        email = f"{role}@example.com"
        return Actor(add_user(service.records.engine, service.pack, email, role), email,
                     role=role)
    return {None: None, **{role: person(role) for role in ("sales", "assistant", "viewer")}}


def assert_stage_kept(service: Workflows, record: dict) -> None:
    workflow = service.pack.workflows["flow"]
    stage = workflow.stage(record["stage"])
    ctx = conditions.Context.current()
    assert all(record[name] is not None for name in stage.requires), record
    assert all(conditions.evaluate(rule.when, record, ctx, lambda *_: None)
               for rule in stage.rules), record


def attempt(service: Workflows, people: dict, record: dict, step: tuple) -> dict:
    kind, first, second, role = step
    if kind == "edit":
        return service.records.update("item", record["id"], first, record["version"])
    moved = service.move("item", record["id"], first, people[role], values=second)
    assert role != "viewer", "a role without update rights moved a record"
    if moved["stage"] != record["stage"]:
        event(f"moved {record['stage']} → {first}")
        workflow = service.pack.workflows["flow"]
        before = {**record, **second}
        assert refusal(workflow, stage_index(workflow, record["stage"]),
                       stage_index(workflow, first), role,
                       lambda cond: conditions.evaluate(cond, before,
                                                        conditions.Context.current(),
                                                        lambda *_: None)) is None
    return moved


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=steps)
def test_no_sequence_of_writes_breaks_a_stage(service, people, steps):
    record = service.records.create("item", {})
    for step in steps:
        note(f"{record['stage']} ← {step}")
        try:
            record = attempt(service, people, record, step)
        except (MoveRefused, ValidationFailed, Forbidden):
            assert service.records.get("item", record["id"]) == record
        assert_stage_kept(service, service.records.get("item", record["id"]))
