"""The condition language of SPEC §5: parse and type-check once, then run as SQL or Python.

A condition is data (`{"field": "amount", "op": ">=", "value": 100000}`, `{"all": [...]}`,
`{"any": [...]}`, `{"not": {...}}`), never code. `parse` checks it against the Registry and
reports every problem with its file and JSON pointer; the result compiles to a SQL
expression (`to_sql`, for lists, filters and boards) and to a Python predicate (`evaluate`,
for forms and moves). Both MUST give the same answer for every record, so the rules are:

- *Empty* is NULL, `''` for text types, `[]` for multi_enum (and a JSON `null`), no junction
  rows for `links`. Stored values are normalised (trimmed), so `'  '` never occurs.
- On an empty field every comparison (`=`, `>`, `in`, `contains`, `starts_with`, ...) is
  false, except `!=` and `not_in`, which are true: an empty amount is not 100.
  Every SQL piece is two-valued (never NULL), so `not` means the same in SQL and Python.
- `contains` / `starts_with` on text ignore case for the ASCII letters A-Z only, and `%`,
  `_` are literal. (SQLite's lower() folds ASCII only while PostgreSQL's folds all of
  Unicode; folding ASCII everywhere is the one rule both databases and Python can keep.)
- `contains` on multi_enum: has that option key (case-sensitive); on `links`: is linked to
  that id.
- `field` may follow one `link`: `"customer.segment"`. A link that is empty, or points at a
  record that does not exist, reads as empty. `fetch` must return soft-deleted targets too,
  as the SQL subquery does, with `links` fields as lists of ids.
- Values are literals of the field's type, coerced at load time by the field normaliser
  (bounds, length and pattern are not applied: `amount < 0` is a fair question), or tokens
  resolved through `Context`: `$today`, `{"days_from_today": n}` (date; on a datetime field,
  midnight UTC of that day), `$now` (datetime) and `$me` (user fields). Without a user,
  `$me` matches no one: `= $me` is false, `!= $me` is true.
- `{"all": []}` is true; `{"any": []}` is false.
"""

from __future__ import annotations

import datetime as dt
import json
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from karte.fields import TYPES, is_empty, normalise
from karte.meta.model import SYSTEM_FIELDS, Entity, Field
from karte.meta.problems import Problem, at, did_you_mean, pointer

OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains", "starts_with",
             "empty", "not_empty")
LIST_OPS = frozenset({"in", "not_in"})
EMPTY_OPS = frozenset({"empty", "not_empty"})
TEXT_TYPES = frozenset({"string", "text", "email", "phone", "url", "enum"})
JSON_TYPES = frozenset({"multi_enum", "file"})
ID_TYPES = frozenset({"link", "user", "links"})
MAX_DAYS = 100_000
MAX_DEPTH = 32              # levels of all / any / not
MAX_ID = 2**63 - 1
_SHAPES = {"field": ("field", "op", "value"), "all": ("all",), "any": ("any",),
           "not": ("not",)}
_TOKEN_TYPES = {"$today": frozenset({"date", "datetime"}), "$now": frozenset({"datetime"}),
                "$me": frozenset({"user"})}
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@dataclass(frozen=True)
class Context:
    """What tokens mean right now: resolved when a condition runs, never when it loads."""

    today: dt.date
    now: dt.datetime      # aware, UTC
    user_id: int | None = None

    @classmethod
    def current(cls, user_id: int | None = None, timezone: str = "UTC") -> Context:
        """Now; `today` is the date in `timezone` (the pack's), so Tokyo's day starts at 0:00."""
        now = dt.datetime.now(dt.UTC)
        return cls(now.astimezone(ZoneInfo(timezone)).date(), now, user_id)


@dataclass(frozen=True)
class Token:
    """`$today` (+ `days`), `$now` or `$me`."""

    name: str
    days: int = 0


@dataclass(frozen=True)
class Ref:
    """The field a comparison reads: on the record itself, or one `link` away."""

    entity: str                  # the record's entity (its table)
    path: str                    # as written: "amount", "customer.segment"
    field: Field                 # the field read (on `target` when hopping)
    link: str | None = None      # the first-hop link field
    target: str | None = None    # the entity the link points to


