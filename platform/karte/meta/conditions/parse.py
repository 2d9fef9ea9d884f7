"""The condition language of SPEC §5: parse and type-check once, then run as SQL or Python.

A condition is data (`{"field": "amount", "op": ">=", "value": 100000}`, `{"all": [...]}`,
`{"any": [...]}`, `{"not": {...}}`), never code. `parse` checks it against the Registry and
reports every problem with its file and JSON pointer; the result compiles to a SQL
expression (`karte.store.where.to_sql`, for lists, filters and boards) and to a Python
predicate (`evaluate`, for forms and moves). Both MUST give the same answer for every
record, so the rules are:

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

This module parses and type-checks; `model` holds the checked nodes and
`Context`, `evaluate` runs them in Python, `sql` compiles them to SQL.
Import from here: every public name of the language is re-exported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from karte.fields import EMPTY_OPS, TYPES, Unfit, is_empty, normalise, record_id
from karte.meta.conditions.evaluate import evaluate
from karte.meta.conditions.model import (
    OPERATORS,
    TEXT_TYPES,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Context,
    Not,
    Ref,
    Token,
    fields_used,
    fold,
)
from karte.meta.model import SYSTEM_FIELDS, Entity, Field
from karte.problems import Detailed, Problem, a_an, at, did_you_mean, pointer, show

__all__ = ["OPERATORS", "AllOf", "AnyOf", "Compare", "Condition", "Context", "Not", "Ref",
           "Token", "evaluate", "fields_used", "fold", "parse", "reference"]

Parts = tuple[str | int, ...]     # a JSON pointer's parts, below the condition's own
LIST_OPS = frozenset({"in", "not_in"})
MAX_DAYS = 100_000
MAX_DEPTH = 32              # levels of all / any / not
RECORD_ID = "A record id is a whole number above 0."
_SHAPES = {"field": ("field", "op", "value"), "all": ("all",), "any": ("any",),
           "not": ("not",)}
_TOKEN_TYPES = {"$today": frozenset({"date", "datetime"}), "$now": frozenset({"datetime"}),
                "$me": frozenset({"user"})}


class _Bad(Exception):
    """A value that does not fit; carries the problem code, the reason and the facts a
    page in another language says it from (`Detailed.details`): `field`, `value`, and
    `reason` (an English sentence or template, with `reason_values`), `choices` or
    `types` as the code has them."""

    def __init__(self, code: str, message: str, /, **details: Any):
        super().__init__(message)
        self.code, self.reason, self.details = code, message, details


# ---------------------------------------------------------------------- parsing

def parse(raw: Any, entity: Entity, entities: Mapping[str, Entity], file: str,
          pointer: str) -> tuple[Condition | None, list[Problem]]:
    """The checked condition, or None with every problem found (never raises)."""
    parser = _Parser(entity, entities, file, pointer)
    condition = parser.condition(raw, ())
    return (None if parser.problems else condition), parser.problems


def reference(path: Any, entity: Entity, entities: Mapping[str, Entity], file: str,
              pointer: str) -> tuple[Ref | None, list[Problem]]:
    """The field `path` reads ("amount", "customer.segment"), resolved as a condition's
    `field` is, for the other places that name a field that way (a chart's group_by)."""
    parser = _Parser(entity, entities, file, pointer)
    return parser.ref(path, ()), parser.problems


def _field_names(entity: Entity) -> list[str]:
    return [*entity.fields, *SYSTEM_FIELDS]


class _Parser:
    """Walks one raw condition, collecting problems instead of stopping at the first."""

    def __init__(self, entity: Entity, entities: Mapping[str, Entity], file: str, base: str):
        self.entity, self.entities, self.file, self.base = entity, entities, file, base
        self.problems: list[Problem] = []

    def problem(self, parts: Parts, code: str, message: str,
                details: Mapping[str, Any] | None = None) -> None:
        found = at(self.file, self.base + pointer(*parts), message, code)
        self.problems.append(Detailed(found.where, message, code, details) if details
                             else found)

    def condition(self, raw: Any, parts: Parts) -> Condition | None:
        if sum(isinstance(part, str) for part in parts) > MAX_DEPTH:
            self.problem(parts, "COND015", f"conditions nest too deeply (at most "
                         f"{MAX_DEPTH} levels of all / any / not)")
            return None
        if not isinstance(raw, dict):
            self.problem(parts, "COND001", 'a condition is an object: {"field", "op", '
                         '"value"}, {"all": [...]}, {"any": [...]} or {"not": {...}}; '
                         f"got {show(raw)}")
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

    def group(self, raw: Mapping[str, Any], parts: Parts, key: str) -> tuple[Condition, ...]:
        """The conditions that parsed: any that did not left a problem, and a condition
        with problems is never returned by `parse`."""
        items = raw[key]
        if not isinstance(items, list):
            self.problem((*parts, key), "COND013", f'"{key}" takes a list of conditions')
            return ()
        found = (self.condition(item, (*parts, key, i)) for i, item in enumerate(items))
        return tuple(condition for condition in found if condition is not None)

    def negation(self, raw: Mapping[str, Any], parts: Parts) -> Not | None:
        inner = self.condition(raw["not"], (*parts, "not"))
        return None if inner is None else Not(inner)

    def compare(self, raw: Mapping[str, Any], parts: Parts) -> Compare | None:
        if "field" not in raw:
            self.problem(parts, "COND001", 'a comparison needs "field"')
        ref = self.ref(raw["field"], (*parts, "field")) if "field" in raw else None
        op = self.operator(raw, ref, parts)
        if ref is None or op is None:
            return None
        return Compare(ref, op, self.value(raw, ref.field, op, parts))

    def ref(self, path: Any, parts: Parts) -> Ref | None:
        if not isinstance(path, str):
            self.problem(parts, "COND001", f"\"field\" is a field name, not {show(path)}")
            return None
        hops = path.split(".")
        if len(hops) > 2:
            self.problem(parts, "COND003", f'"{path}" follows more than one link; a '
                         'condition may follow one ("customer.segment")')
            return None
        first = self.known(self.entity, hops[0], parts)
        if first is None:
            return None
        if len(hops) == 1:
            return Ref(self.entity.table_name, path, first)
        return self.hop(first, hops[1], path, parts)

    def known(self, entity: Entity, name: str, parts: Parts) -> Field | None:
        found = entity.lookup(name)
        if found is None:
            self.problem(parts, "COND002", f'"{entity.name}" has no field "{name}"'
                         f"{did_you_mean(name, _field_names(entity))}")
        return found

    def hop(self, link: Field, name: str, path: str, parts: Parts) -> Ref | None:
        if link.type != "link":
            self.problem(parts, "COND004", f'"{link.name}" is {a_an(link.type)} field; only a '
                         "link field can be followed")
            return None
        target = self.entities.get(link.to or "")
        if target is None:
            self.problem(parts, "COND014", f'link "{link.name}" points to "{link.to}", '
                         "which is not an entity of this pack")
            return None
        field = self.known(target, name, parts)
        if field is None:
            return None
        return Ref(self.entity.table_name, path, field, link.name, target.name)

    def operator(self, raw: Mapping[str, Any], ref: Ref | None, parts: Parts) -> str | None:
        if "op" not in raw:
            self.problem(parts, "COND001", 'a comparison needs "op" (one of '
                         f"{', '.join(OPERATORS)})")
            return None
        op = raw["op"]
        if not isinstance(op, str) or op not in OPERATORS:
            self.problem((*parts, "op"), "COND005", f"unknown operator {show(op)}"
                         f"{did_you_mean(str(op), OPERATORS)}; use one of "
                         f"{', '.join(OPERATORS)}")
            return None
        kind = TYPES.get(ref.field.as_value().type) if ref else None
        if ref is not None and (kind is None or op not in kind.ops):
            fits = [o for o in OPERATORS if kind and o in kind.ops]
            self.problem((*parts, "op"), "COND006", f'operator "{op}" does not fit "'
                         f'{ref.path}" ({ref.field.type}); operators that fit: '
                         f"{', '.join(fits) or 'none'}")
            return None
        return op

    def value(self, raw: Mapping[str, Any], field: Field, op: str, parts: Parts) -> Any:
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
                         f"not {show(raw['value'])}")
            return None
        return tuple(self.one(item, field, op, (*parts, "value", i))
                     for i, item in enumerate(raw["value"]))

    def one(self, raw: Any, field: Field, op: str, parts: Parts) -> Any:
        try:
            return _coerce(raw, field, op)
        except _Bad as bad:
            self.problem(parts, bad.code, bad.reason, bad.details)
            return None


