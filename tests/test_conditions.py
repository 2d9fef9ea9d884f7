"""The condition language (SPEC §5) as a consultant and a user meet it: every mistake in a
definition is reported at its exact JSON pointer, and every operator selects the same
records in SQL as in Python, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from karte.meta import conditions
from karte.meta.conditions import Context, Token
from karte.meta.model import CardConfig, Entity, Field, ListConfig, Option, Pack, Text, frozen_map
from karte.store.tables import build_metadata
from karte.store.where import to_sql

FILE = "entity_defs/deal.json"
BASE = "/fields/lost_reason/visible_if"
UTC = dt.UTC


def field(name: str, kind: str, **keys) -> Field:
    return Field(name, kind, Text.of(name), **keys)


def options(*keys: str) -> tuple[Option, ...]:
    return tuple(Option(key, Text.of(key)) for key in keys)


def entity(name: str, *fields: Field) -> Entity:
    return Entity(name, Text.of(name), Text.of(name), fields[0].name,
                  frozen_map({f.name: f for f in fields}),
                  ListConfig((), "-updated_at", (), ()), CardConfig((), ()))


def pack(*entities: Entity) -> Pack:
    return Pack("test", Text.of("test"), Path("."), frozen_map({e.name: e for e in entities}),
                frozen_map())


PRODUCT = entity("product", field("name", "string"))
CUSTOMER = entity(
    "customer", field("name", "string"),
    field("segment", "enum", options=options("vip", "smb")),
    field("tags", "multi_enum", options=options("north", "south", "日本")),
    field("score", "integer"), field("parent", "link", to="customer"),
    field("products", "links", to="product"))
DEAL = entity(
    "deal", field("title", "string"), field("notes", "text"),
    field("amount", "money", min=0), field("rate", "percent"), field("count", "integer"),
    field("won", "boolean"), field("close_on", "date"), field("closed_at", "datetime"),
    field("email", "email"), field("stage", "enum", options=options("new", "won", "lost")),
    field("labels", "multi_enum", options=options("hot", "HOT", "cold", "日本")),
    field("customer", "link", to="customer"), field("products", "links", to="product"),
    field("owner", "user"), field("margin", "formula"), field("attachment", "file"))
ENTITIES = {e.name: e for e in (PRODUCT, CUSTOMER, DEAL)}


def parse(raw):
    return conditions.parse(raw, DEAL, ENTITIES, FILE, BASE)


def parsed(raw) -> conditions.Condition:
    condition, problems = parse(raw)
    assert problems == []
    return condition


def only_problem(raw):
    condition, problems = parse(raw)
    assert condition is None
    assert len(problems) == 1, problems
    return problems[0]


# ---------------------------------------------------------------- problems, one per kind

def test_not_an_object_is_explained():
    problem = only_problem({"all": [[1, 2]]})
    assert (problem.code, problem.where) == ("COND001", f"{FILE}: {BASE}/all/0")
    assert "a condition is an object" in problem.message


def test_mixed_shapes_and_unknown_keys_are_explained():
    mixed = only_problem({"field": "amount", "all": []})
    assert mixed.where == f"{FILE}: {BASE}" and '"field" and "all"' in mixed.message
    typo = only_problem({"field": "amount", "op": "empty", "vale": 1})
    assert typo.where == f"{FILE}: {BASE}/vale" and 'did you mean "value"' in typo.message


def test_comparison_without_op_is_explained():
    problem = only_problem({"field": "amount"})
    assert (problem.code, problem.where) == ("COND001", f"{FILE}: {BASE}")
    assert 'needs "op"' in problem.message


def test_unknown_field_suggests_a_close_name():
    problem = only_problem({"field": "amout", "op": ">", "value": 1})
    assert (problem.code, problem.where) == ("COND002", f"{FILE}: {BASE}/field")
    assert 'no field "amout" (did you mean "amount"?)' in problem.message


def test_unknown_field_after_a_hop_names_the_target_entity():
    problem = only_problem({"field": "customer.segmnt", "op": "empty"})
    assert problem.code == "COND002"
    assert '"customer" has no field "segmnt" (did you mean "segment"?)' in problem.message


def test_more_than_one_hop_is_refused():
    problem = only_problem({"field": "customer.parent.name", "op": "empty"})
    assert (problem.code, problem.where) == ("COND003", f"{FILE}: {BASE}/field")


def test_only_a_link_field_can_be_followed():
    problem = only_problem({"field": "owner.name", "op": "empty"})
    assert (problem.code, problem.where) == ("COND004", f"{FILE}: {BASE}/field")
    assert '"owner" is a user field' in problem.message


def test_unknown_operator_suggests_one():
    problem = only_problem({"field": "amount", "op": "=>", "value": 1})
    assert (problem.code, problem.where) == ("COND005", f"{FILE}: {BASE}/op")
    assert "did you mean" in problem.message


def test_operator_that_does_not_fit_the_type_lists_those_that_do():
    problem = only_problem({"all": [{"field": "amount", "op": ">", "value": 1},
                                    {"field": "title", "op": ">", "value": "a"}]})
    assert (problem.code, problem.where) == ("COND006", f"{FILE}: {BASE}/all/1/op")
    assert "operators that fit: =, !=, in, not_in, contains, starts_with" in problem.message


@pytest.mark.parametrize("raw, words", [
    ({"field": "close_on", "op": "<", "value": "next week"}, '"close_on" (date): Enter a date'),
    ({"field": "amount", "op": ">", "value": 1e30}, '"amount" (money): This number is too'),
    ({"field": "count", "op": "=", "value": 1.5}, '"count" (integer): Enter a whole number'),
    ({"field": "owner", "op": "=", "value": -1}, '"owner" (user): a record id'),
    ({"field": "title", "op": "contains", "value": 5}, '"title" is searched with text'),
])
def test_value_that_does_not_coerce_names_field_and_reason(raw, words):
    problem = only_problem(raw)
    assert (problem.code, problem.where) == ("COND007", f"{FILE}: {BASE}/value")
    assert words in problem.message


def test_unknown_enum_key_suggests_one():
    problem = only_problem({"field": "stage", "op": "in", "value": ["new", "wonn"]})
    assert (problem.code, problem.where) == ("COND008", f"{FILE}: {BASE}/value/1")
    assert 'did you mean "won"' in problem.message


def test_in_needs_a_list():
    problem = only_problem({"field": "stage", "op": "not_in", "value": "new"})
    assert (problem.code, problem.where) == ("COND009", f"{FILE}: {BASE}/value")


def test_empty_takes_no_value():
    problem = only_problem({"field": "notes", "op": "empty", "value": "x"})
    assert (problem.code, problem.where) == ("COND010", f"{FILE}: {BASE}/value")


@pytest.mark.parametrize("raw, where", [
    ({"field": "amount", "op": "="}, BASE),
    ({"field": "title", "op": "=", "value": ""}, f"{BASE}/value"),
    ({"field": "title", "op": "in", "value": ["a", None]}, f"{BASE}/value/1"),
])
def test_missing_value_points_to_empty(raw, where):
    problem = only_problem(raw)
    assert (problem.code, problem.where) == ("COND011", f"{FILE}: {where}")


@pytest.mark.parametrize("value, message", [
    ("$me", '"$me" fits only user fields'),
    ("$tody", 'unknown token "$tody" (did you mean "$today"?)'),
    ({"days_from_today": "3"}, "whole number of days"),
])
def test_tokens_are_checked(value, message):
    problem = only_problem({"field": "close_on", "op": ">", "value": value})
    assert (problem.code, problem.where) == ("COND012", f"{FILE}: {BASE}/value")
    assert message in problem.message


def test_groups_take_lists():
    problem = only_problem({"not": {"any": {"field": "amount", "op": "empty"}}})
    assert (problem.code, problem.where) == ("COND013", f"{FILE}: {BASE}/not/any")


def test_link_to_an_unknown_entity_is_reported_not_crashed_on():
    broken = entity("note", field("body", "text"), field("about", "link", to="nowhere"))
    _, problems = conditions.parse({"field": "about.name", "op": "empty"}, broken, ENTITIES,
                                   FILE, BASE)
    assert [(p.code, p.where) for p in problems] == [("COND014", f"{FILE}: {BASE}/field")]


def test_nesting_is_bounded():
    raw: dict = {"field": "amount", "op": "empty"}
    for _ in range(200):
        raw = {"not": raw}
    problem = only_problem(raw)
    assert problem.code == "COND015"


def test_every_problem_is_reported_at_once():
    _, problems = parse({"all": [{"field": "amout", "op": "empty"},
                                 {"field": "stage", "op": "=", "value": "wonn"},
                                 {"any": "x"}, {"field": "title", "op": "<", "value": 1}]})
    assert [p.code for p in problems] == ["COND002", "COND008", "COND013", "COND006"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["amount", "customer.segment", "=", "in", "empty", "contains", "$me",
                       "$today", "field", "op", "value", "all", "any", "not"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["field", "op", "value", "all", "any", "not",
                                       "days_from_today", "x"]), inner, max_size=4),
    max_leaves=20)


@given(json_values)
def test_any_json_gives_a_condition_or_problems_never_a_traceback(raw):
    condition, problems = parse(raw)
    assert (condition is None) == bool(problems)
    assert all(p.where.startswith(f"{FILE}: {BASE}") and p.code.startswith("COND")
               for p in problems)


# ---------------------------------------------------------------- what parsing keeps

def test_literals_are_coerced_to_the_stored_form():
    condition = parsed({"all": [
        {"field": "email", "op": "=", "value": " Ann@Example.COM"},
        {"field": "amount", "op": "<", "value": "-1,200.505"},
        {"field": "closed_at", "op": ">", "value": "2024-05-01T09:00:00+09:00"},
        {"field": "margin", "op": ">=", "value": 12.5},
        {"field": "customer", "op": "in", "value": [3, "4"]}]})
    values = [item.value for item in condition.items]
    assert values == ["ann@example.com", Decimal("-1200.505"),
                      dt.datetime(2024, 5, 1, 0, 0, tzinfo=UTC), Decimal("12.5"), (3, 4)]


def test_tokens_are_kept_for_evaluation_time():
    condition = parsed({"all": [{"field": "close_on", "op": "<", "value": "$today"},
                                {"field": "closed_at", "op": "<",
                                 "value": {"days_from_today": -3}},
                                {"field": "owner", "op": "in", "value": ["$me", 7]}]})
    assert [item.value for item in condition.items] == [
        Token("today"), Token("today", -3), (Token("me"), 7)]


def test_text_starting_with_dollar_is_text_on_text_fields():
    assert parsed({"field": "title", "op": "contains", "value": "$5 off"}).value == "$5 off"


def test_system_fields_and_hops_are_readable():
    condition = parsed({"any": [{"field": "created_at", "op": ">", "value": "$now"},
                                {"field": "customer.created_by", "op": "=", "value": "$me"}]})
    assert conditions.fields_used(condition) == {"created_at", "customer"}


# ---------------------------------------------------------------- every operator, SQL = Python

USERS = [1, 2]
PRODUCTS = [{"id": 1, "name": "Widget"}, {"id": 2, "name": "Gadget"}]
CUSTOMERS = [
    {"id": 1, "name": "Acme", "segment": "vip", "tags": ["north", "日本"], "score": 10,
     "parent": None, "products": [1]},
    {"id": 2, "name": "Bolt", "segment": "smb", "tags": [], "score": None, "parent": 1,
     "products": []},
]
EMPTY_DEAL = {"notes": None, "amount": None, "rate": None, "count": None, "won": None,
              "close_on": None, "closed_at": None, "email": None, "stage": None,
              "labels": None, "customer": None, "products": [], "owner": None,
              "margin": None, "attachment": None}
DEALS = [
    {**EMPTY_DEAL, "id": 1, "title": "alpha", "notes": "50% off_deal", "amount": Decimal("100"),
     "rate": Decimal("12.5"), "count": 1, "won": True, "close_on": dt.date(2024, 5, 1),
     "closed_at": dt.datetime(2024, 5, 1, 10, tzinfo=UTC), "email": "a@example.com",
     "stage": "new", "labels": ["hot"], "customer": 1, "products": [1, 2], "owner": 1,
     "attachment": [{"name": "a.pdf"}]},
    {**EMPTY_DEAL, "id": 2, "title": "Beta", "notes": "", "amount": Decimal("250.50"),
     "count": 0, "won": False, "close_on": dt.date(2024, 6, 15), "stage": "won",
     "labels": ["hot", "日本"], "customer": 2, "products": [2], "owner": 2},
    {**EMPTY_DEAL, "id": 3, "title": "gamma", "labels": []},
    {**EMPTY_DEAL, "id": 4, "title": "デルタ", "notes": "日本語のメモ", "amount": Decimal("0"),
     "count": -5, "stage": "lost", "customer": 1, "owner": 1},
]
NOW = dt.datetime(2024, 6, 1, 12, tzinfo=UTC)
CTX = Context(NOW.date(), NOW, user_id=1)
ALL = {"alpha", "Beta", "gamma", "デルタ"}


def case(field, op, value=None, expected=()):
    raw = {"field": field, "op": op} | ({} if value is None else {"value": value})
    return pytest.param(raw, set(expected), id=f"{field} {op} {value}")


CASES = [
    case("amount", "=", 100, {"alpha"}),
    case("title", "=", "Beta", {"Beta"}),
    case("title", "=", "beta", ()),
    case("won", "=", True, {"alpha"}),
    case("won", "=", False, {"Beta"}),
    case("close_on", "=", "2024-05-01", {"alpha"}),
    case("owner", "=", "$me", {"alpha", "デルタ"}),
    case("customer", "=", 2, {"Beta"}),
    case("amount", "!=", 100, {"Beta", "gamma", "デルタ"}),
    case("won", "!=", True, {"Beta", "gamma", "デルタ"}),
    case("stage", "!=", "won", {"alpha", "gamma", "デルタ"}),
    case("notes", "!=", "日本語のメモ", {"alpha", "Beta", "gamma"}),
    case("amount", ">", 100, {"Beta"}),
    case("amount", ">", "-1", {"alpha", "Beta", "デルタ"}),
    case("close_on", ">", "$today", {"Beta"}),
    case("closed_at", ">", {"days_from_today": -31}, {"alpha"}),
    case("closed_at", ">", {"days_from_today": -30}, ()),
    case("closed_at", "<", "$now", {"alpha"}),
    case("count", ">=", 0, {"alpha", "Beta"}),
    case("rate", ">=", "12.5", {"alpha"}),
    case("count", "<", 0, {"デルタ"}),
    case("amount", "<=", 0, {"デルタ"}),
    case("id", "<=", 2, {"alpha", "Beta"}),
    case("stage", "in", ["new", "lost"], {"alpha", "デルタ"}),
    case("count", "in", [0, 1], {"alpha", "Beta"}),
    case("owner", "in", ["$me"], {"alpha", "デルタ"}),
    case("stage", "not_in", ["new"], {"Beta", "gamma", "デルタ"}),
    case("count", "in", [], ()),
    case("count", "not_in", [], ALL),
    case("notes", "contains", "%", {"alpha"}),
    case("notes", "contains", "f_d", {"alpha"}),
    case("notes", "contains", "F_D", {"alpha"}),
    case("notes", "contains", "x_x", ()),
    case("notes", "contains", "日本", {"デルタ"}),
    case("title", "contains", "ET", {"Beta"}),
    case("email", "contains", "EXAMPLE", {"alpha"}),
    case("title", "starts_with", "AL", {"alpha"}),
    case("notes", "starts_with", "50%", {"alpha"}),
    case("notes", "starts_with", "5_", ()),
    case("labels", "contains", "hot", {"alpha", "Beta"}),
    case("labels", "contains", "日本", {"Beta"}),
    case("products", "contains", 2, {"alpha", "Beta"}),
    case("notes", "empty", None, {"Beta", "gamma"}),
    case("amount", "empty", None, {"gamma"}),
    case("labels", "empty", None, {"gamma", "デルタ"}),
    case("products", "empty", None, {"gamma", "デルタ"}),
    case("attachment", "empty", None, {"Beta", "gamma", "デルタ"}),
    case("customer", "empty", None, {"gamma"}),
    case("labels", "not_empty", None, {"alpha", "Beta"}),
    case("notes", "not_empty", None, {"alpha", "デルタ"}),
    case("products", "not_empty", None, {"alpha", "Beta"}),
    case("customer.segment", "=", "vip", {"alpha", "デルタ"}),
    case("customer.segment", "!=", "vip", {"Beta", "gamma"}),
    case("customer.name", "starts_with", "ac", {"alpha", "デルタ"}),
    case("customer.tags", "contains", "日本", {"alpha", "デルタ"}),
    case("customer.tags", "empty", None, {"Beta", "gamma"}),
    case("customer.score", "empty", None, {"Beta", "gamma"}),
    case("customer.parent", "=", 1, {"Beta"}),
    case("customer.products", "contains", 1, {"alpha", "デルタ"}),
    case("customer.products", "empty", None, {"Beta", "gamma"}),
    pytest.param({"all": []}, ALL, id="all of nothing"),
    pytest.param({"any": []}, set(), id="any of nothing"),
    pytest.param({"not": {"field": "amount", "op": ">", "value": 100}},
                 {"alpha", "gamma", "デルタ"}, id="not on an empty field"),
    pytest.param({"not": {"field": "notes", "op": "contains", "value": "off"}},
                 {"Beta", "gamma", "デルタ"}, id="not contains"),
    pytest.param({"all": [{"field": "customer.segment", "op": "=", "value": "vip"},
                          {"any": [{"field": "amount", "op": "<", "value": 1},
                                   {"field": "labels", "op": "contains", "value": "hot"}]}]},
                 {"alpha", "デルタ"}, id="nested groups"),
]


def python_matches(condition, context=CTX) -> set[str]:
    records = {("customer", c["id"]): c for c in CUSTOMERS}
    return {d["title"] for d in DEALS
            if conditions.evaluate(condition, d, context, lambda e, i: records.get((e, i)))}


def sql_matches(crm, condition, context=CTX) -> set[str]:
    engine, tables = crm
    deal = tables["deal"]
    query = sa.select(deal.c.title).where(to_sql(condition, tables, context))
    with engine.connect() as conn:
        return set(conn.scalars(query))


def insert(conn, tables, name, rows):
    """Rows of `name`, their links fields going to junction tables."""
    junctions = [f.name for f in ENTITIES[name].fields.values() if f.type == "links"]
    stamp = {"created_at": NOW - dt.timedelta(days=1), "updated_at": NOW}
    for row in rows:
        columns = {k: v for k, v in row.items() if k not in junctions}
        conn.execute(tables[name].insert().values(**columns, **stamp))
        for junction in junctions:
            for target in row[junction]:
                conn.execute(tables[f"{name}__{junction}"].insert().values(
                    source_id=row["id"], target_id=target))


@pytest.fixture
def crm(engine):
    metadata = build_metadata(pack(PRODUCT, CUSTOMER, DEAL))
    metadata.create_all(engine)
    tables = dict(metadata.tables)
    with engine.begin() as conn:
        conn.execute(tables["karte_user"].insert(), [
            {"id": i, "email": f"u{i}@example.com", "role": "sales", "created_at": NOW,
             "updated_at": NOW} for i in USERS])
        insert(conn, tables, "product", PRODUCTS)
        insert(conn, tables, "customer", CUSTOMERS)
        insert(conn, tables, "deal", DEALS)
    return engine, tables


@pytest.mark.parametrize("raw, expected", CASES)
def test_operator_selects_the_same_records_in_sql_and_python(crm, raw, expected):
    condition = parsed(raw)
    assert python_matches(condition) == expected
    assert sql_matches(crm, condition) == expected


@pytest.mark.parametrize("op, expected", [("=", set()), ("!=", ALL), ("in", set()),
                                          ("not_in", ALL)])
def test_me_without_a_user_matches_no_one(crm, op, expected):
    condition = parsed({"field": "owner", "op": op,
                        "value": ["$me"] if "in" in op else "$me"})
    anonymous = Context(CTX.today, CTX.now)
    assert python_matches(condition, anonymous) == expected
    assert sql_matches(crm, condition, anonymous) == expected


@pytest.mark.parametrize("raw, matches", [
    ({"field": "title", "op": "contains", "value": "ÉMILE"}, True),
    ({"field": "title", "op": "starts_with", "value": "émile"}, False),
    ({"field": "labels", "op": "contains", "value": "HOT"}, True),
    ({"field": "labels", "op": "contains", "value": "hot"}, False),
])
def test_case_is_ignored_for_ascii_letters_only(crm, raw, matches):
    engine, tables = crm
    emile = {**EMPTY_DEAL, "id": 5, "title": "Émile", "labels": ["HOT"]}
    with engine.begin() as conn:
        insert(conn, tables, "deal", [emile])
    condition = parsed(raw)
    assert conditions.evaluate(condition, emile, CTX, lambda e, i: None) is matches
    assert ("Émile" in sql_matches(crm, condition)) is matches


def test_a_link_may_point_at_its_own_entity(crm):
    engine, tables = crm
    condition, problems = conditions.parse({"field": "parent.segment", "op": "=",
                                            "value": "vip"}, CUSTOMER, ENTITIES, FILE, BASE)
    assert problems == []
    query = sa.select(tables["customer"].c.name).where(
        to_sql(condition, tables, CTX))
    with engine.connect() as conn:
        assert set(conn.scalars(query)) == {"Bolt"}


def test_a_link_to_a_missing_record_reads_as_empty():
    condition = parsed({"field": "customer.segment", "op": "empty"})
    assert conditions.evaluate(condition, {"customer": 99}, CTX, lambda e, i: None)


def test_today_is_resolved_when_evaluated_not_when_loaded():
    condition = parsed({"field": "close_on", "op": "<", "value": {"days_from_today": 1}})
    record = {"close_on": dt.date(2024, 6, 15)}
    never = lambda e, i: None  # noqa: E731
    assert not conditions.evaluate(condition, record, CTX, never)
    later = Context(dt.date(2024, 6, 15), NOW, 1)
    assert conditions.evaluate(condition, record, later, never)


def test_current_context_is_aware_and_local():
    context = Context.current(user_id=3, timezone="Asia/Tokyo")
    assert context.now.tzinfo is not None and context.user_id == 3
    assert context.today == context.now.astimezone(
        dt.timezone(dt.timedelta(hours=9))).date()