@dataclass(frozen=True)
class Compare:
    ref: Ref
    op: str
    value: Any = None            # literal, Token, or a tuple of them for in / not_in


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Compare | AllOf | AnyOf | Not


class _Bad(Exception):
    """A value that does not fit; carries the problem code and the reason."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


# ---------------------------------------------------------------------- parsing

def parse(raw: Any, entity: Entity, entities: Mapping[str, Entity], file: str,
          pointer: str) -> tuple[Condition | None, list[Problem]]:
    """The checked condition, or None with every problem found (never raises)."""
    parser = _Parser(entity, entities, file, pointer)
    condition = parser.condition(raw, ())
    return (None if parser.problems else condition), parser.problems


def _show(raw: Any) -> str:
    try:
        text = json.dumps(raw, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _field_names(entity: Entity) -> list[str]:
    return [*entity.fields, *SYSTEM_FIELDS]


class _Parser:
    """Walks one raw condition, collecting problems instead of stopping at the first."""

    def __init__(self, entity: Entity, entities: Mapping[str, Entity], file: str, base: str):
        self.entity, self.entities, self.file, self.base = entity, entities, file, base
        self.problems: list[Problem] = []

    def problem(self, parts: tuple, code: str, message: str) -> None:
        self.problems.append(at(self.file, self.base + pointer(*parts), message, code))

    def condition(self, raw: Any, parts: tuple) -> Condition | None:
        if sum(isinstance(part, str) for part in parts) > MAX_DEPTH:
            self.problem(parts, "COND015", f"conditions nest too deeply (at most "
                         f"{MAX_DEPTH} levels of all / any / not)")
            return None
        if not isinstance(raw, dict):
            self.problem(parts, "COND001", 'a condition is an object: {"field", "op", '
                         '"value"}, {"all": [...]}, {"any": [...]} or {"not": {...}}; '
                         f"got {_show(raw)}")
            return None
        kinds = [k for k in _SHAPES if k in raw] or (["field"] if {"op", "value"} & set(raw)
                                                     else [])
        if len(kinds) != 1:
            found = " and ".join(f'"{k}"' for k in kinds)
            self.problem(parts, "COND001", f"a condition has one of \"field\", \"all\", "
                         f"\"any\" or \"not\"; this has {found or 'none of them'}")
            return None
        allowed = _SHAPES[kinds[0]]
        for key in raw:
            if key not in allowed:
                self.problem((*parts, key), "COND001",
                             f'unknown key "{key}"{did_you_mean(key, allowed)}')
        return _BUILDERS[kinds[0]](self, raw, parts)

    def group(self, raw: Mapping, parts: tuple, key: str) -> tuple[Condition | None, ...]:
        items = raw[key]
        if not isinstance(items, list):
            self.problem((*parts, key), "COND013", f'"{key}" takes a list of conditions')
            return ()
        return tuple(self.condition(item, (*parts, key, i)) for i, item in enumerate(items))

    def compare(self, raw: Mapping, parts: tuple) -> Compare | None:
        if "field" not in raw:
            self.problem(parts, "COND001", 'a comparison needs "field"')
        ref = self.ref(raw["field"], (*parts, "field")) if "field" in raw else None
        op = self.operator(raw, ref, parts)
        if ref is None or op is None:
            return None
        return Compare(ref, op, self.value(raw, ref.field, op, parts))

    def ref(self, path: Any, parts: tuple) -> Ref | None:
        if not isinstance(path, str):
            self.problem(parts, "COND001", f"\"field\" is a field name, not {_show(path)}")
            return None
        hops = path.split(".")
        if len(hops) > 2:
            self.problem(parts, "COND003", f'"{path}" follows more than one link; a '
                         'condition may follow one ("customer.segment")')
            return None
        first = self.known(self.entity, hops[0], parts)
        if first is None or len(hops) == 1:
            return first and Ref(self.entity.table_name, path, first)
        return self.hop(first, hops[1], path, parts)

    def known(self, entity: Entity, name: str, parts: tuple) -> Field | None:
        found = entity.lookup(name)
        if found is None:
            self.problem(parts, "COND002", f'"{entity.name}" has no field "{name}"'
                         f"{did_you_mean(name, _field_names(entity))}")
        return found

    def hop(self, link: Field, name: str, path: str, parts: tuple) -> Ref | None:
        if link.type != "link":
            self.problem(parts, "COND004", f'"{link.name}" is a {link.type} field; only a '
                         "link field can be followed")
            return None
        target = self.entities.get(link.to or "")
        if target is None:
            self.problem(parts, "COND014", f'link "{link.name}" points to "{link.to}", '
                         "which is not an entity of this pack")
            return None
        field = self.known(target, name, parts)
        return field and Ref(self.entity.table_name, path, field, link.name, target.name)

    def operator(self, raw: Mapping, ref: Ref | None, parts: tuple) -> str | None:
        if "op" not in raw:
            self.problem(parts, "COND001", 'a comparison needs "op" (one of '
                         f"{', '.join(OPERATORS)})")
            return None
        op = raw["op"]
        if op not in OPERATORS:
            self.problem((*parts, "op"), "COND005", f"unknown operator {_show(op)}"
                         f"{did_you_mean(str(op), OPERATORS)}; use one of "
                         f"{', '.join(OPERATORS)}")
            return None
        kind = TYPES.get(ref.field.type) if ref else None
        if ref is not None and (kind is None or op not in kind.ops):
            fits = [o for o in OPERATORS if kind and o in kind.ops]
            self.problem((*parts, "op"), "COND006", f'operator "{op}" does not fit "'
                         f'{ref.path}" ({ref.field.type}); operators that fit: '
                         f"{', '.join(fits) or 'none'}")
            return None
        return op

    def value(self, raw: Mapping, field: Field, op: str, parts: tuple) -> Any:
        if op in EMPTY_OPS:
            if raw.get("value") is not None:
                self.problem((*parts, "value"), "COND010", f'"{op}" takes no value')
            return None
        if "value" not in raw:
            self.problem(parts, "COND011", f'operator "{op}" needs a "value"')
            return None
        if op not in LIST_OPS:
            return self.one(raw["value"], field, op, (*parts, "value"))
        if not isinstance(raw["value"], list):
            self.problem((*parts, "value"), "COND009", f'"{op}" needs a list of values, '
                         f"not {_show(raw['value'])}")
            return None
        return tuple(self.one(item, field, op, (*parts, "value", i))
                     for i, item in enumerate(raw["value"]))

    def one(self, raw: Any, field: Field, op: str, parts: tuple) -> Any:
        try:
            return _coerce(raw, field, op)
        except _Bad as bad:
            self.problem(parts, bad.code, bad.reason)
            return None


_BUILDERS: dict[str, Callable[[_Parser, Mapping, tuple], Condition | None]] = {
    "field": _Parser.compare,
    "all": lambda p, raw, parts: AllOf(p.group(raw, parts, "all")),
    "any": lambda p, raw, parts: AnyOf(p.group(raw, parts, "any")),
    "not": lambda p, raw, parts: Not(p.condition(raw["not"], (*parts, "not"))),
}


# ---------------------------------------------------------------------- values

def _coerce(raw: Any, field: Field, op: str) -> Any:
    """A literal in its stored form, or a Token; raises _Bad with a reason."""
    token = _token(raw, field)
    if token is not None:
        return token
    if is_empty(raw):
        raise _Bad("COND011", f'"{op}" needs a value; to test for an empty field use '
                   '"empty" or "not_empty"')
    if op in ("contains", "starts_with") and field.type in TEXT_TYPES:
        return _substring(raw, field)
    return _COERCERS.get(field.type, _literal)(raw, field)


def _token(raw: Any, field: Field) -> Token | None:
    if isinstance(raw, dict) and set(raw) == {"days_from_today"}:
        return _days(raw["days_from_today"], field)
    if not isinstance(raw, str) or not raw.startswith("$"):
        return None
    if raw in _TOKEN_TYPES:
        if field.type not in _TOKEN_TYPES[raw]:
            fits = " or ".join(sorted(_TOKEN_TYPES[raw]))
            raise _Bad("COND012", f'"{raw}" fits only {fits} fields, and "{field.name}" '
                       f"is {field.type}")
        return Token(raw[1:])
    if field.type in TEXT_TYPES:
        return None              # "$5 off" is text, not a token
    raise _Bad("COND012", f'unknown token "{raw}"{did_you_mean(raw, _TOKEN_TYPES)}')


def _days(days: Any, field: Field) -> Token:
    if field.type not in _TOKEN_TYPES["$today"]:
        raise _Bad("COND012", f'"days_from_today" fits only date or datetime fields, and '
                   f'"{field.name}" is {field.type}')
    if not isinstance(days, int) or isinstance(days, bool) or abs(days) > MAX_DAYS:
        raise _Bad("COND012", f'"days_from_today" takes a whole number of days (at most '
                   f"{MAX_DAYS}), not {_show(days)}")
    return Token("today", days)


def _loose(field: Field) -> Field:
    """The field without bounds, lengths and pattern: those limit what is stored, not what
    may be asked about."""
    if TYPES[field.type].numeric and field.type != "integer":
        return replace(field, type="decimal", precision=28, scale=8, min=None, max=None)
    return replace(field, min=None, max=None, min_length=None, pattern=None)


def _literal(raw: Any, field: Field) -> Any:
    if isinstance(raw, dict | list):
        raise _Bad("COND007", f'{_show(raw)} is not a value for "{field.name}" '
                   f"({field.type})")
    try:
        return normalise(_loose(field), raw)
    except ValueError as error:
        reason = str(error)
    except ArithmeticError:
        reason = "This number is too large."
    raise _Bad("COND007", f'{_show(raw)} does not fit "{field.name}" ({field.type}): {reason}')


def _option(raw: Any, field: Field) -> str:
    if not isinstance(raw, str):
        raise _Bad("COND007", f'"{field.name}" takes an option key, not {_show(raw)}')
    if raw not in field.option_keys:
        raise _Bad("COND008", f'"{raw}" is not an option of "{field.name}"'
                   f"{did_you_mean(raw, field.option_keys)}; options: "
                   f"{', '.join(field.option_keys)}")
    return raw


def _record_id(raw: Any, field: Field) -> int:
    text = str(raw).strip() if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    if not text.isdecimal() or not 0 < int(text) <= MAX_ID:
        raise _Bad("COND007", f'{_show(raw)} does not fit "{field.name}" ({field.type}): '
                   "a record id is a whole number above 0")
    return int(text)


def _substring(raw: Any, field: Field) -> str:
    if not isinstance(raw, str):
        raise _Bad("COND007", f'"{field.name}" is searched with text, not {_show(raw)}')
    return raw


_COERCERS: dict[str, Callable[[Any, Field], Any]] = {
    "enum": _option,
    "multi_enum": _option,
    "link": _record_id,
    "user": _record_id,
    "links": _record_id,
}


def _resolve(value: Any, field: Field, ctx: Context) -> Any:
    """A literal as is; a token as of `ctx` (None when it names no one)."""
    if isinstance(value, tuple):
        return tuple(v for v in (_resolve(item, field, ctx) for item in value) if v is not None)
    if not isinstance(value, Token):
        return value
    return _TOKENS[value.name](value, field, ctx)


def _day(token: Token, field: Field, ctx: Context) -> dt.date:
    """Today (+ days); on a datetime field, midnight UTC of that day."""
    day = ctx.today + dt.timedelta(days=token.days)
    return day if field.type == "date" else dt.datetime.combine(day, dt.time(), dt.UTC)


_TOKENS: dict[str, Callable[[Token, Field, Context], Any]] = {
    "today": _day,
    "now": lambda token, field, ctx: ctx.now,
    "me": lambda token, field, ctx: ctx.user_id,
}


def fold(text: str) -> str:
    """Lower-case A-Z only: the case rule SQLite, PostgreSQL and Python all keep alike."""
    return text.translate(_ASCII_LOWER)


def fields_used(cond: Condition) -> frozenset[str]:
    """First-hop field names the condition reads (a form re-checks when one changes)."""
    if isinstance(cond, Compare):
        return frozenset({cond.ref.link or cond.ref.field.name})
    items = (cond.item,) if isinstance(cond, Not) else cond.items
    return frozenset().union(*(fields_used(item) for item in items))


# ---------------------------------------------------------------------- Python

def evaluate(cond: Condition, record: Mapping[str, Any], ctx: Context,
             fetch: Callable[[str, int], Mapping[str, Any] | None]) -> bool:
    """Whether `record` meets `cond`. Values are in their stored form (normalised; links as
    id lists, multi_enum as key lists, empty as None); `fetch(entity, id)` reads the linked
    record of a one-hop path."""
    return _EVALUATORS[type(cond)](cond, record, ctx, fetch)


def _evaluate_compare(cond: Compare, record: Mapping[str, Any], ctx: Context,
                      fetch: Callable) -> bool:
    actual = _read(cond.ref, record, fetch)
    if cond.op in EMPTY_OPS:
        return _empty(actual) == (cond.op == "empty")
    expected = _resolve(cond.value, cond.ref.field, ctx)
    if _empty(actual) or expected is None:
        return cond.op in ("!=", "not_in")
    return _PY_OPS[cond.op](actual, expected)


def _read(ref: Ref, record: Mapping[str, Any], fetch: Callable) -> Any:
    if ref.link is None:
        return record.get(ref.field.name)
    link_id = record.get(ref.link)
    target = fetch(ref.target, link_id) if link_id is not None else None
    return target.get(ref.field.name) if target is not None else None


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


def _py_contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return fold(expected) in fold(actual)
    return expected in actual


_EVALUATORS: dict[type, Callable[..., bool]] = {
    Compare: _evaluate_compare,
    AllOf: lambda cond, *args: all(evaluate(item, *args) for item in cond.items),
    AnyOf: lambda cond, *args: any(evaluate(item, *args) for item in cond.items),
    Not: lambda cond, *args: not evaluate(cond.item, *args),
}

_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, e: a == e,
    "!=": lambda a, e: a != e,
    ">": lambda a, e: a > e,
    ">=": lambda a, e: a >= e,
    "<": lambda a, e: a < e,
    "<=": lambda a, e: a <= e,
    "in": lambda a, e: a in e,
    "not_in": lambda a, e: a not in e,
    "contains": _py_contains,
    "starts_with": lambda a, e: fold(a).startswith(fold(e)),
}


# ---------------------------------------------------------------------- SQL

class ascii_lower(FunctionElement):
    """lower() for A-Z only (see `fold`): translate() in general, lower() on SQLite."""

    type = sa.Text()
    name = "ascii_lower"
    inherit_cache = True


@compiles(ascii_lower)
def _ascii_lower(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    return f"translate({arg}, '{string.ascii_uppercase}', '{string.ascii_lowercase}')"


@compiles(ascii_lower, "sqlite")
def _ascii_lower_sqlite(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


class includes(FunctionElement):
    """includes(haystack, needle): a case-sensitive substring test without LIKE's
    wildcards (SQLite's LIKE ignores ASCII case)."""

    type = sa.Boolean()
    name = "includes"
    inherit_cache = True


@compiles(includes)
def _includes(element, compiler, **kw):
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(position({needle} in {haystack}) > 0)"


@compiles(includes, "sqlite")
def _includes_sqlite(element, compiler, **kw):
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(instr({haystack}, {needle}) > 0)"


def to_sql(cond: Condition, tables: Mapping[str, sa.Table],
           ctx: Context) -> sa.ColumnElement[bool]:
    """A WHERE clause on the record's table that is true exactly when `evaluate` is;
    `tables` maps table names (entities, `<entity>__<field>` junctions) to Tables."""
    return _COMPILERS[type(cond)](cond, tables, ctx)


def _compare_sql(cond: Compare, tables: Mapping[str, sa.Table],
                 ctx: Context) -> sa.ColumnElement[bool]:
    field = cond.ref.field
    if field.type == "links":
        return _links_sql(cond, tables)
    column = _column(cond.ref, tables)
    if cond.op in EMPTY_OPS:
        empty = _empty_sql(column, field)
        return empty if cond.op == "empty" else sa.not_(empty)
    expected = _resolve(cond.value, field, ctx)
    if expected is None or expected == ():
        return sa.true() if cond.op in ("!=", "not_in") else sa.false()
    return _SQL_OPS[cond.op](column, expected, field)


_COMPILERS: dict[type, Callable[..., sa.ColumnElement[bool]]] = {
    Compare: _compare_sql,
    AllOf: lambda cond, *args: sa.and_(sa.true(), *(to_sql(i, *args) for i in cond.items)),
    AnyOf: lambda cond, *args: sa.or_(sa.false(), *(to_sql(i, *args) for i in cond.items)),
    Not: lambda cond, *args: sa.not_(to_sql(cond.item, *args)),
}


def _column(ref: Ref, tables: Mapping[str, sa.Table]) -> sa.ColumnElement:
    source = tables[ref.entity]
    if ref.link is None:
        return source.c[ref.field.name]
    target = tables[ref.target].alias()   # aliased: a link may point at its own entity
    return (sa.select(target.c[ref.field.name])
            .where(target.c.id == source.c[ref.link]).scalar_subquery())


def _links_sql(cond: Compare, tables: Mapping[str, sa.Table]) -> sa.ColumnElement[bool]:
    ref, source = cond.ref, tables[cond.ref.entity]
    owner = source.c.id if ref.link is None else source.c[ref.link]
    junction = tables[f"{ref.target or ref.entity}__{ref.field.name}"]
    rows = sa.select(1).select_from(junction).where(junction.c.source_id == owner)
    if cond.op == "contains":
        return sa.exists(rows.where(junction.c.target_id == cond.value))
    return ~sa.exists(rows) if cond.op == "empty" else sa.exists(rows)


def _empty_sql(column: sa.ColumnElement, field: Field) -> sa.ColumnElement[bool]:
    if field.type in TEXT_TYPES:
        return sa.or_(column.is_(None), column == "")
    if field.type in JSON_TYPES:
        return sa.or_(column.is_(None), sa.cast(column, sa.Text).in_(["[]", "null"]))
    return column.is_(None)


def _sql_contains(column: sa.ColumnElement, expected: Any,
                  field: Field) -> sa.ColumnElement[bool]:
    if field.type in JSON_TYPES:
        text = sa.cast(column, sa.Text)
        # SQLite's JSON keeps non-ASCII keys \u-escaped, PostgreSQL's does not.
        forms = dict.fromkeys((f'"{expected}"', json.dumps(expected)))
        return sa.and_(column.is_not(None), sa.or_(*(includes(text, f) for f in forms)))
    return sa.and_(column.is_not(None),
                   ascii_lower(column).contains(fold(expected), autoescape=True))


def _sql_starts_with(column: sa.ColumnElement, expected: Any,
                     field: Field) -> sa.ColumnElement[bool]:
    return sa.and_(column.is_not(None),
                   ascii_lower(column).startswith(fold(expected), autoescape=True))


def _present(compare: Callable[[sa.ColumnElement, Any], Any]) -> Callable:
    """A comparison that is false, never NULL, on an empty field."""
    return lambda column, expected, field: sa.and_(
        sa.not_(_empty_sql(column, field)), compare(column, expected))


def _absent_or(compare: Callable[[sa.ColumnElement, Any], Any]) -> Callable:
    """A comparison that is true, never NULL, on an empty field."""
    return lambda column, expected, field: sa.or_(_empty_sql(column, field),
                                                  compare(column, expected))


_SQL_OPS: dict[str, Callable[[sa.ColumnElement, Any, Field], sa.ColumnElement[bool]]] = {
    "=": _present(lambda c, e: c == e),
    "!=": _absent_or(lambda c, e: c != e),
    ">": _present(lambda c, e: c > e),
    ">=": _present(lambda c, e: c >= e),
    "<": _present(lambda c, e: c < e),
    "<=": _present(lambda c, e: c <= e),
    "in": _present(lambda c, e: c.in_(e)),
    "not_in": _absent_or(lambda c, e: c.not_in(e)),
    "contains": _sql_contains,
    "starts_with": _sql_starts_with,
}
