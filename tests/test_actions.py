"""Record actions (SPEC §3.7): checked at load time, shown only when they may run, and run
all or nothing — `set`, `create` (with tokens, and lines copied) and `move` — on both
databases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from karte.auth.users import add_user
from karte.fields import TYPES
from karte.meta.load import check_pack
from karte.store import Records
from karte.store.actor import Actor
from karte.store.errors import Conflict, NotFound, ValidationFailed
from karte.store.migrate import migrate
from karte.store.timeline import Timeline
from karte.workflow import ActionRefused, RecordActions, run_action
from tests.conftest import write_pack

ROLES = {"sales": {"*": {"read": "all", "create": False, "update": "all", "delete": False}},
         "support": {"*": {"read": "all", "create": True, "update": False, "delete": False}},
         "clerk": {"*": {"read": "all", "create": True, "update": "own", "delete": False}}}
CUSTOMER = {"fields": {"name": {"type": "string", "required": True}}}
ORDER = {"fields": {"title": {"type": "string", "required": True},
                    "code": {"type": "string", "unique": True},
                    "customer": {"type": "link", "to": "customer"},
                    "quote": {"type": "link", "to": "quote"},
                    "amount": {"type": "money"}, "taken_by": {"type": "user"}}}
MAKE_ORDER = {"create": "order", "values": {
    "title": "$record.title", "customer": "$record.customer", "quote": "$record",
    "amount": "$record.amount", "taken_by": "$me", "code": "$record.code"}}
FLOW = {"entity": "quote", "field": "stage", "stages": [
    {"key": "draft", "label": "Draft"}, {"key": "accepted", "label": "Accepted"},
    {"key": "ordered", "label": "Ordered", "final": "won", "requires": ["customer"]}]}


def quote(*actions) -> dict:
    return {"label": "Quote", "fields": {
        "title": {"type": "string", "required": True}, "code": {"type": "string"},
        "customer": {"type": "link", "to": "customer"}, "amount": {"type": "money"},
        "note": {"type": "text"}, "checked": {"type": "boolean", "read_only": True}},
        "actions": list(actions)}


ACCEPTED = {"field": "stage", "op": "=", "value": "accepted"}
ORDER_ACTION = {"name": "make_order", "label": {"en": "Create order", "ja": "受注を作成"},
                "when": ACCEPTED, "roles": ["sales", "support"],
                "do": [MAKE_ORDER, {"move": "ordered"}], "open": "created"}


@pytest.fixture
def service(engine, make_pack):
    def make(*actions):
        pack = make_pack({"customer": CUSTOMER, "order": ORDER, "quote": quote(*actions)},
                         {"quote_flow": FLOW}, {"roles": ROLES})
        migrate(engine, pack)
        return Records(engine, pack)
    return make


def person(records: Records, role: str, locale: str | None = None) -> Actor:
    email = f"{role}@example.com"
    return Actor(add_user(records.engine, records.pack, email, role, name=role.title()),
                 email, role.title(), role, locale)


def accepted_quote(records: Records, **values) -> dict:
    customer = records.create("customer", {"name": "Lyons Ltd"})
    made = records.create("quote", {"title": "Q-1", "customer": customer["id"],
                                    "amount": "1200.50", "code": "Q1", **values})
    from karte.workflow import Workflows
    return Workflows(records).move("quote", made["id"], "accepted")


def reasons(error) -> list[str]:
    return [p.message for p in error.value.problems]


# ---------------------------------------------------------------- the definitions

def test_a_valid_action_is_built_into_the_registry(make_pack):
    pack = make_pack({"customer": CUSTOMER, "order": ORDER, "quote": quote(ORDER_ACTION)},
                     {"quote_flow": FLOW}, {"roles": ROLES})
    [action] = pack.entities["quote"].actions
    assert (action.name, action.label.get("ja"), action.roles, action.open) == (
        "make_order", "受注を作成", ("sales", "support"), "created")
    assert [s.kind for s in action.steps] == ["create", "move"]
    assert action.when is not None and action.changes_record


def test_every_token_is_type_checked_against_its_target(tmp_path):
    bad = {"name": "bad", "do": [
        {"create": "order", "values": {"title": "$record.amount", "quote": "$record.customer",
                                       "customer": "$record", "amount": "$line.amount"}},
        {"set": {"amount": "$record.titel", "checked": "$today"}}]}
    root = write_pack(tmp_path, {"customer": CUSTOMER, "order": ORDER, "quote": quote(bad)},
                      {"quote_flow": FLOW}, {"roles": ROLES})
    pack, problems = check_pack(root)
    assert pack is None
    assert sorted((p.code, p.where.split(": ")[1]) for p in problems) == [
        ("DEF103", "/actions/0/do/1/set/checked"),
        ("DEF106", "/actions/0/do/0/values/customer"),
        ("DEF107", "/actions/0/do/1/set/amount"),
        ("DEF108", "/actions/0/do/0/values/quote"),
        ("DEF108", "/actions/0/do/0/values/title"),
        ("DEF109", "/actions/0/do/0/values/amount")]


# ---------------------------------------------------------------- steps

def test_set_writes_the_record_with_tokens_and_stamps_the_actor(service):
    records = service({"name": "check", "do": [
        {"set": {"note": "$record.title", "checked": True}}]})
    sales = person(records, "sales")
    made = accepted_quote(records)

    outcome = run_action(records, "quote", made["id"], "check", sales)

    stored = records.get("quote", made["id"])
    assert (stored["note"], stored["checked"], stored["updated_by"]) == ("Q-1", True, sales.id)
    assert outcome.record == stored and outcome.open == ("quote", made["id"])


def test_create_carries_the_record_along_and_the_move_applies(service):
    records = service(ORDER_ACTION)
    sales = person(records, "sales")
    made = accepted_quote(records)

    outcome = run_action(records, "quote", made["id"], "make_order", sales)

    [order] = records.query("order")
    assert (order["title"], order["customer"], order["quote"], order["amount"],
            order["taken_by"], order["code"]) == (
        "Q-1", made["customer"], made["id"], Decimal("1200.50"), sales.id, "Q1")
    assert order["created_by"] == sales.id          # sales may not create orders themselves
    assert records.get("quote", made["id"])["stage"] == "ordered"
    assert outcome.open == ("order", order["id"])
    assert outcome.created == [("order", order)]


def test_the_run_is_on_the_records_timeline_with_what_it_created(service):
    records = service(ORDER_ACTION)
    sales = person(records, "sales")
    made = accepted_quote(records)

    run_action(records, "quote", made["id"], "make_order", sales)

    entries = Timeline(records).entries("quote", made["id"]).entries
    [run] = [e for e in entries if e.kind == "action"]
    order = records.query("order")[0]
    assert (run.who, run.user_id) == ("Sales", sales.id)
    assert run.details == {"name": "make_order", "created": [
        {"entity": "order", "id": order["id"], "title": "Q-1"}]}
    assert [e.details["to"] for e in entries if e.kind == "move"][0] == "ordered"


def test_a_move_refused_after_a_create_writes_nothing(service):
    records = service(ORDER_ACTION)
    sales = person(records, "sales")
    made = accepted_quote(records)
    bare = records.update("quote", made["id"], {"customer": None}, made["version"])

    with pytest.raises(ActionRefused) as error:
        run_action(records, "quote", made["id"], "make_order", sales)

    assert error.value.status == 422
    assert reasons(error) == ["Create order could not move this quote to Ordered: Fill in "
                              "Customer to move to Ordered."]
    assert records.query("order") == []
    assert records.get("quote", made["id"]) == bare
    assert [h["action"] for h in records.history("quote", made["id"])][0] == "update"


def test_a_create_refused_by_the_database_rolls_everything_back(service):
    records = service({"name": "twice", "do": [{"set": {"note": "done"}}, MAKE_ORDER,
                                               {"move": "ordered"}]})
    made = accepted_quote(records)
    records.create("order", {"title": "Other", "code": "Q1"})

    with pytest.raises(ActionRefused) as error:
        run_action(records, "quote", made["id"], "twice")

    [problem] = error.value.problems
    assert problem.where == "order.code"
    assert problem.message.startswith("Twice could not create order: Another order already "
                                      "has this code")
    assert records.get("quote", made["id"])["note"] is None
    assert len(records.query("order")) == 1


def test_after_a_failed_step_the_later_ones_are_judged_so_every_reason_shows(service):
    records = service({**ORDER_ACTION, "do": [
        {"create": "order", "values": {"title": "$record.code"}}, {"move": "ordered"}]})
    made = accepted_quote(records, code=None)
    bare = records.update("quote", made["id"], {"customer": None}, made["version"])

    with pytest.raises(ActionRefused) as error:
        run_action(records, "quote", made["id"], "make_order")

    assert [(p.where, p.message) for p in error.value.problems] == [
        ("order.title", "Create order could not create order: Title is required."),
        ("customer", "Create order could not move this quote to Ordered: Fill in Customer to "
                     "move to Ordered.")]
    assert records.query("order") == [] and records.get("quote", made["id"]) == bare


# ---------------------------------------------------------------- who may, and when

def test_roles_and_when_give_every_reason_at_once(service):
    records = service(ORDER_ACTION)
    clerk = person(records, "clerk")
    customer = records.create("customer", {"name": "C"})
    draft = records.create("quote", {"title": "Q", "customer": customer["id"]})

    with pytest.raises(ActionRefused) as error:
        run_action(records, "quote", draft["id"], "make_order", clerk)

    assert reasons(error) == ["Your role (clerk) may not run this action.",
                              "The quote must be Accepted."]
    assert records.query("order") == []


def test_a_listed_role_still_needs_to_update_a_record_the_action_changes(service):
    records = service(ORDER_ACTION)
    support = person(records, "support", locale="ja")
    made = accepted_quote(records)

    with pytest.raises(ActionRefused) as error:
        run_action(records, "quote", made["id"], "make_order", support)

    assert reasons(error) == ["ロール（support）はこのquoteを変更できないため、"
                              "このアクションを実行できません"]


def test_without_roles_whoever_may_update_the_record_may_run_it(service):
    records = service({"name": "note", "do": [{"set": {"note": "seen"}}]})
    clerk, support = person(records, "clerk"), person(records, "support")
    mine = records.create("quote", {"title": "Mine"}, clerk)
    theirs = records.create("quote", {"title": "Theirs"})
    actions = RecordActions(records)

    assert [a.name for a in actions.available("quote", mine, clerk)] == ["note"]
    assert actions.available("quote", theirs, clerk) == []
    assert actions.available("quote", mine, support) == []
    run_action(records, "quote", mine["id"], "note", clerk)
    with pytest.raises(ActionRefused) as error:
        run_action(records, "quote", theirs["id"], "note", clerk)
    assert reasons(error) == ["Your role (clerk) may not run this action."]


def test_admin_may_run_any_action_whose_when_holds(service):
    records = service({**ORDER_ACTION, "roles": ["sales"]})
    admin = person(records, "admin")
    made = accepted_quote(records)
    actions = RecordActions(records)

    assert [a.name for a in actions.available("quote", made, admin)] == ["make_order"]
    run_action(records, "quote", made["id"], "make_order", admin)
    assert actions.available("quote", records.get("quote", made["id"]), admin) == []


def test_when_in_words_covers_all_any_and_links(service):
    when = {"all": [ACCEPTED, {"field": "amount", "op": ">=", "value": 1000},
                    {"any": [{"field": "note", "op": "not_empty"},
                             {"field": "customer.name", "op": "=", "value": "ACME"}]}]}
    records = service({"name": "big", "when": when, "do": [{"set": {"note": "x"}}]})
    draft = records.create("quote", {"title": "Q", "amount": 5})

    with pytest.raises(ActionRefused) as error:
        run_action(records, "quote", draft["id"], "big")

    assert reasons(error) == [
        "The quote must be Accepted.", "Amount must be at least 1000.",
        "One of these must hold: Note must be filled in; Customer Name must be ACME."]


# ---------------------------------------------------------------- the call itself

def test_unknown_action_stale_version_and_unreadable_record(service):
    records = service({"name": "note", "do": [{"set": {"note": "seen"}}]})
    made = records.create("quote", {"title": "Q"})
    changed = records.update("quote", made["id"], {"title": "Q2"}, made["version"])

    with pytest.raises(ValidationFailed):
        run_action(records, "quote", made["id"], "nope")
    with pytest.raises(Conflict):
        run_action(records, "quote", made["id"], "note", version=made["version"])
    with pytest.raises(NotFound):
        run_action(records, "quote", 999, "note")
    run_action(records, "quote", made["id"], "note", version=changed["version"])
    assert records.get("quote", made["id"])["note"] == "seen"


PRODUCT = {"fields": {"name": {"type": "string", "required": True}}}
QUOTE_LINE = {"part_of": "quote", "fields": {
    "product": {"type": "link", "to": "product", "required": True},
    "quantity": {"type": "decimal", "required": True}}}
ORDER_LINE = {"part_of": "order", "fields": {
    "product": {"type": "link", "to": "product", "required": True},
    "quantity": {"type": "decimal", "required": True}, "note": {"type": "string"}}}
NEEDS_LINES = pytest.mark.skipif("lines" not in TYPES,
                                 reason="the lines field type is not merged yet")


@NEEDS_LINES
def test_line_tokens_are_checked_against_the_line_copied(tmp_path):
    quote_ = {"fields": {"title": {"type": "string", "required": True},
                         "lines": {"type": "lines", "of": "quote_line"}},
              "actions": [{"name": "make_order", "do": [
                  {"create": "order", "values": {"title": "$record.title"},
                   "lines": {"from": "lines", "to": "lines",
                             "values": {"product": "$line.quantity", "note": "$line.titel"}}}]}]}
    order = {"fields": {"title": {"type": "string", "required": True},
                        "lines": {"type": "lines", "of": "order_line"}}}
    root = write_pack(tmp_path, {"product": PRODUCT, "quote_line": QUOTE_LINE, "quote": quote_,
                                 "order_line": ORDER_LINE, "order": order})
    _, problems = check_pack(root)
    where = "/actions/0/do/0/lines/values"
    assert sorted((p.code, p.where.split(": ")[1], p.message) for p in problems) == [
        ("DEF105", where, "each new order_line needs quantity (required, without a default)"),
        ("DEF108", f"{where}/product", '"$line.quantity" is quote_line.quantity, a decimal '
                                      "field: a decimal value does not fit a link field"),
        ("DEF109", f"{where}/note", '"$line.titel": quote_line has no field "titel"')]


@NEEDS_LINES
def test_lines_are_copied_with_line_tokens(engine, make_pack):
    product, quote_line, order_line = PRODUCT, QUOTE_LINE, ORDER_LINE
    quote_ = {"fields": {"title": {"type": "string", "required": True},
                         "lines": {"type": "lines", "of": "quote_line"}},
              "actions": [{"name": "make_order", "open": "created", "do": [
                  {"create": "order", "values": {"title": "$record.title"},
                   "lines": {"from": "lines", "to": "lines",
                             "values": {"product": "$line.product",
                                        "quantity": "$line.quantity",
                                        "note": "$record.title"}}}]}]}
    order = {"fields": {"title": {"type": "string", "required": True},
                        "lines": {"type": "lines", "of": "order_line"}}}
    pack = make_pack({"product": product, "quote_line": quote_line, "quote": quote_,
                      "order_line": order_line, "order": order})
    migrate(engine, pack)
    records = Records(engine, pack)
    bolt = records.create("product", {"name": "Bolt"})
    nut = records.create("product", {"name": "Nut"})
    made = records.create("quote", {"title": "Q-7", "lines": [
        {"product": bolt["id"], "quantity": "3"}, {"product": nut["id"], "quantity": "5"}]})

    outcome = run_action(records, "quote", made["id"], "make_order")

    entity, id = outcome.open
    lines = records.get(entity, id)["lines"]
    assert [(line["product"], line["quantity"], line["note"]) for line in lines] == [
        (bolt["id"], Decimal("3"), "Q-7"), (nut["id"], Decimal("5"), "Q-7")]
