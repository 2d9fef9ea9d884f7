"""What a formula computes: its functions (SPEC §3.6), comparisons and arithmetic.

A compiled formula is a tree of tuples: ("num", Decimal), ("name", field, kind),
("unary", op type, node), ("binary", op type, left, right), ("compare", op type, left,
right) and ("call", function name, *arguments). Values are Decimal numbers, dates and
booleans; None is empty. An empty operand or a division by zero gives empty, except where
a function looks at empty operands itself (`coalesce`, and the branch `if` does not take).
"""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

NUMBER, DATE, BOOLEAN = "number", "date", "boolean"
SAME = "same"       # a parameter of the kind the other "same" arguments have
KIND_WORDS = {NUMBER: "a number", DATE: "a date", BOOLEAN: "true or false"}
Node = tuple[Any, ...]

BINARY: dict[type, Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
UNARY: dict[type, Callable[[Decimal], Decimal]] = {ast.USub: operator.neg,
                                                   ast.UAdd: operator.pos}
COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
EQUALITY = frozenset({ast.Eq, ast.NotEq})


@dataclass(frozen=True)
class Function:
    """A callable name: the kinds of its parameters (the last repeats when `variadic`),
    the kinds a SAME parameter may have, what it returns, and how it computes."""

    params: tuple[str, ...]
    returns: str
    compute: Callable[..., Any]
    variadic: bool = False
    same: frozenset[str] = frozenset({NUMBER, DATE, BOOLEAN})
    sees_empty: bool = False

    def fits(self, count: int) -> bool:
        return count >= len(self.params) if self.variadic else count == len(self.params)


def _round(value: Decimal, places: Decimal) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-int(places)), rounding=decimal.ROUND_HALF_UP)


def _days_between(first: dt.date, second: dt.date) -> Decimal:
    return Decimal((second - first).days)


def _add_days(day: dt.date, days: Decimal) -> dt.date:
    whole = int(days.to_integral_value(rounding=decimal.ROUND_HALF_UP))
    return day + dt.timedelta(days=whole)


def _coalesce(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _if(condition: bool | None, then: Any, otherwise: Any) -> Any:
    if condition is None:
        return None
    return then if condition else otherwise


_ORDERED = frozenset({NUMBER, DATE})
FUNCTIONS: dict[str, Function] = {
    "round": Function((NUMBER, NUMBER), NUMBER, _round),
    "abs": Function((NUMBER,), NUMBER, abs),
    "min": Function((SAME, SAME), SAME, min, variadic=True, same=_ORDERED),
    "max": Function((SAME, SAME), SAME, max, variadic=True, same=_ORDERED),
    "coalesce": Function((SAME, SAME), SAME, _coalesce, variadic=True, sees_empty=True),
    "days_between": Function((DATE, DATE), NUMBER, _days_between),
    "add_days": Function((DATE, NUMBER), DATE, _add_days),
    "if": Function((BOOLEAN, SAME, SAME), SAME, _if, sees_empty=True),
}
USAGE = {"round": "round(x, n)", "abs": "abs(x)", "min": "min(a, b, …)",
         "max": "max(a, b, …)", "coalesce": "coalesce(a, b, …)",
         "days_between": "days_between(date1, date2)", "add_days": "add_days(date, n)",
         "if": "if(condition, a, b)"}


def number(value: Any) -> Decimal | None:
    if type(value) is Decimal:        # most operands: what Decimal(str(value)) gives back
        return value if value.is_finite() else None
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value))
    except decimal.InvalidOperation:
        return None
    return result if result.is_finite() else None


def date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def boolean(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


OPERAND: dict[str, Callable[[Any], Any]] = {NUMBER: number, DATE: date, BOOLEAN: boolean}


def evaluate(node: Node, values: Mapping[str, Any]) -> Any:
    """The value of `node` for a record's `values` (None when empty); raises
    ArithmeticError (OverflowError included) when a number or date cannot be computed."""
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "name":
        return OPERAND[node[2]](values.get(node[1]))
    operands = [evaluate(child, values) for child in node[2:]]
    if kind == "call":
        function = FUNCTIONS[node[1]]
        if not function.sees_empty and None in operands:
            return None
        return function.compute(*operands)
    if None in operands:
        return None
    if kind == "compare":
        return COMPARE[node[1]](*operands)
    if kind == "unary":
        return UNARY[node[1]](operands[0])
    if node[1] is ast.Div and operands[1] == 0:
        return None
    return BINARY[node[1]](*operands)


Compiled = Callable[[Mapping[str, Any]], Any]


def compiled(node: Node) -> Compiled:
    """`evaluate` of `node` as one precompiled function of the values: the tree is walked
    once here, not for every record (a bulk write computes thousands). Same values, same
    empties, same errors."""
    kind = node[0]
    if kind == "num":
        constant = node[1]
        return lambda values: constant
    if kind == "name":
        operand, name = OPERAND[node[2]], node[1]
        return lambda values: operand(values.get(name))
    children = tuple(compiled(child) for child in node[2:])
    if kind == "call":
        function = FUNCTIONS[node[1]]
        compute, sees_empty = function.compute, function.sees_empty

        def call(values: Mapping[str, Any]) -> Any:
            operands = [child(values) for child in children]
            if not sees_empty and None in operands:
                return None
            return compute(*operands)
        return call
    if kind == "compare":
        return _strict(COMPARE[node[1]], children)
    if kind == "unary":
        return _strict(UNARY[node[1]], children)
    binary, divides = BINARY[node[1]], node[1] is ast.Div

    def arithmetic(values: Mapping[str, Any]) -> Any:
        left, right = children[0](values), children[1](values)
        if left is None or right is None or (divides and right == 0):
            return None
        return binary(left, right)
    return arithmetic


def _strict(apply: Callable[..., Any], children: tuple[Compiled, ...]) -> Compiled:
    """An operator whose operands are all evaluated first; any of them empty is empty."""
    def strict(values: Mapping[str, Any]) -> Any:
        operands = [child(values) for child in children]
        return None if None in operands else apply(*operands)
    return strict
