"""Formula fields as an admin writes them: arithmetic over numeric fields, computed exactly,
and every mistake reported with its column instead of a traceback."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from karte.meta import formulas
from karte.meta.model import CardConfig, Entity, Field, ListConfig, Text, frozen_map
from karte.problems import ProblemsError

FILE = "entity_defs/product.json"
WHERE = f"{FILE}: /fields/margin/formula"


def field(name: str, kind: str) -> Field:
    return Field(name, kind, Text.of(name))


PRODUCT = Entity(
    "product", Text.of("product"), Text.of("products"), "name",
    frozen_map({f.name: f for f in (
        field("name", "string"), field("price", "money"), field("cost", "decimal"),
        field("units", "integer"), field("tax", "percent"), field("margin", "formula"),
        field("launched", "date"), field("ends", "date"), field("active", "boolean"))}),
    ListConfig((), "-updated_at", (), ()), CardConfig((), ()))


def parse(text):
    return formulas.parse(text, PRODUCT, FILE, "/fields/margin/formula")


def compute(text: str, **values) -> Decimal | None:
    formula, problems = parse(text)
    assert problems == []
    return formula.evaluate(values)


def only_problem(text):
    formula, problems = parse(text)
    assert formula is None
    assert len(problems) == 1, problems
    assert problems[0].where == WHERE
    return problems[0]


def test_margin_formula_is_computed_exactly():
    formula, problems = parse("(price - cost) / price * 100")
    assert problems == []
    assert formula.fields == {"price", "cost"}
    assert formula.evaluate({"price": Decimal("200.00"), "cost": Decimal("150.10")}) == \
        Decimal("24.9500")


@pytest.mark.parametrize("text, values, expected", [
    ("price * units", {"price": Decimal("0.10"), "units": 3}, Decimal("0.3000")),
    ("price + price * tax / 100", {"price": Decimal("1000"), "tax": Decimal("10")},
     Decimal("1100.0000")),
    ("-price + +units", {"price": Decimal("2.5"), "units": 1}, Decimal("-1.5000")),
    ("2 + 3 * units", {"units": 2}, Decimal("8.0000")),
    ("(2 + 3) * units", {"units": 2}, Decimal("10.0000")),
    ("units / 3", {"units": 1}, Decimal("0.3333")),
    ("units / 3 * 2", {"units": 1}, Decimal("0.6667")),
    ("units * 0.00005", {"units": 1}, Decimal("0.0001")),
    ("1_000 * 1.5", {}, Decimal("1500.0000")),
])
def test_arithmetic_follows_school_rules_and_rounds_half_up(text, values, expected):
    assert compute(text, **values) == expected


@pytest.mark.parametrize("values", [
    {"price": None, "cost": Decimal("1")},
    {"cost": Decimal("1")},
    {"price": "", "cost": Decimal("1")},
])
def test_an_empty_operand_gives_an_empty_result(values):
    assert compute("price - cost", **values) is None


@pytest.mark.parametrize("values", [{"price": 5, "cost": 0}, {"price": 0, "cost": 0}])
def test_division_by_zero_gives_an_empty_result(values):
    assert compute("price / cost", **values) is None


def test_a_result_too_large_to_store_is_empty():
    assert compute("price * cost", price=Decimal("1e10"), cost=Decimal("1e10")) is None


def test_not_text_is_refused():
    for text in (None, 42, "", "   ", "units + " * 100):
        formula, problems = parse(text)
        assert formula is None
        assert [(p.code, p.where) for p in problems] == [("FORM001", WHERE)]


@pytest.mark.parametrize("text, column", [("price +", 8), ("(price - cost", 1),
                                          ("  price cost", 9), ("price + * 2", 9)])
def test_syntax_error_says_the_column(text, column):
    problem = only_problem(text)
    assert problem.code == "FORM002"
    assert f"column {column}" in problem.message


@pytest.mark.parametrize("text, words", [
    ("price ** 2", 'column 1: operator "**"'),
    ("price % 2", 'operator "%"'),
    ("price < cost < units", "chained comparison"),
    ("price in cost", 'operator "in"'),
    ("round(price, **units)", "named arguments"),
    ("price + 'x'", "column 9: 'x' is not a number"),
    ("True * price", "True is not a number"),
    ("__import__('os').system('true')", "function call"),
    ("[price][0]", "indexing"),
    ("1e999 * price", "too large"),
])
def test_anything_but_arithmetic_is_refused(text, words):
    problem = only_problem(text)
    assert problem.code == "FORM003"
    assert words in problem.message


def test_unknown_field_suggests_a_numeric_one():
    problem = only_problem("prise - cost")
    assert problem.code == "FORM004"
    assert 'no field "prise" (did you mean "price"?)' in problem.message


@pytest.mark.parametrize("name, kind", [("name", "string")])
def test_only_numbers_dates_booleans_and_formulas_may_be_used(name, kind):
    problem = only_problem(f"price - {name}")
    assert problem.code == "FORM005"
    assert f'"{name}" is a {kind} field' in problem.message


def test_every_problem_is_reported():
    _, problems = parse("prise * name + round(cost) + launched")
    assert [p.code for p in problems] == ["FORM004", "FORM005", "FORM011", "FORM012"]


def test_deep_nesting_is_refused_once():
    problem = only_problem("+".join(["1"] * 120))
    assert problem.code == "FORM006"


@given(st.text(alphabet="pricestun()+-*/. 0123456789_%'\"[]<>=!,", max_size=60))
def test_any_text_gives_a_formula_or_problems_never_a_traceback(text):
    formula, problems = parse(text)
    assert (formula is None) == bool(problems)
    if formula is not None:
        result = formula.evaluate({"price": Decimal("3.5"), "cost": Decimal("0"),
                                   "units": 7, "tax": Decimal("8")})
        assert result is None or result == result.quantize(Decimal("0.0001"))


# -- functions, comparisons and `result` (SPEC §3.6) ----------------------------------------

DAY = dt.date(2026, 3, 1)


@pytest.mark.parametrize("text, values, expected", [
    ("round(price, 1)", {"price": "2.25"}, Decimal("2.3")),
    ("round(price, -2)", {"price": "1250"}, Decimal("1300")),
    ("round(price, 0)", {"price": None}, None),
    ("abs(cost)", {"cost": "-3.5"}, Decimal("3.5")),
    ("abs(cost)", {"cost": None}, None),
    ("min(price, cost, units)", {"price": 3, "cost": 2, "units": 5}, Decimal(2)),
    ("min(price, cost)", {"price": 3, "cost": None}, None),
    ("max(price, cost, 9)", {"price": 3, "cost": 2}, Decimal(9)),
    ("max(price, cost)", {"price": None, "cost": 2}, None),
    ("coalesce(price, cost, 0)", {"price": None, "cost": 7}, Decimal(7)),
    ("coalesce(price, cost)", {"price": None, "cost": None}, None),
    ("coalesce(price / cost, 1)", {"price": 5, "cost": 0}, Decimal(1)),
    ("days_between(launched, ends)", {"launched": DAY, "ends": dt.date(2026, 4, 1)},
     Decimal(31)),
    ("days_between(ends, launched)", {"launched": DAY, "ends": dt.date(2026, 2, 28)},
     Decimal(1)),
    ("days_between(launched, ends)", {"launched": DAY, "ends": None}, None),
    ("if(units >= 10, price * 0.9, price)", {"units": 10, "price": 100}, Decimal(90)),
    ("if(units >= 10, price * 0.9, price)", {"units": 9, "price": 100}, Decimal(100)),
    ("if(units = 0, 0, price / units)", {"units": 0, "price": 100}, Decimal(0)),
    ("if(units != 0, price / units, 0)", {"units": 4, "price": 100}, Decimal(25)),
    ("if(units < 1, 1, 2)", {"units": None}, None),
    ("if(units <= 1, price, 2)", {"units": 0, "price": None}, None),
    ("if(units > 1, price, 2)", {"units": 0, "price": None}, Decimal(2)),
    ("if(launched = ends, 1, 0)", {"launched": DAY, "ends": DAY}, Decimal(1)),
    ("if(active, 1, 0)", {"active": False}, Decimal(0)),
    ("price / cost", {"price": 1, "cost": 0}, None),
])
def test_functions_compute_and_empty_operands_give_empty(text, values, expected):
    formula, problems = formulas.parse(text, PRODUCT, FILE, "/fields/margin/formula")
    assert problems == []
    value = formula.evaluate(values)
    assert value == expected if expected is not None else value is None


@pytest.mark.parametrize("text, result, values, expected", [
    ("add_days(launched, 30)", "date", {"launched": DAY}, dt.date(2026, 3, 31)),
    ("add_days(launched, units)", "date", {"launched": DAY, "units": None}, None),
    ("add_days(launched, 99999999999)", "date", {"launched": DAY}, None),
    ("max(launched, ends)", "date", {"launched": DAY, "ends": dt.date(2027, 1, 1)},
     dt.date(2027, 1, 1)),
    ("coalesce(ends, launched)", "date", {"launched": DAY, "ends": None}, DAY),
    ("price > cost", "boolean", {"price": 2, "cost": 1}, True),
    ("price / 3", "integer", {"price": 10}, Decimal(3)),
    ("price / 3", "money", {"price": 10}, Decimal("3.33")),
    ("price * 1000", "percent", {"price": 100}, None),          # too large for the column
])
def test_the_value_has_the_result_type(text, result, values, expected):
    formula, problems = formulas.parse(text, PRODUCT, FILE, "/x", result)
    assert problems == []
    assert formula.evaluate(values) == expected


@pytest.mark.parametrize("text, code, words", [
    ("rund(price, 2)", "FORM010", 'unknown function "rund" (did you mean "round"?)'),
    ("today()", "FORM010", 'unknown function "today"'),
    ("abs(price, cost)", "FORM011", "abs(x) is called with 2 arguments"),
    ("min(price)", "FORM011", "min(a, b, …) is called with 1 argument"),
    ("if(price > 1, 2)", "FORM011", "if(condition, a, b)"),
    ("launched + 1", "FORM012", "a date where a number is needed"),
    ("abs(launched)", "FORM012", "a date where a number is needed (abs(x))"),
    ("days_between(price, launched)", "FORM012", "a number where a date is needed"),
    ("if(price, 1, 2)", "FORM012", "a number where true or false is needed"),
    ("if(price > 1, 1, launched)", "FORM012", "a date where a number is needed"),
    ("if(price > launched, 1, 2)", "FORM012", "compares a number with a date"),
    ("if(active < active, 1, 2)", "FORM012", "only with = and !="),
    ("min(active, 1)", "FORM012", "true or false where a date or a number"),
    ("round(price, units)", "FORM015", "whole number"),
    ("round(price, 2.5)", "FORM015", "whole number"),
    ("price > cost", "FORM013", 'gives true or false, and "result" is "decimal"'),
    ("add_days(launched, 1)", "FORM013", 'give "result": "date"'),
])
def test_function_mistakes_are_reported_with_codes(text, code, words):
    problem = only_problem(text)
    assert problem.code == code
    assert words in problem.message


def test_if_and_single_equals_keep_their_columns():
    problem = only_problem("if(units = 1, prise, 2)")
    assert problem.code == "FORM004" and "column 15" in problem.message
    assert "column 22" in only_problem("if(units = 1, 1, 2) +").message   # at the end


def test_formulas_use_formulas_in_dependency_order():
    entity = Entity("e", Text.of("e"), Text.of("e"), "a", frozen_map({
        "b": Field("b", "formula", Text.of("b"), formula="a * 2"),
        "a": Field("a", "formula", Text.of("a"), formula="price + 1"),
        "price": Field("price", "money", Text.of("p"))}),
        ListConfig((), "-updated_at", (), ()), CardConfig((), ()), source=FILE)
    parsed = {n: formulas.parse(f.formula, entity, FILE, "/x")[0] if f.formula else None
              for n, f in entity.fields.items()}
    built = replace(entity, fields=frozen_map({n: replace(f, formula=parsed[n] or f.formula)
                                               for n, f in entity.fields.items()}))
    assert formulas.in_order(built) == ["a", "b"]
    assert formulas.cycles(built) == []


def test_a_cycle_is_refused_with_the_loop_named(make_pack):
    with pytest.raises(ProblemsError) as error:
        make_pack({"deal": {"name": "deal", "fields": {
            "a": {"type": "formula", "formula": "b + 1"},
            "b": {"type": "formula", "formula": "c * 2"},
            "c": {"type": "formula", "formula": "a - 1"}}}})
    [problem] = [p for p in error.value.problems if p.code == "FORM014"]
    assert "a → b → c → a" in problem.message or "b → c → a → b" in problem.message \
        or "c → a → b → c" in problem.message
    assert problem.where.startswith("entity_defs/deal.json: /fields/")


def test_conditions_on_a_formula_use_its_result_type(make_pack):
    due = {"type": "formula", "formula": "add_days(signed, 30)", "result": "date"}
    big = {"type": "formula", "formula": "amount > 100", "result": "boolean"}
    fields = {"signed": {"type": "date"}, "amount": {"type": "money"}, "due": due, "big": big}
    when = {"all": [{"field": "due", "op": ">", "value": "2026-01-01"},
                    {"field": "big", "op": "=", "value": True}]}
    pack = make_pack({"deal": {"name": "deal", "fields": {
        **fields, "note": {"type": "text", "visible_if": when}}}})
    condition = pack.entities["deal"].fields["note"].visible_if
    assert condition is not None

    with pytest.raises(ProblemsError) as error:
        make_pack({"deal": {"name": "deal", "fields": {**fields, "note": {
            "type": "text", "visible_if": {"field": "big", "op": ">", "value": True}}}}})
    assert [p.code for p in error.value.problems] == ["COND006"]


def test_result_belongs_to_formulas_and_money_takes_the_packs_currency(make_pack):
    with pytest.raises(ProblemsError) as error:
        make_pack({"deal": {"name": "deal", "fields": {
            "n": {"type": "integer", "result": "money"}}}})
    assert [p.where for p in error.value.problems] == ["entity_defs/deal.json: /fields/n/result"]
    pack = make_pack({"deal": {"name": "deal", "fields": {
        "n": {"type": "integer"},
        "price": {"type": "formula", "formula": "n * 2", "result": "money"}}}},
        pack={"currency": "JPY"})
    assert pack.entities["deal"].fields["price"].currency == "JPY"
