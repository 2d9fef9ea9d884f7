"""Python's syntax tree → a typed formula tree, rejecting everything not on the allow-list.

Each node gets a kind (number, date, true/false); None marks a part already reported, so
one mistake is not reported again by everything around it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from karte.fields import TYPES
from karte.meta.formulas.functions import (
    BINARY,
    BOOLEAN,
    COMPARE,
    DATE,
    EQUALITY,
    FUNCTIONS,
    KIND_WORDS,
    NUMBER,
    SAME,
    UNARY,
    USAGE,
    Node,
)
from karte.meta.model import Entity, Field
from karte.problems import Problem, a_an, at, did_you_mean

MAX_DEPTH = 100            # keeps evaluation far from Python's recursion limit
MAX_PLACES = 10
IF_NAME = "if_"            # what `if(` is rewritten to before parsing (`if` is a keyword)
Kind = str | None
Typed = tuple[Node, Kind]
_SYMBOLS = {ast.Pow: "**", ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@",
            ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
            ast.RShift: ">>", ast.Invert: "~", ast.Not: "not", ast.Is: "is",
            ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
ALLOWED = "numbers, field names, functions, + - * / and parentheses"


def operand_kind(field: Field) -> Kind:
    """What a field gives a formula: a number, a date, true/false, or nothing usable."""
    if field.type in ("formula", "rollup"):
        return {"date": DATE, "boolean": BOOLEAN}.get(field.result or "", NUMBER)
    if field.type in ("date", "boolean"):
        return field.type
    kind = TYPES.get(field.type)
    return NUMBER if kind is not None and kind.numeric else None


def _usable_fields(entity: Entity) -> list[str]:
    return [name for name, f in entity.fields.items() if operand_kind(f) is not None]


class Builder:
    """Turns the Python syntax tree into a typed formula tree, collecting problems."""

    def __init__(self, entity: Entity, file: str, pointer: str,
                 column: Callable[[int], int], entities: Mapping[str, Entity] | None = None):
        self.entity, self.file, self.pointer, self.column = entity, file, pointer, column
        self.entities = entities or {}
        self.names: set[str] = set()
        self.hops: set[tuple[str, str]] = set()
        self.depth = 0
        self.problems: list[Problem] = []

    def problem(self, node: ast.AST, code: str, message: str) -> Typed:
        column = self.column(getattr(node, "col_offset", 0))
        self.problems.append(at(self.file, self.pointer, f"column {column}: {message}", code))
        return ("num", Decimal(0)), None

    def node(self, node: ast.AST) -> Typed:
        build = _NODES.get(type(node))
        if build is None:
            return self.problem(node, "FORM003", f"{_describe(node)} is not allowed; use "
                                f"{ALLOWED}")
        if self.depth >= MAX_DEPTH:
            if any(p.code == "FORM006" for p in self.problems):
                return ("num", Decimal(0)), None
            return self.problem(node, "FORM006", f"nested too deeply (at most {MAX_DEPTH} "
                                "operations inside one another)")
        self.depth += 1
        try:
            return build(self, node)
        finally:
            self.depth -= 1

    def needs(self, node: ast.AST, kinds: frozenset[str], what: str) -> Typed:
        """`node` built, with a FORM012 problem when its kind is not one of `kinds`."""
        tree, kind = self.node(node)
        if kind is None or kind in kinds:
            return tree, kind
        wanted = " or ".join(KIND_WORDS[k] for k in sorted(kinds))
        return self.problem(node, "FORM012", f"{KIND_WORDS[kind]} where {wanted} is needed "
                            f"({what})")

    def binary(self, node: ast.BinOp) -> Typed:
        if type(node.op) not in BINARY:
            return self.problem(node, "FORM003", f'operator "{_SYMBOLS.get(type(node.op))}"'
                                " is not allowed; use + - * /")
        numbers = frozenset({NUMBER})
        left, _ = self.needs(node.left, numbers, "arithmetic")
        right, _ = self.needs(node.right, numbers, "arithmetic")
        return ("binary", type(node.op), left, right), NUMBER

    def unary(self, node: ast.UnaryOp) -> Typed:
        if type(node.op) not in UNARY:
            return self.problem(node, "FORM003", f'operator "{_SYMBOLS.get(type(node.op))}"'
                                " is not allowed; use + - * /")
        operand, _ = self.needs(node.operand, frozenset({NUMBER}), "arithmetic")
        return ("unary", type(node.op), operand), NUMBER

    def constant(self, node: ast.Constant) -> Typed:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return self.problem(node, "FORM003", f"{value!r} is not a number")
        number = Decimal(repr(value))
        if not number.is_finite():
            return self.problem(node, "FORM003", "this number is too large")
        return ("num", number), NUMBER

    def name(self, node: ast.Name) -> Typed:
        field = self.entity.fields.get(node.id)
        if field is None:
            return self.problem(node, "FORM004", f'"{self.entity.name}" has no field '
                                f'"{node.id}"{did_you_mean(node.id, _usable_fields(self.entity))}')
        kind = operand_kind(field)
        if kind is None:
            return self.problem(node, "FORM005", f'"{node.id}" is {a_an(field.type)} field; a '
                                "formula uses number, date and boolean fields and formulas")
        self.names.add(node.id)
        return ("name", node.id, kind), kind

    def hop(self, node: ast.Attribute) -> Typed:
        """`customer.discount_pct`: a field of the record a link field points at (one hop;
        its value is read when the record is saved)."""
        if not isinstance(node.value, ast.Name):
            return self.problem(node, "FORM023", "a formula follows one link only, as in "
                                "customer.discount_pct")
        link = self.entity.fields.get(node.value.id)
        links = [n for n, f in self.entity.fields.items() if f.type == "link"]
        if link is None or link.type != "link":
            what = ("is no field" if link is None else f"is {a_an(link.type)} field")
            return self.problem(node, "FORM020", f'"{node.value.id}" {what}; before the dot '
                                f"comes a link field of {self.entity.name} "
                                f"({', '.join(links) or 'it has none'})")
        target = self.entities.get(link.to or "")
        if target is None:                      # "to" names no entity: DEF024 says so
            return ("num", Decimal(0)), None
        return self.linked(node, link, target)

    def linked(self, node: ast.Attribute, link: Field, target: Entity) -> Typed:
        field = target.fields.get(node.attr)
        if field is None:
            usable = _usable_fields(target)
            return self.problem(node, "FORM021", f'{link.name} links to {target.name}, which '
                                f'has no field "{node.attr}"{did_you_mean(node.attr, usable)}'
                                f"; its fields a formula can use: {', '.join(usable)}")
        kind = operand_kind(field)
        if kind is None:
            return self.problem(node, "FORM022", f'{target.name}.{node.attr} is '
                                f"{a_an(field.type)} field; a formula uses number, date and "
                                "boolean fields, formulas and rollups")
        self.names.add(link.name)
        self.hops.add((link.name, node.attr))
        return ("name", f"{link.name}.{node.attr}", kind), kind

    def compare(self, node: ast.Compare) -> Typed:
        if len(node.ops) != 1:
            return self.problem(node, "FORM003", "a chained comparison is not allowed; "
                                "compare two operands")
        op = type(node.ops[0])
        if op not in COMPARE:
            return self.problem(node, "FORM003", f'operator "{_SYMBOLS.get(op)}" is not '
                                "allowed; compare with = != < <= > >=")
        left, left_kind = self.node(node.left)
        right, right_kind = self.node(node.comparators[0])
        if left_kind and right_kind and left_kind != right_kind:
            self.problem(node, "FORM012", f"compares {KIND_WORDS[left_kind]} with "
                         f"{KIND_WORDS[right_kind]}")
        elif BOOLEAN in (left_kind, right_kind) and op not in EQUALITY:
            self.problem(node, "FORM012", "true or false compares only with = and !=")
        return ("compare", op, left, right), BOOLEAN

    def call(self, node: ast.Call) -> Typed:
        if not isinstance(node.func, ast.Name):
            return self.problem(node, "FORM003", f"a function call on {_describe(node.func)}"
                                f" is not allowed; call one of: {', '.join(USAGE.values())}")
        name = "if" if node.func.id == IF_NAME else node.func.id
        function = FUNCTIONS.get(name)
        if function is None:
            return self.problem(node, "FORM010", f'unknown function "{name}"'
                                f"{did_you_mean(name, FUNCTIONS)}; the functions are "
                                f"{', '.join(USAGE.values())}")
        if node.keywords:
            return self.problem(node, "FORM003", f"named arguments are not allowed: "
                                f"{USAGE[name]}")
        if not function.fits(len(node.args)):
            return self.problem(node, "FORM011", f"{USAGE[name]} is called with "
                                f"{len(node.args)} argument{'s' * (len(node.args) != 1)}")
        return self.arguments(node, name)

    def arguments(self, node: ast.Call, name: str) -> Typed:
        function = FUNCTIONS[name]
        params = function.params + (function.params[-1:] * (len(node.args)
                                                           - len(function.params)))
        same: Kind = None
        args: list[Node] = []
        for param, arg in zip(params, node.args, strict=True):
            kinds = function.same if param == SAME else frozenset({param})
            if param == SAME and same is not None:
                kinds = frozenset({same})
            tree, kind = self.needs(arg, kinds, USAGE[name])
            same = kind if param == SAME and same is None else same
            args.append(tree)
        if name == "round":
            self.places(node.args[1])
        returns = same if function.returns == SAME else function.returns
        return ("call", name, *args), returns

    def places(self, node: ast.AST) -> None:
        """round's `n` is written as a whole number, so that every value rounds alike."""
        value = node.value if isinstance(node, ast.Constant) else None
        if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
            value = node.operand.value
        if (not isinstance(value, int) or isinstance(value, bool)
                or abs(value) > MAX_PLACES):
            self.problem(node, "FORM015", f"round(x, n) needs n written as a whole number "
                         f"from -{MAX_PLACES} to {MAX_PLACES}, e.g. round(price, 2)")


_NODES: dict[type, Callable[[Builder, Any], Typed]] = {
    ast.BinOp: Builder.binary,
    ast.UnaryOp: Builder.unary,
    ast.Constant: Builder.constant,
    ast.Name: Builder.name,
    ast.Attribute: Builder.hop,
    ast.Compare: Builder.compare,
    ast.Call: Builder.call,
}


def _describe(node: ast.AST) -> str:
    names = {ast.Call: "a function call", ast.Attribute: "an attribute",
             ast.BoolOp: "and / or", ast.Subscript: "indexing", ast.IfExp: "if / else"}
    return names.get(type(node), type(node).__name__)
