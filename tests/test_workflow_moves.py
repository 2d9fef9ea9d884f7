"""Moving records: requires and rules refused with every reason at once, in the mover's
language; values carried by a move saved with it, all or nothing; stage requirements kept
by ordinary edits; several workflows on one entity."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from karte.auth.users import add_user
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import Conflict, Refused, ValidationFailed
from karte.store.migrate import migrate
from karte.workflow import MoveRefused, Workflows, can_move

DEAL = {"name": "deal", "label": {"en": "Deal", "ja": "商談"}, "fields": {
    "title": {"type": "string", "required": True},
    "amount": {"type": "money", "min": 0, "label": {"en": "Amount", "ja": "金額"}},
    "invoice_no": {"type": "string", "label": {"en": "Invoice no.", "ja": "請求書番号"}},
    "lost_reason": {"type": "text"},
    "score": {"type": "integer", "read_only": True},
    "owner": {"type": "user", "default": "$me"}}}
LABELS = {"new": {"en": "New", "ja": "新規"}, "qualified": {"en": "Qualified", "ja": "有望"},
          "invoiced": {"en": "Invoiced", "ja": "請求済"}, "won": {"en": "Won", "ja": "受注"},
          "lost": {"en": "Lost", "ja": "失注"}}
POSITIVE = {"when": {"field": "amount", "op": ">", "value": 0},
            "message": {"en": "An invoice needs a positive amount.",
                        "ja": "請求するには金額を0より大きくしてください。"}}


def pipeline(moves=None, transitions=None, on_enter=None) -> dict:
    stages = [{"key": "new"}, {"key": "qualified", "requires": ["amount"]},
              {"key": "invoiced", "requires": ["amount", "invoice_no"], "rules": [POSITIVE]},
              {"key": "won", "final": "won"},
              {"key": "lost", "final": "lost", "requires": ["lost_reason"]}]
    for stage in stages:
        stage["label"] = LABELS[stage["key"]]
    return {"name": "pipeline", "entity": "deal", "field": "stage", "stages": stages,
            "moves": moves or {}, "transitions": transitions or [],
            "on_enter": on_enter or {}}


ROLES = {"sales": {"*": {"read": "all", "create": True, "update": "all", "delete": False}},
         "assistant": {"*": {"read": "all", "create": False, "update": "all",
                             "delete": False}},
         "viewer": {"*": {"read": "all", "create": False, "update": False, "delete": False}}}


@pytest.fixture
def flows(engine, make_pack):
    """flows(workflow=None, entities=None) -> Workflows over fresh tables."""
    def make(workflow=None, entities=None, workflows=None):
        built = make_pack(entities or {"deal": DEAL},
                          workflows or {"pipeline": workflow or pipeline()},
                          {"locale": "en", "roles": ROLES})
        migrate(engine, built)
        return Workflows(Records(engine, built))
    return make


def actor(flows_service: Workflows, role: str = "sales", locale: str | None = None) -> Actor:
    email = f"{role}-{locale}@example.com"
    return Actor(add_user(flows_service.records.engine, flows_service.pack, email, role),
                 email, role=role, locale=locale)


def deal(service: Workflows, **values) -> dict:
    return service.records.create("deal", {"title": "Deal", **values})


def history_rows(service: Workflows, id: int) -> list[tuple]:
    return [(m["from_stage"], m["to_stage"]) for m in reversed(service.history("deal", id))]


def refusal(call) -> MoveRefused:
    with pytest.raises(MoveRefused) as error:
        call()
    return error.value


# ---------------------------------------------------------------- requires and rules

def test_a_refused_move_gives_every_reason_at_once_and_writes_nothing(flows):
    service = flows()
    record = deal(service)

    error = refusal(lambda: service.move("deal", record["id"], "invoiced"))

    assert [(p.where, p.message) for p in error.problems] == [
        ("amount", "Fill in Amount to move to Invoiced."),
        ("invoice_no", "Fill in Invoice no. to move to Invoiced."),
        ("amount", "An invoice needs a positive amount.")]
    assert error.missing == ("amount", "invoice_no") and error.only_missing
    assert error.status == 409 and isinstance(error, Refused)
    assert service.records.get("deal", record["id"]) == record
    assert history_rows(service, record["id"]) == [(None, "new")]


def test_refusals_speak_the_movers_language(flows):
    service = flows()
    record = deal(service)
    japanese = actor(service, "sales", "ja")

    error = refusal(lambda: service.move("deal", record["id"], "invoiced", japanese,
                                         values={"amount": "0"}))

    assert [p.message for p in error.problems] == [
        "「請求済」に進むには「請求書番号」を入力してください。",
        "請求するには金額を0より大きくしてください。"]
    assert error.missing == ("invoice_no",) and not error.only_missing


def test_a_failing_rule_alone_is_not_answered_by_filling_fields(flows):
    service = flows()
    record = deal(service, amount="0", invoice_no="I-1")

    error = refusal(lambda: service.move("deal", record["id"], "invoiced"))

    assert [(p.where, p.code) for p in error.problems] == [("amount", "rule")]
    assert error.missing == () and not error.only_missing


def test_can_move_tells_without_writing(flows):
    service = flows()
    record = deal(service, amount="5")

    assert can_move(service.records, "deal", record["id"], "qualified") == []
    assert [p.where for p in can_move(service, "deal", record, "invoiced")] == ["invoice_no"]
    assert can_move(service, "deal", record, "invoiced", values={"invoice_no": "I"}) == []
    assert service.records.get("deal", record["id"])["version"] == 1


# ---------------------------------------------------------------- carried values

def test_values_carried_by_a_move_are_saved_with_it_in_one_step(flows):
    service = flows()
    record = deal(service)

    moved = service.move("deal", record["id"], "invoiced",
                         values={"amount": "1200", "invoice_no": "INV-7"}, version=1)

    assert (moved["stage"], moved["amount"], moved["invoice_no"], moved["version"]) == (
        "invoiced", Decimal("1200.00"), "INV-7", 2)
    [entry] = [h for h in service.records.history("deal", record["id"]) if h["version"] == 2]
    assert entry["action"] == "move"
    assert entry["changes"] == {"stage": ["new", "invoiced"], "amount": [None, "1200.00"],
                                "invoice_no": [None, "INV-7"]}


@pytest.mark.parametrize(("values", "expected"), [
    ({"amount": "lots", "invoice_no": "I-1"}, [("amount", "invalid")]),
    ({"amount": "0", "invoice_no": "I-1"}, [("amount", "rule")]),
    ({"amount": "5", "invoice_no": "I-1", "stage": "won"}, [("stage", "stage")]),
    ({"amount": "5", "invoice_no": "I-1", "score": 3}, [("score", "read_only")]),
    ({"amount": "5", "invoice_no": "I-1", "colour": "red"}, [("colour", "unknown_field")]),
])
def test_carried_values_are_all_or_nothing(flows, values, expected):
    service = flows()
    record = deal(service)

    error = refusal(lambda: service.move("deal", record["id"], "invoiced", values=values))

    assert [(p.where, p.code) for p in error.problems] == expected
    assert service.records.get("deal", record["id"]) == record


def test_a_stale_version_is_a_conflict_and_nothing_moves(flows):
    service = flows()
    record = deal(service, amount="5")
    service.records.update("deal", record["id"], {"title": "Renamed"}, 1)

    with pytest.raises(Conflict):
        service.move("deal", record["id"], "qualified", version=1)
    assert service.records.get("deal", record["id"])["stage"] == "new"


def test_moving_to_the_same_stage_is_no_move(flows):
    service = flows()
    record = deal(service)

    assert service.move("deal", record["id"], "new") == record
    assert can_move(service, "deal", record, "new") == []
    kept = service.move("deal", record["id"], "new", values={"amount": "9"})
    assert (kept["stage"], kept["amount"], kept["version"]) == ("new", Decimal("9.00"), 2)
    assert history_rows(service, record["id"]) == [(None, "new")]


@pytest.mark.parametrize(("to", "workflow", "where", "message"), [
    ("nowhere", None, "stage",
     'There is no stage "nowhere" for this deal; stages: new, qualified, invoiced, won, '
     "lost."),
    ("won", "billing", "workflow", 'There is no workflow "billing".'),
])
def test_unknown_stages_and_workflows_are_invalid_input(flows, to, workflow, where, message):
    service = flows()
    record = deal(service)

    with pytest.raises(ValidationFailed) as error:
        service.move("deal", record["id"], to, workflow=workflow)
    assert error.value.by_field() == {where: [message]}


# ---------------------------------------------------------------- the policy, explained

MESSAGES = [
    ({}, [], ["won"], "sales", "new",
     "Won is a final stage: this deal cannot move from it to New (reopening is off)."),
    ({"skip": False}, [{"from": "*", "to": "lost"}], [], "sales", "invoiced",
     "This deal cannot skip stages: from New it moves only to Qualified."),
    ({"back": False}, [], ["qualified"], "sales", "new",
     "This deal cannot go back from Qualified to New."),
    ({}, [{"from": "invoiced", "to": "won", "roles": ["sales"]}], ["invoiced"], "assistant",
     "won", "Only sales may move this deal from Invoiced to Won."),
    ({}, [{"from": "qualified", "to": "won",
           "when": {"field": "amount", "op": ">=", "value": 1000}}], ["qualified"], "sales",
     "won", "This deal does not meet the conditions for moving from Qualified to Won."),
]


@pytest.mark.parametrize(("moves", "transitions", "path", "role", "to", "message"), MESSAGES)
def test_a_move_the_policy_refuses_says_why(flows, moves, transitions, path, role, to,
                                            message):
    service = flows(pipeline(moves, transitions))
    record = deal(service, amount="50", invoice_no="I-1")
    for stage in path:
        service.move("deal", record["id"], stage)

    error = refusal(lambda: service.move("deal", record["id"], to, actor(service, role)))

    assert [(p.where, p.message, p.code) for p in error.problems] == [
        ("stage", message, "not_allowed")]
    assert not error.only_missing


def test_a_transition_condition_sees_the_carried_values(flows):
    service = flows(pipeline(transitions=[{"from": "qualified", "to": "won", "when": {
        "field": "amount", "op": ">=", "value": 1000}}]))
    record = deal(service, amount="50")
    service.move("deal", record["id"], "qualified")

    assert service.move("deal", record["id"], "won", values={"amount": "1000"})["stage"] == \
        "won"


def test_the_policy_and_the_fields_are_reported_together(flows):
    service = flows(pipeline({"skip": False}, [{"from": "*", "to": "lost"}]))
    record = deal(service)

    error = refusal(lambda: service.move("deal", record["id"], "invoiced"))

    assert [p.code for p in error.problems] == ["not_allowed", "required", "required", "rule"]
    assert not error.only_missing


def test_next_stages_offers_what_the_actor_may_try(flows):
    service = flows(pipeline(transitions=[{"from": "invoiced", "to": "won",
                                           "roles": ["sales"]}]))
    record = deal(service, amount="5", invoice_no="I")
    record = service.move("deal", record["id"], "invoiced")

    assert service.next_stages("deal", record, actor(service, "assistant")) == [
        "new", "qualified", "lost"]
    assert service.next_stages("deal", record, actor(service, "viewer")) == []
    assert service.next_stages("deal", record, actor(service, "sales")) == [
        "new", "qualified", "won", "lost"]


# ---------------------------------------------------------------- stages keep requirements

def test_an_edit_may_not_empty_what_the_current_stage_requires(flows):
    service = flows()
    record = deal(service, amount="5", invoice_no="I-1")
    service.move("deal", record["id"], "invoiced")

    with pytest.raises(ValidationFailed) as error:
        service.records.update("deal", record["id"], {"invoice_no": "", "amount": "0"}, 2)

    assert error.value.by_field() == {
        "invoice_no": ["Invoice no. is required while the deal is in Invoiced."],
        "amount": ["An invoice needs a positive amount."]}
    assert service.records.update("deal", record["id"], {"title": "Still fine"}, 2)[
        "version"] == 3


def test_a_record_cannot_be_created_in_a_stage_without_its_requirements(flows):
    workflow = pipeline()
    workflow["stages"][0]["requires"] = ["amount"]
    service = flows(workflow)

    with pytest.raises(ValidationFailed) as error:
        deal(service)

    assert error.value.by_field() == {"amount": ["Amount is required while the deal is in "
                                                 "New."]}


# ---------------------------------------------------------------- several workflows

BILLING = {"name": "billing", "entity": "deal", "field": "billing_status",
           "stages": [{"key": "open"}, {"key": "billed", "requires": ["invoice_no"]},
                      {"key": "paid", "final": "paid"}]}


def test_two_workflows_move_one_record_independently(flows):
    service = flows(workflows={"pipeline": pipeline(), "billing": BILLING})
    record = deal(service, amount="5")
    assert (record["stage"], record["billing_status"]) == ("new", "open")

    service.move("deal", record["id"], "qualified")
    error = refusal(lambda: service.move("deal", record["id"], "billed"))
    assert error.missing == ("invoice_no",)
    moved = service.move("deal", record["id"], "billed", values={"invoice_no": "I-1"})

    assert (moved["stage"], moved["billing_status"]) == ("qualified", "billed")
    assert [(m["workflow"], m["to_stage"]) for m in reversed(
        service.history("deal", record["id"]))] == [
        ("billing", "open"), ("pipeline", "new"), ("pipeline", "qualified"),
        ("billing", "billed")]
    with pytest.raises(ValidationFailed) as edit:
        service.records.update("deal", record["id"], {"invoice_no": None}, moved["version"])
    assert edit.value.by_field() == {"invoice_no": [
        "Invoice no. is required while the deal is in Billed."]}


def test_a_stage_key_in_two_workflows_needs_the_workflow_named(flows):
    both = {**BILLING, "stages": [{"key": "new"}, {"key": "done", "final": "done"}]}
    service = flows(workflows={"pipeline": {**pipeline(), "stages": [
        {"key": "new"}, {"key": "done", "final": "done"}]}, "billing": {
        **both, "initial": "new"}})
    record = deal(service)

    with pytest.raises(ValidationFailed) as error:
        service.move("deal", record["id"], "done")
    assert error.value.by_field() == {"workflow": [
        'Stage "done" belongs to several workflows of this deal (billing, pipeline); say '
        "which one."]}

    moved = service.move("deal", record["id"], "done", workflow="billing")
    assert (moved["stage"], moved["billing_status"]) == ("new", "done")


def test_history_rows_are_written_in_the_moves_transaction(flows, engine):
    service = flows()
    record = deal(service, amount="5")
    service.move("deal", record["id"], "qualified")
    moves = service.store.tables["karte_stage_move"]

    with engine.connect() as conn:
        count = conn.scalar(sa.select(sa.func.count()).select_from(moves))
    assert count == 2
