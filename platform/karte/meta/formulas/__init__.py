"""Safe arithmetic formulas (SPEC §3.1 `formula`): `"(price - cost) / price * 100"`.

A formula is parsed with `ast.parse(mode="eval")` and only numbers, names of the entity's
numeric fields, `+ - * /`, unary `-`/`+` and parentheses are accepted; nothing is ever
passed to eval. Evaluation is in Decimal: an empty operand, a division by zero or a result
too large for the stored NUMERIC(18, 4) give None (an empty value, not a crash), and the
result is rounded half-up to 4 decimal places.
"""

from __future__ import annotations

import ast
import decimal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from karte.fields import TYPES
from karte.meta.model import Entity, Field
from karte.problems import Problem, a_an, at, did_you_mean

MAX_LENGTH = 500
MAX_DEPTH = 100            # keeps evaluation far from Python's recursion limit
PLACES = Decimal("0.0001")
LIMIT = Decimal(10) ** 14          # NUMERIC(18, 4): 14 digits before the point
_BINARY: dict[type, Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_UNARY: dict[type, Callable[[Decimal], Decimal]] = {
    ast.USub: lambda a: -a,
    ast.UAdd: lambda a: +a,
}
_SYMBOLS = {ast.Pow: "**", ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@",
            ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
            ast.RShift: ">>", ast.Invert: "~", ast.Not: "not"}

# A compiled formula is a tree of tuples: ("num", Decimal), ("name", str),
# ("unary", op type, node), ("binary", op type, left, right).
Node = tuple[Any, ...]


@dataclass(frozen=True)
class Formula:
    text: str
    fields: frozenset[str]
    tree: Node

    def evaluate(self, values: Mapping[str, Any]) -> Decimal | None:
        """The value for a record's `values`, or None when it cannot be computed."""
        with decimal.localcontext() as context:
            context.prec = 50
            context.traps[decimal.DivisionByZero] = True
            try:
                result = _evaluate(self.tree, values)
            except ArithmeticError:
                return None
            if result is None or not result.is_finite() or abs(result) >= LIMIT:
                return None
            return result.quantize(PLACES, rounding=decimal.ROUND_HALF_UP)


def parse(text: Any, entity: Entity, file: str, pointer: str) -> tuple[Formula | None,
                                                                       list[Problem]]:
    """The formula, or None with every problem found (never raises)."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LENGTH:
        return None, [at(file, pointer, "a formula is arithmetic written as text, e.g. "
                         f'"(price - cost) / price * 100", at most {MAX_LENGTH} characters',
                         "FORM001")]
    indent = len(text) - len(text.lstrip())
    builder = _Builder(entity, file, pointer, indent)
    try:
        node = builder.node(ast.parse(text.strip(), mode="eval").body)
    except SyntaxError as error:
        column = (error.offset or len(text.strip()) + 1) + indent   # 0: at the very end
        return None, [at(file, pointer, f"syntax error at column {column}: {error.msg}",
                         "FORM002")]
    except (ValueError, RecursionError, MemoryError):
        return None, [at(file, pointer, "the formula is nested too deeply to read",
                         "FORM006")]
    if builder.problems:
        return None, builder.problems
    return Formula(text, frozenset(builder.names), node), []


def numeric_fields(entity: Entity) -> list[str]:
    """Fields a formula may use: stored numbers, not other formulas."""
    return [name for name, f in entity.fields.items() if _usable(f)]


def _usable(field: Field) -> bool:
    kind = TYPES.get(field.type)
    return kind is not None and kind.numeric and field.type != "formula"


class _Builder:
    """Turns the Python syntax tree into a formula tree, rejecting everything else."""

    def __init__(self, entity: Entity, file: str, pointer: str, indent: int):
        self.entity, self.file, self.pointer, self.indent = entity, file, pointer, indent
        self.names: set[str] = set()
        self.depth = 0
        self.problems: list[Problem] = []

    def problem(self, node: ast.AST, code: str, message: str) -> Node:
        column = getattr(node, "col_offset", 0) + 1 + self.indent
        self.problems.append(at(self.file, self.pointer, f"column {column}: {message}", code))
        return ("num", Decimal(0))

    def node(self, node: ast.AST) -> Node:
        build = _NODES.get(type(node))
        if build is None:
            return self.problem(node, "FORM003", f"{_describe(node)} is not allowed; use "
                                "numbers, field names, + - * / and parentheses")
        if self.depth >= MAX_DEPTH:
            if any(p.code == "FORM006" for p in self.problems):
                return ("num", Decimal(0))
            return self.problem(node, "FORM006", f"nested too deeply (at most {MAX_DEPTH} "
                                "operations inside one another)")
        self.depth += 1
        try:
            return build(self, node)
        finally:
            self.depth -= 1

    def binary(self, node: ast.BinOp) -> Node:
        if type(node.op) not in _BINARY:
            return self.problem(node, "FORM003", f'operator "{_SYMBOLS.get(type(node.op))}"'
                                " is not allowed; use + - * /")
        return ("binary", type(node.op), self.node(node.left), self.node(node.right))

    def unary(self, node: ast.UnaryOp) -> Node:
        if type(node.op) not in _UNARY:
            return self.problem(node, "FORM003", f'operator "{_SYMBOLS.get(type(node.op))}"'
                                " is not allowed; use + - * /")
        return ("unary", type(node.op), self.node(node.operand))

    def constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return self.problem(node, "FORM003", f"{value!r} is not a number")
        number = Decimal(repr(value))
        if not number.is_finite():
            return self.problem(node, "FORM003", "this number is too large")
        return ("num", number)

    def name(self, node: ast.Name) -> Node:
        field = self.entity.fields.get(node.id)
        if field is None:
            return self.problem(node, "FORM004", f'"{self.entity.name}" has no field '
                                f'"{node.id}"{did_you_mean(node.id, numeric_fields(self.entity))}')
        if not _usable(field):
            return self.problem(node, "FORM005", f'"{node.id}" is {a_an(field.type)} field; a '
                                "formula uses integer, decimal, money and percent fields")
        self.names.add(node.id)
        return ("name", node.id)


_NODES: dict[type, Callable[[_Builder, Any], Node]] = {
    ast.BinOp: _Builder.binary,
    ast.UnaryOp: _Builder.unary,
    ast.Constant: _Builder.constant,
    ast.Name: _Builder.name,
}


def _describe(node: ast.AST) -> str:
    names = {ast.Call: "a function call", ast.Attribute: "an attribute",
             ast.Compare: "a comparison", ast.BoolOp: "and / or",
             ast.Subscript: "indexing", ast.IfExp: "if / else"}
    return names.get(type(node), type(node).__name__)


def _number(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except decimal.InvalidOperation:
        return None
    return number if number.is_finite() else None


def _evaluate(node: Node, values: Mapping[str, Any]) -> Decimal | None:
    kind = node[0]
    if kind == "num":
        number: Decimal = node[1]
        return number
    if kind == "name":
        return _number(values.get(node[1]))
    operands = [_evaluate(child, values) for child in node[2:]]
    present = [operand for operand in operands if operand is not None]
    if len(present) < len(operands):
        return None
    table = _UNARY if kind == "unary" else _BINARY
    return table[node[1]](*present)