_BUILDERS: dict[str, Callable[[_Parser, Mapping[str, Any], Parts], Condition | None]] = {
    "field": _Parser.compare,
    "all": lambda p, raw, parts: AllOf(p.group(raw, parts, "all")),
    "any": lambda p, raw, parts: AnyOf(p.group(raw, parts, "any")),
    "not": _Parser.negation,
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
    return _COERCERS.get(field.type, _literal)(raw, field.as_value())


def _token(raw: Any, field: Field) -> Token | None:
    if isinstance(raw, dict) and set(raw) == {"days_from_today"}:
        return _days(raw["days_from_today"], field)
    if not isinstance(raw, str) or not raw.startswith("$"):
        return None
    if raw in _TOKEN_TYPES:
        if field.type not in _TOKEN_TYPES[raw]:
            fits = " or ".join(sorted(_TOKEN_TYPES[raw]))
            raise _Bad("COND012", f'"{raw}" fits only {fits} fields, and "{field.name}" '
                       f"is {field.type}", field=field.name, value=raw,
                       types=tuple(sorted(_TOKEN_TYPES[raw])))
        return Token(raw[1:])
    if field.type in TEXT_TYPES:
        return None              # "$5 off" is text, not a token
    raise _Bad("COND012", f'unknown token "{raw}"{did_you_mean(raw, _TOKEN_TYPES)}',
               field=field.name, value=raw, choices=tuple(_TOKEN_TYPES))


def _days(days: Any, field: Field) -> Token:
    if field.type not in _TOKEN_TYPES["$today"]:
        raise _Bad("COND012", f'"days_from_today" fits only date or datetime fields, and '
                   f'"{field.name}" is {field.type}')
    if not isinstance(days, int) or isinstance(days, bool) or abs(days) > MAX_DAYS:
        raise _Bad("COND012", f'"days_from_today" takes a whole number of days (at most '
                   f"{MAX_DAYS}), not {show(days)}")
    return Token("today", days)


def _loose(field: Field) -> Field:
    """The field without bounds, lengths and pattern: those limit what is stored, not what
    may be asked about."""
    if TYPES[field.type].numeric and field.type != "integer":
        return replace(field, type="decimal", precision=28, scale=8, min=None, max=None)
    return replace(field, min=None, max=None, min_length=None, pattern=None)


def _literal(raw: Any, field: Field) -> Any:
    if isinstance(raw, dict | list):
        raise _Bad("COND007", f'{show(raw)} is not a value for "{field.name}" '
                   f"({field.type})")
    values: dict[str, Any] = {}
    try:
        return normalise(_loose(field), raw)
    except Unfit as error:
        reason, template, values = str(error), error.template, error.values
    except ValueError as error:
        reason = template = str(error)
    except ArithmeticError:
        reason = template = "This number is too large."
    raise _Bad("COND007", f'{show(raw)} does not fit "{field.name}" ({field.type}): {reason}',
               field=field.name, value=raw, reason=template, reason_values=values)


def _option(raw: Any, field: Field) -> str:
    if not isinstance(raw, str):
        raise _Bad("COND007", f'"{field.name}" takes an option key, not {show(raw)}')
    if raw not in field.option_keys:
        raise _Bad("COND008", f'"{raw}" is not an option of "{field.name}"'
                   f"{did_you_mean(raw, field.option_keys)}; options: "
                   f"{', '.join(field.option_keys)}", field=field.name, value=raw,
                   choices=field.option_keys)
    return raw


def _record_id(raw: Any, field: Field) -> int:
    number = record_id(raw)
    if number is None:
        raise _Bad("COND007", f'{show(raw)} does not fit "{field.name}" ({field.type}): '
                   "a record id is a whole number above 0", field=field.name, value=raw,
                   reason=RECORD_ID, reason_values={})
    return number


def _substring(raw: Any, field: Field) -> str:
    if not isinstance(raw, str):
        raise _Bad("COND007", f'"{field.name}" is searched with text, not {show(raw)}')
    return raw


_COERCERS: dict[str, Callable[[Any, Field], Any]] = {
    "enum": _option,
    "multi_enum": _option,
    "link": _record_id,
    "user": _record_id,
    "links": _record_id,
}
