"""The bulk-write fast paths (issue 11) give what the general paths give: values loaded
through their normalisers directly equal what the schema's marshmallow field loads (same
value, same message), emptiness answered by type equals the plain comparison, and the
required checks worked out once per entity name the same fields. Random values per field
type, no database."""

from __future__ import annotations

import datetime as dt
import decimal
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import marshmallow as ma
from hypothesis import given, settings
from hypothesis import strategies as st

from karte.fields import is_empty
from karte.meta.formulas import Formula, _stored
from karte.meta.formulas.functions import evaluate
from karte.meta.load import load_pack
from karte.problems import Problem
from karte.store.validation import Schemas, check_names, check_required
from tests.conftest import write_pack

FIELDS: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "required": True, "max_length": 12},
    "code": {"type": "string", "pattern": "[A-Z]{2}[0-9]+"},
    "notes": {"type": "text", "max_length": 40},
    "count": {"type": "integer", "min": 0, "max": 1000},
    "ratio": {"type": "decimal", "precision": 6, "scale": 2},
    "price": {"type": "money"},
    "share": {"type": "percent"},
    "active": {"type": "boolean"},
    "due": {"type": "date", "min": "2020-01-01"},
    "seen": {"type": "datetime"},
    "email": {"type": "email"},
    "phone": {"type": "phone"},
    "site": {"type": "url"},
    "kind": {"type": "enum", "options": ["person", "company"], "required": True},
    "tags": {"type": "multi_enum", "options": ["a", "b", "c"]},
    "company": {"type": "string",
                "required_if": {"field": "kind", "op": "=", "value": "company"}},
    "friend": {"type": "link", "to": "thing"},
    "friends": {"type": "links", "to": "thing"},
    "owner": {"type": "user"},
    "double": {"type": "formula", "formula": "count * 2", "result": "integer"},
}
FORMULAS: dict[str, dict[str, Any]] = {
    "calc": {"type": "formula", "formula": "(price - share) / ratio * 100"},
    "neg": {"type": "formula", "formula": "-price + abs(ratio) - +count", "result": "money"},
    "pick": {"type": "formula", "formula": "if(count >= 10, round(price * 0.9, 2), "
                                           "coalesce(price, ratio, 1))"},
    "later": {"type": "formula", "formula": "add_days(due, count)", "result": "date"},
    "span": {"type": "formula", "formula": "days_between(due, add_days(due, count))",
             "result": "integer"},
    "big": {"type": "formula", "formula": "max(price, ratio, 3) - min(count, share)",
            "result": "percent"},
    "flag": {"type": "formula", "formula": "if(active, count = 3, price != ratio)",
             "result": "boolean"},
}

PACK = load_pack(write_pack(Path(tempfile.mkdtemp()) / "pack", {
    "thing": {"name": "thing", "fields": {**FIELDS, **FORMULAS}}}))
ENTITY = PACK.entities["thing"]

texts = st.text(alphabet=st.sampled_from("aZ09 ,.-@+/:x\x00\t"), max_size=20)
numbers = st.one_of(st.integers(-10**20, 10**20), st.decimals(allow_nan=True),
                    st.floats(allow_nan=True, allow_infinity=True))
scalars = st.one_of(st.none(), texts, numbers, st.booleans(),
                    st.dates().map(lambda d: d.isoformat()), st.dates(),
                    st.datetimes(timezones=st.just(dt.UTC)),
                    st.sampled_from(["person", "company", "", "  ", "1,200", "x@example.com",
                                     "+81 3-1234-5678", "https://example.com", "AB12", "7"]))
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(texts, scalars,
                                                                          max_size=2))
rows = st.dictionaries(st.sampled_from([*FIELDS, "nope", "created_at"]), values, max_size=8)
numbers_or_empty = st.one_of(st.none(), st.decimals(allow_nan=True, places=3),
                             st.integers(-10**30, 10**30), st.sampled_from([0, "0", "", "1e400"]))
operands = st.fixed_dictionaries({
    "price": numbers_or_empty, "share": numbers_or_empty, "ratio": numbers_or_empty,
    "count": numbers_or_empty, "active": st.one_of(st.none(), st.booleans()),
    "due": st.one_of(st.none(), st.dates(), st.datetimes(timezones=st.just(dt.UTC)),
                     st.sampled_from(["2026-02-30", "2026-03-01", "x"]))})


def _through_marshmallow(schemas: Schemas, values: dict[str, Any]
                         ) -> tuple[dict[str, Any], list[Problem]]:
    """The general path: each value through the schema's marshmallow field."""
    problems = check_names(ENTITY, values)
    loaded: dict[str, Any] = {}
    fields = {f.data_key: f for f in schemas.schema(ENTITY).load_fields.values()}
    for name, field in fields.items():
        if name not in values:
            continue
        try:
            loaded[name] = field.deserialize(values[name], name, values)
        except ma.ValidationError as error:
            problems += [Problem(name, message, "invalid") for message in error.messages]
    return loaded, problems


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b and str(a) == str(b)
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(rows)
def test_loading_directly_gives_the_marshmallow_fields_result_and_messages(row):
    schemas = Schemas(PACK)
    loaded, problems = schemas.load(ENTITY, row)
    expected, expected_problems = _through_marshmallow(schemas, row)
    assert list(loaded) == list(expected)
    assert all(_same(loaded[n], expected[n]) for n in loaded), (loaded, expected)
    assert problems == expected_problems


@given(values)
def test_emptiness_by_type_is_the_plain_comparison(value):
    plain = value is None or (isinstance(value, str) and not value.strip()) or value == []
    assert is_empty(value) is plain


def test_emptiness_of_subclasses_and_other_kinds():
    class Text(str):
        pass

    class Items(list):
        pass

    assert is_empty(Text("  ")) and not is_empty(Text("a"))
    assert is_empty(Items()) and not is_empty(Items([1]))
    assert not is_empty(()) and not is_empty({}) and not is_empty(0)
    assert not is_empty(Decimal("NaN")) and not is_empty(False)


def _required_plainly(record: dict[str, Any], judge: Any) -> list[Problem]:
    found = []
    for name, field in ENTITY.fields.items():
        if field.derived or not (field.required or field.required_if is not None):
            continue
        if is_empty(record.get(name)):
            if field.required or (field.required_if is not None
                                  and judge(field.required_if, record)):
                found.append(Problem(name, f"{field.label.get('en')} is required.",
                                     "required"))
    return found


@given(st.fixed_dictionaries({}, optional={n: scalars for n in FIELDS}))
def test_required_fields_worked_out_once_name_the_same_problems(record):
    def judge(cond: Any, rec: dict[str, Any]) -> bool:
        return rec.get(cond.ref.path) == cond.value

    assert check_required(ENTITY, record, None, judge) == _required_plainly(record, judge)
    assert check_required(ENTITY, record, None, judge) == check_required(
        ENTITY, dict(record), None, judge)


def _walked(formula: Formula, values: dict[str, Any]) -> Any:
    """The general path: the formula's tree walked for these values."""
    with decimal.localcontext() as context:
        context.prec = 50
        try:
            return _stored(evaluate(formula.tree, values), formula.result)
        except ArithmeticError:
            return None


@settings(max_examples=300, deadline=None)
@given(operands)
def test_a_precompiled_formula_gives_what_walking_its_tree_gives(values):
    for name in FORMULAS:
        formula = ENTITY.fields[name].formula
        assert isinstance(formula, Formula)
        assert _same(formula.evaluate(values), _walked(formula, values)), name
