"""Safe formulas (SPEC §3.1 `formula`, §3.6): `"(price - cost) / price * 100"`,
`"if(quantity >= 10, round(price * 0.9, 2), price)"`, `"add_days(signed, 30)"`.

A formula is parsed with `ast.parse(mode="eval")` after two spelling changes (`if(` becomes
a plain name, `=` becomes `==`), and only the nodes in `check.py` are accepted; nothing is
ever passed to eval. Evaluation is in Decimal (`functions.py`); the value is then made the
field's `result` type: numbers rounded half-up to the stored places, and a value too large
for its column is empty, never a crash. Formulas may use formulas; `in_order` gives the
order that computes each after the ones it uses, and `cycles` reports a loop.
"""

from __future__ import annotations

import ast
import bisect
import decimal
import graphlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from karte.meta.formulas.check import IF_NAME, Builder
from karte.meta.formulas.functions import (
    BOOLEAN,
    DATE,
    KIND_WORDS,
    NUMBER,
    Compiled,
    Node,
    compiled,
)
from karte.meta.model import Entity
from karte.problems import Problem, at, pointer

MAX_LENGTH = 500
# result → (places, the first value too large for its column), matching karte.fields
NUMBERS: dict[str, tuple[Decimal, Decimal]] = {
    "decimal": (Decimal("0.0001"), Decimal(10) ** 14),
    "integer": (Decimal(1), Decimal(10) ** 18),
    "money": (Decimal("0.01"), Decimal(10) ** 16),
    "percent": (Decimal("0.01"), Decimal(10) ** 5),
}
RESULT_KINDS = {**dict.fromkeys(NUMBERS, NUMBER), "date": DATE, "boolean": BOOLEAN}
_SPELLING = re.compile(r"\bif\b|(?<![=!<>])=(?!=)")


@dataclass(frozen=True)
class Formula:
    text: str
    fields: frozenset[str]
    tree: Node
    result: str = "decimal"
    # one-hop operands, (link field, field of the linked record): evaluate reads them as
    # values["customer.discount_pct"]
    hops: frozenset[tuple[str, str]] = frozenset()
    # the tree as one function, made once (functions.compiled)
    run: Compiled = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "run", compiled(self.tree))

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The value for a record's `values`, or None when it cannot be computed."""
        with decimal.localcontext() as context:
            context.prec = 50
            try:
                value = self.run(values)
                return _stored(value, self.result)
            except ArithmeticError:
                return None


def _stored(value: Any, result: str) -> Any:
    if result not in NUMBERS or value is None:
        return value
    places, limit = NUMBERS[result]
    if not value.is_finite():
        return None
    value = value.quantize(places, rounding=decimal.ROUND_HALF_UP)
    if abs(value) >= limit:
        return None
    return int(value) if result == "integer" else value


def _python(text: str) -> tuple[str, list[int]]:
    """The formula spelt as a Python expression, and where characters were inserted."""
    inserted: list[int] = []

    def spell(match: re.Match[str]) -> str:
        inserted.append(match.end() + len(inserted))
        return IF_NAME if match.group() == "if" else "=="
    return _SPELLING.sub(spell, text), inserted


def parse(text: Any, entity: Entity, file: str, where: str, result: str | None = None,
          entities: Mapping[str, Entity] | None = None) -> tuple[Formula | None, list[Problem]]:
    """The formula, or None with every problem found (never raises). `entities` are the
    ones link operands (`customer.discount_pct`) may reach."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LENGTH:
        return None, [at(file, where, "a formula is arithmetic written as text, e.g. "
                         f'"(price - cost) / price * 100", at most {MAX_LENGTH} characters',
                         "FORM001")]
    indent = len(text) - len(text.lstrip())
    source, inserted = _python(text.strip())

    def column(offset: int) -> int:       # 0-based offset in `source` → column in `text`
        return offset - bisect.bisect_left(inserted, offset) + 1 + indent
    builder = Builder(entity, file, where, column, entities)
    try:
        tree, kind = builder.node(ast.parse(source, mode="eval").body)
    except SyntaxError as error:
        offset = (error.offset or len(source) + 1) - 1      # past the end: at the very end
        return None, [at(file, where, f"syntax error at column {column(offset)}: "
                         f"{error.msg}", "FORM002")]
    except (ValueError, RecursionError, MemoryError):
        return None, [at(file, where, "the formula is nested too deeply to read", "FORM006")]
    result = result or "decimal"
    wanted = RESULT_KINDS.get(result, NUMBER)
    if kind is not None and kind != wanted and not builder.problems:
        builder.problems.append(at(file, where, f"the formula gives {KIND_WORDS[kind]}, and "
                                   f'"result" is "{result}"; give "result": '
                                   f'"{"decimal" if kind == NUMBER else kind}" or change '
                                   "the formula", "FORM013"))
    if builder.problems:
        return None, builder.problems
    return Formula(text, frozenset(builder.names), tree, result, frozenset(builder.hops)), []


def _uses(entity: Entity) -> dict[str, set[str]]:
    """Each formula field and the formula fields it uses (none while not parsed)."""
    names = {name for name, f in entity.fields.items() if f.type == "formula"}
    return {name: set(getattr(entity.fields[name].formula, "fields", ())) & names
            for name in entity.fields if name in names}


def in_order(entity: Entity) -> list[str]:
    """The entity's formula fields, each after the formulas it uses."""
    try:
        return list(graphlib.TopologicalSorter(_uses(entity)).static_order())
    except graphlib.CycleError:           # refused by `karte check`; never computed
        return list(_uses(entity))


def cycles(entity: Entity) -> list[Problem]:
    """A FORM014 problem naming the loop when formulas use one another in a circle."""
    try:
        graphlib.TopologicalSorter(_uses(entity)).prepare()
    except graphlib.CycleError as error:
        loop = list(reversed(error.args[1]))
        return [at(entity.source, pointer("fields", loop[0], "formula"),
                   f"formulas use one another in a circle: {' → '.join(loop)}", "FORM014")]
    return []
