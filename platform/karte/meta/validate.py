"""Definition checks: JSON Schema per file, then meaning (SPEC §2, §6.1).

Every problem has a stable code (DEF0xx: pack.json and entity files, WF0xx: workflow
files; CODES says what each means), a `file: /json/pointer` location and, where a name
looks misspelt, a did-you-mean. The checks are small functions in tables run over every
entity, field and workflow, so one run reports every problem, never just the first.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match, relevance
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from karte.fields import TYPES, normalise
from karte.meta.load import Doc, RawPack
from karte.meta.model import SYSTEM_FIELDS, Entity, Field, Pack, Workflow
from karte.meta.problems import Problem, at, did_you_mean, pointer

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
SCHEMA_FILES = {"pack": "pack.schema.json", "entity": "entity.schema.json",
                "workflow": "workflow.schema.json"}

CODES = {
    "DEF000": "the pack folder does not exist",
    "DEF001": "a file is not valid JSON (with line and column)",
    "DEF002": "a file cannot be read or is not UTF-8",
    "DEF003": "the base pack named by pack.json \"extends\" does not exist",
    "DEF004": "packs extend each other in a cycle",
    "DEF005": "\"extends\": true names no entity of a base pack",
    "DEF006": "\"remove\" names a field the base entity does not have",
    "DEF010": "unknown key (schema)",
    "DEF011": "wrong JSON type (schema)",
    "DEF012": "value is not one of the allowed ones, e.g. an unknown field type (schema)",
    "DEF013": "a required key is missing (schema)",
    "DEF014": "malformed name or text, e.g. a name with capitals (schema)",
    "DEF015": "number, length or size out of range (schema)",
    "DEF016": "object of the wrong shape, e.g. a condition or action (schema)",
    "DEF020": "a field uses a system column's name",
    "DEF021": "a name reserved for the engine (karte…, _…, or an engine URL)",
    "DEF022": "\"name\" differs from the file stem",
    "DEF023": "a link or links field without \"to\"",
    "DEF024": "\"to\" names no entity",
    "DEF025": "a key that does not apply to the field's type",
    "DEF026": "an enum or multi_enum field without options",
    "DEF027": "an option key used twice",
    "DEF028": "a default that does not fit the field",
    "DEF029": "a formula field without \"formula\"",
    "DEF030": "title_field names no field",
    "DEF031": "list columns, sort, filters or search name no field",
    "DEF032": "a field of a type that cannot be used there (sort, search, duplicates, "
              "timeline)",
    "DEF033": "a card section names no field",
    "DEF034": "a name listed twice",
    "DEF035": "card.related is not \"<entity>.<link field>\" pointing at this entity",
    "DEF036": "a duplicates rule names no field",
    "DEF037": "timeline_item names no field",
    "DEF038": "permissions name a role pack.json does not declare",
    "DEF039": "renamed_from clashes with a current field",
    "DEF040": "two tables would have the same name, or a name too long for the database",
    "DEF041": "inconsistent limits (min above max, scale above precision, bad bound)",
    "DEF042": "pattern is not a valid regular expression",
    "DEF043": "a role in pack.json names no entity",
    "WF010": "unknown key (schema)",
    "WF011": "wrong JSON type (schema)",
    "WF012": "value is not one of the allowed ones (schema)",
    "WF013": "a required key is missing (schema)",
    "WF014": "malformed name or text (schema)",
    "WF015": "number, length or size out of range (schema)",
    "WF016": "object of the wrong shape, e.g. an action (schema)",
    "WF020": "\"name\" differs from the file stem",
    "WF021": "\"entity\" names no entity",
    "WF022": "\"field\" is declared on the entity with a type other than enum",
    "WF023": "two workflows own the same field of one entity",
    "WF024": "a stage key used twice",
    "WF025": "\"initial\" names no stage",
    "WF026": "a transition names no stage",
    "WF027": "a transition names a role pack.json does not declare",
    "WF028": "\"requires\" names no field of the entity",
    "WF029": "a stage can never be reached from the initial stage",
    "WF030": "no final stage",
    "WF031": "on_enter names no stage",
    "WF032": "\"set\" names no field, or one that only moves or formulas change",
    "WF033": "an action value that does not fit its field",
    "WF034": "\"create\" names no entity",
    "WF035": "\"create\" values name no field, or miss a required one",
    "WF036": "\"$record\" used for something other than a link to the moved entity",
    "WF037": "the workflow's field uses a reserved name",
    "WF038": "a declared stage field's options are not the stage keys",
}

# ---------------------------------------------------------------------- JSON Schema

Described = Iterator[tuple[str, str, int]]     # (pointer, message, code number)
TYPE_NAMES = {"string": "a string", "object": "an object", "array": "a list",
              "integer": "a whole number", "number": "a number", "boolean": "true or false",
              "null": "null"}


@functools.cache
def validators() -> dict[str, Draft202012Validator]:
    """One validator per document kind; the schema files refer to each other."""
    schemas = {name: json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
               for name in SCHEMA_FILES.values()}
    registry = Registry().with_resources(
        (name, DRAFT202012.create_resource(schema)) for name, schema in schemas.items())
    return {kind: Draft202012Validator(schemas[name], registry=registry)
            for kind, name in SCHEMA_FILES.items()}


def check_schemas(raw: RawPack) -> list[Problem]:
    """Each file against its JSON Schema, then each merged overlay document."""
    files = {id(doc) for doc in raw.files}
    docs = [*raw.files, *(doc for doc in raw.documents() if id(doc) not in files)]
    return [problem for doc in docs if doc.kind for problem in schema_problems(doc)]


def schema_problems(doc: Doc) -> list[Problem]:
    """The problems a person should see: the best match of every error tree, reworded."""
    prefix = "WF" if doc.kind == "workflow" else "DEF"
    try:
        errors = list(validators()[doc.kind].iter_errors(doc.data))
    except RecursionError:
        return [at(doc.file, "", "the file is nested too deeply to check", f"{prefix}016")]
    problems = [at(doc.file, where, message, f"{prefix}0{code}")
                for error in errors
                for where, message, code in _describe(best_match([error], key=relevance))]
    return list(dict.fromkeys(problems))


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _got(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float) and not value.is_integer():
        return _show(value)
    if isinstance(value, int | float):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object"}.get(type(value), "a value")


def _key_of(error: ValidationError) -> str:
    keys = [part for part in error.absolute_path if isinstance(part, str)]
    return keys[-1] if keys else "value"


def _unknown_keys(error: ValidationError, where: str) -> Described:
    known = list(error.schema.get("properties", {}))
    for key in error.instance:
        if key not in known:
            yield (f"{where}{pointer(key)}", f'unknown key "{key}"{did_you_mean(key, known)}',
                   10)


def _type(error: ValidationError, where: str) -> Described:
    expected = error.validator_value
    if isinstance(expected, list) and "errorMessage" in error.schema:
        yield where, f"{error.schema['errorMessage']}, got {_got(error.instance)}", 11
        return
    names = " or ".join(TYPE_NAMES[t] for t in
                        (expected if isinstance(expected, list) else [expected]))
    yield where, f"expected {names}, got {_got(error.instance)}", 11


def _enum(error: ValidationError, where: str) -> Described:
    allowed = error.validator_value
    value = error.instance
    if isinstance(value, str):
        hint = did_you_mean(value, [a for a in allowed if isinstance(a, str)])
        message = f'unknown {_key_of(error)} "{value}"{hint}'
    else:
        hint = ""
        message = f"{_show(value)} is not allowed here"
    if not hint:
        message += "; use one of: " + ", ".join(_show(a) for a in allowed)
    yield where, message, 12


def _missing(error: ValidationError, where: str) -> Described:
    for key in error.validator_value:
        if isinstance(error.instance, dict) and key not in error.instance:
            yield where, f'missing key "{key}"', 13


def _dependent(error: ValidationError, where: str) -> Described:
    for key, needs in error.validator_value.items():
        for need in needs:
            if key in error.instance and need not in error.instance:
                yield where, f'missing key "{need}" (needed with "{key}")', 13


def _malformed(error: ValidationError, where: str) -> Described:
    reason = error.schema.get("errorMessage")
    if reason is None:
        reason = ("too long: at most {} characters" if error.validator == "maxLength"
                  else "does not match {}").format(error.validator_value)
    yield where, f"{_show(error.instance)} is not valid: {reason}", 14


def _bounds(error: ValidationError, where: str) -> Described:
    limit = error.validator_value
    text = {"minimum": f"must be at least {limit}", "maximum": f"must be at most {limit}",
            "minItems": "must not be empty" if limit == 1 else f"needs at least {limit} items",
            "minProperties": "must not be empty",
            "minLength": "must not be empty" if limit == 1
            else f"too short: at least {limit} characters",
            "maxLength": f"too long: at most {limit} characters"}[error.validator]
    yield where, text, 15


def _shape(error: ValidationError, where: str) -> Described:
    yield where, error.schema.get("errorMessage") or error.message, 16


DESCRIBE: dict[str, Callable[[ValidationError, str], Described]] = {
    "additionalProperties": _unknown_keys, "type": _type, "enum": _enum,
    "required": _missing, "dependentRequired": _dependent, "pattern": _malformed,
    "minimum": _bounds, "maximum": _bounds, "minItems": _bounds, "minProperties": _bounds,
    "minLength": _bounds, "maxLength": _bounds,
}


def _describe(error: ValidationError) -> list[tuple[str, str, int]]:
    """One error worded for a consultant (several problems for several unknown keys)."""
    where = pointer(*error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        return [(f"{where}{pointer(error.instance)}",
                 f"{_show(error.instance)} is not a valid key: "
                 f"{error.schema.get('errorMessage', 'malformed')}", 14)]
    if error.validator == "maxLength" and "pattern" in error.schema:
        return list(_malformed(error, where))
    return list(DESCRIBE.get(error.validator, _shape)(error, where))


# ---------------------------------------------------------------------- meaning: helpers

ENGINE_NAMES = ("api", "board", "schema", "login", "logout", "static")   # SPEC §11 URLs
NUMBERS = ("integer", "decimal", "money", "percent")
SCALAR = tuple(name for name, kind in TYPES.items() if kind.scalar)
APPLIES: dict[str, tuple[str, ...]] = {
    "unique": SCALAR, "index": SCALAR,
    "default": tuple(t for t in SCALAR if t != "formula"),
    "max_length": ("string", "text"), "min_length": ("string",), "pattern": ("string",),
    "min": (*NUMBERS, "date"), "max": (*NUMBERS, "date"),
    "precision": ("decimal",), "scale": ("decimal",), "currency": ("money",),
    "options": ("enum", "multi_enum"), "to": ("link", "links"), "on_delete": ("link",),
    "formula": ("formula",),
}
SEARCHABLE = ("string", "text", "email", "phone", "url")
COLUMN_SYSTEM = ("id", "created_at", "updated_at", "created_by", "updated_by")
SORT_SYSTEM = ("id", "created_at", "updated_at")
FILTER_SYSTEM = ("created_at", "updated_at", "created_by", "updated_by")
MAX_TABLE_NAME = 63     # PostgreSQL truncates longer identifiers


@dataclass
class Ctx:
    """What the checks share: the raw documents, the Registry built from the valid ones."""

    raw: RawPack
    pack: Pack

    @functools.cached_property
    def entity_names(self) -> list[str]:
        """Every entity a file defines, valid or not, so one broken file does not make
        each reference to it a second problem."""
        return list(self.raw.entities)

    @functools.cached_property
    def roles(self) -> list[str] | None:
        roles = self.raw.pack.data.get("roles", {}) if isinstance(self.raw.pack.data,
                                                                   dict) else None
        return ["admin", *roles] if isinstance(roles, dict) else None

    def field_names(self, entity: str) -> list[str]:
        """Declared fields, and stage fields of every workflow file naming the entity."""
        built = self.pack.entities.get(entity)
        names = list(built.fields) if built else []
        for doc in self.raw.workflows.values():
            data = doc.data if isinstance(doc.data, dict) else {}
            if data.get("entity") == entity and isinstance(data.get("field"), str):
                names.append(data["field"])
        return names


def _unknown_field(ctx: Ctx, entity: Entity, name: Any, allowed: Iterable[str] = ()) -> str:
    if name in entity.removed:
        return f'field "{name}" is removed by this client pack'
    candidates = [*ctx.field_names(entity.name), *allowed]
    return f'{entity.name} has no field "{name}"{did_you_mean(str(name), candidates)}'


def _entries(data: Any, *keys: str) -> list[tuple[int, Any]]:
    """(index, item) of the list at data[keys...], or [] when absent."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return list(enumerate(data)) if isinstance(data, list) else []


def _twice(items: list[tuple[int, Any]]) -> list[int]:
    """Indexes of the names that repeat an earlier one."""
    seen: set[str] = set()
    repeats = []
    for index, item in items:
        if isinstance(item, str) and item in seen:
            repeats.append(index)
        seen.add(item if isinstance(item, str) else "")
    return repeats


def _reserved(name: str) -> str | None:
    if name.startswith(("karte", "_")):
        return f'"{name}" is reserved: names starting with "karte" or "_" belong to the engine'
    return None


# -- values: defaults and workflow actions -------------------------------------------------

LITERAL_DOLLARS = ("string", "text", "email", "phone", "url", "enum")  # "$5 off" is text
Tokens = Mapping[str, Callable[[Field], bool]]
DEFAULT_TOKENS: Tokens = {"$today": lambda f: f.type == "date",
                          "$now": lambda f: f.type == "datetime",
                          "$me": lambda f: f.type == "user"}


def unfit(field: Field, value: Any, tokens: Tokens, country: str | None,
          days: bool = False) -> str | None:
    """Why `value` (a literal or a token) cannot be stored in `field`; None when it can.

    `days`: whether `{"days_from_today": n}` is allowed (workflow actions)."""
    if isinstance(value, str) and value.startswith("$") and (
            value in tokens or field.type not in LITERAL_DOLLARS):
        if value not in tokens:
            return (f'unknown token "{value}"{did_you_mean(value, tokens)}; tokens here: '
                    + ", ".join(tokens))
        return None if tokens[value](field) else f'"{value}" does not fit a {field.type} field'
    if days and isinstance(value, dict) and "days_from_today" in value:
        number = value["days_from_today"]
        if (set(value) != {"days_from_today"} or isinstance(number, bool)
                or not isinstance(number, int) or field.type not in ("date", "datetime")):
            return ('{"days_from_today": n} takes a whole number n and fits date and '
                    "datetime fields")
        return None
    try:
        normalise(field, value, country)
    except (ValueError, ArithmeticError, TypeError) as error:
        reason = str(error).rstrip(".")
        hint = did_you_mean(value, field.option_keys) if isinstance(value, str) else ""
        return f"{_show(value)} does not fit this {field.type} field: {reason}{hint}"
    return None


# ---------------------------------------------------------------------- meaning: fields

@dataclass(frozen=True)
class FieldSite:
    """One declared field being checked, and where its problems are reported."""

    ctx: Ctx
    entity: Entity
    name: str
    raw: dict
    field: Field
    file: str

    def at(self, code: str, message: str, *parts: Any) -> Problem:
        return at(self.file, pointer("fields", self.name, *parts), message, code)


def _field_name(site: FieldSite) -> Iterator[Problem]:
    if site.name in SYSTEM_FIELDS:
        yield site.at("DEF020", f'"{site.name}" is a system column the engine adds to every '
                      f"entity ({', '.join(SYSTEM_FIELDS)}); choose another name")
    elif reason := _reserved(site.name):
        yield site.at("DEF021", reason)


def _link_target(site: FieldSite) -> Iterator[Problem]:
    if site.field.type not in ("link", "links"):
        return
    if "to" not in site.raw:
        yield site.at("DEF023", f'a {site.field.type} field needs "to": the entity it points '
                      "at")
    elif site.raw["to"] not in site.ctx.entity_names:
        yield site.at("DEF024", f'"to" names no entity: "{site.raw["to"]}"'
                      f"{did_you_mean(site.raw['to'], site.ctx.entity_names)}", "to")


def _keys_apply(site: FieldSite) -> Iterator[Problem]:
    for key in site.raw:
        types = APPLIES.get(key)
        if types is None or site.field.type in types:
            continue
        hint = (" (people are linked with the user type, which needs no \"to\")"
                if key == "to" and site.field.type == "user"
                else f"; it applies to {', '.join(types)}")
        yield site.at("DEF025", f'"{key}" does not apply to a {site.field.type} field{hint}',
                      key)


def _options(site: FieldSite) -> Iterator[Problem]:
    if site.field.type not in ("enum", "multi_enum"):
        return
    if not site.raw.get("options") and not site.field.workflow:
        yield site.at("DEF026", f'an {site.field.type} field needs "options", e.g. '
                      '["a", "b"]')
    keys = [(i, o if isinstance(o, str) else o.get("key"))
            for i, o in _entries(site.raw, "options")]
    for index in _twice(keys):
        yield site.at("DEF027", f'option "{keys[index][1]}" is listed twice', "options", index)


def _default(site: FieldSite) -> Iterator[Problem]:
    if "default" not in site.raw or site.field.type not in APPLIES["default"]:
        return
    reason = unfit(site.field, site.raw["default"], DEFAULT_TOKENS, site.ctx.pack.country)
    if reason:
        yield site.at("DEF028", f"default: {reason}", "default")


def _formula(site: FieldSite) -> Iterator[Problem]:
    if site.field.type == "formula" and "formula" not in site.raw:
        yield site.at("DEF029", 'a formula field needs "formula", e.g. "price * quantity"')


def _bound(site: FieldSite, key: str) -> Any:
    """The bound in the field's own terms; raises ValueError when it does not fit."""
    value = site.raw[key]
    if site.field.type in NUMBERS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} of a {site.field.type} field is a number")
        return value
    if not isinstance(value, str):
        raise ValueError(f'{key} of a date field is written as text, e.g. "2024-01-31"')
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f'{key} "{value}" is not an ISO date, e.g. "2024-01-31"') from None


def _limits(site: FieldSite) -> Iterator[Problem]:
    bounds = {}
    for key in ("min", "max"):
        if key in site.raw and site.field.type in APPLIES[key]:
            try:
                bounds[key] = _bound(site, key)
            except ValueError as error:
                yield site.at("DEF041", str(error), key)
    pairs = (("min", "max", bounds), ("min_length", "max_length", site.raw),
             ("scale", "precision", site.raw))
    for low, high, values in pairs:
        try:
            wrong = low in values and high in values and values[low] > values[high]
        except TypeError:
            wrong = False
        if wrong:
            yield site.at("DEF041", f"{low} ({site.raw[low]}) is above {high} "
                          f"({site.raw[high]})", low)


def _pattern(site: FieldSite) -> Iterator[Problem]:
    if isinstance(site.raw.get("pattern"), str):
        try:
            re.compile(site.raw["pattern"])
        except (re.error, RecursionError, OverflowError) as error:
            yield site.at("DEF042", f"not a valid regular expression: {error}", "pattern")


def _renamed(site: FieldSite) -> Iterator[Problem]:
    old = site.raw.get("renamed_from")
    if old is None:
        return
    if old in site.entity.fields:
        yield site.at("DEF039", f'renamed_from "{old}" is a current field; a rename needs '
                      "the old name gone", "renamed_from")
    names = list(site.entity.fields)
    earlier = [n for n in names[:names.index(site.name)]
               if site.entity.fields[n].renamed_from == old]
    if earlier:
        yield site.at("DEF039", f'"{earlier[0]}" is renamed from "{old}" too', "renamed_from")


FIELD_CHECKS: tuple[Callable[[FieldSite], Iterator[Problem]], ...] = (
    _field_name, _link_target, _keys_apply, _options, _default, _formula, _limits,
    _pattern, _renamed)


# ---------------------------------------------------------------------- meaning: entities

def _fields(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    for name, raw in doc.data.get("fields", {}).items():
        if name in entity.fields:
            site = FieldSite(ctx, entity, name, raw, entity.fields[name], doc.file)
            for check in FIELD_CHECKS:
                yield from check(site)


def _entity_name(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    name = doc.data.get("name")
    if name != entity.name:
        yield at(doc.file, "/name", f'"name" is "{name}" but the file defines '
                 f'"{entity.name}"; name the file {name}.json or change "name"', "DEF022")
    if reason := _reserved(entity.name):
        yield at(doc.file, "/name", reason, "DEF021")
    elif entity.name in ENGINE_NAMES:
        yield at(doc.file, "/name", f'"{entity.name}" is reserved: /{entity.name} is one of '
                 "the engine's own pages", "DEF021")


def _title(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    title = doc.data.get("title_field")
    if title is not None and title not in ctx.field_names(entity.name):
        yield at(doc.file, "/title_field", _unknown_field(ctx, entity, title), "DEF030")


def _list_part(ctx: Ctx, entity: Entity, doc: Doc, key: str, system: tuple[str, ...],
               fits: Callable[[Field], bool], why: str) -> Iterator[Problem]:
    items = _entries(doc.data, "list", key)
    if key == "sort" and isinstance(doc.data.get("list", {}).get("sort"), str):
        items = [(None, doc.data["list"]["sort"].lstrip("-"))]
    for index, name in items:
        where = pointer("list", key, *([] if index is None else [index]))
        field = entity.fields.get(name)
        if name in system:
            continue
        if name not in ctx.field_names(entity.name):
            yield at(doc.file, where, _unknown_field(ctx, entity, name, system), "DEF031")
        elif field is not None and not fits(field):
            yield at(doc.file, where, f'"{name}" is a {field.type} field; {why}', "DEF032")
    for index in _twice(items) if key != "sort" else ():
        yield at(doc.file, pointer("list", key, index), f'"{items[index][1]}" is listed twice',
                 "DEF034")


def _list(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    parts = (("columns", COLUMN_SYSTEM, lambda f: True, ""),
             ("sort", SORT_SYSTEM, lambda f: TYPES[f.type].orderable,
              "lists cannot be sorted by it"),
             ("filters", FILTER_SYSTEM, lambda f: True, ""),
             ("search", (), lambda f: f.type in SEARCHABLE,
              f"the search box searches {', '.join(SEARCHABLE)} fields"))
    for key, system, fits, why in parts:
        yield from _list_part(ctx, entity, doc, key, system, fits, why)


def _card(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    placed: set[str] = set()
    for section, raw in _entries(doc.data, "card", "sections"):
        for index, name in _entries(raw, "fields"):
            where = pointer("card", "sections", section, "fields", index)
            if name not in ctx.field_names(entity.name):
                yield at(doc.file, where, _unknown_field(ctx, entity, name), "DEF033")
            elif name in placed:
                yield at(doc.file, where, f'"{name}" is already placed on the card', "DEF034")
            placed.add(name)
    for index, ref in _entries(doc.data, "card", "related"):
        if reason := _related_problem(ctx, entity, ref):
            yield at(doc.file, pointer("card", "related", index), reason, "DEF035")


def _related_problem(ctx: Ctx, entity: Entity, ref: str) -> str | None:
    source, _, name = ref.partition(".")
    if source not in ctx.entity_names:
        return f'no entity "{source}"{did_you_mean(source, ctx.entity_names)}'
    other = ctx.pack.entities.get(source)
    if other is None:
        return None
    field = other.fields.get(name)
    links_here = [f"{source}.{f.name}" for f in other.links() if f.to == entity.name]
    if field is None:
        return (f'{source} has no field "{name}"'
                f"{did_you_mean(ref, links_here) or did_you_mean(name, other.fields)}")
    if field.type != "link" or field.to != entity.name:
        target = f" to {field.to}" if field.to else ""
        return (f'"{ref}" is a {field.type} field{target}; a related list needs a link field '
                f"to {entity.name}" + (f" ({', '.join(links_here)})" if links_here else ""))
    return None


def _duplicates(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    for rule, raw in _entries(doc.data, "duplicates"):
        names = _entries(raw, "fields")
        for index, name in names:
            where = pointer("duplicates", rule, "fields", index)
            field = entity.fields.get(name)
            if name not in ctx.field_names(entity.name):
                yield at(doc.file, where, _unknown_field(ctx, entity, name), "DEF036")
            elif field is not None and not TYPES[field.type].scalar:
                yield at(doc.file, where, f'"{name}" is a {field.type} field; duplicate rules '
                         "compare single values", "DEF032")
        for index in _twice(names):
            yield at(doc.file, pointer("duplicates", rule, "fields", index),
                     f'"{names[index][1]}" is listed twice', "DEF034")


def _timeline(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    item = doc.data.get("timeline_item")
    if not isinstance(item, dict):
        return
    for key in ("at", "summary"):
        name = item.get(key)
        field = entity.lookup(name)
        if field is None and name not in ctx.field_names(entity.name):
            yield at(doc.file, pointer("timeline_item", key),
                     _unknown_field(ctx, entity, name), "DEF037")
        elif key == "at" and field is not None and field.type not in ("date", "datetime"):
            yield at(doc.file, "/timeline_item/at", f'"{name}" is a {field.type} field; '
                     "timeline_item.at is a date or datetime field", "DEF032")


def _permissions(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    if ctx.roles is None:
        return
    for role in doc.data.get("permissions", {}):
        if role not in ctx.roles:
            yield at(doc.file, pointer("permissions", role), f'unknown role "{role}"'
                     f"{did_you_mean(role, ctx.roles)}; roles are declared in pack.json",
                     "DEF038")


ENTITY_CHECKS: tuple[Callable[[Ctx, Entity, Doc], Iterator[Problem]], ...] = (
    _entity_name, _fields, _title, _list, _card, _duplicates, _timeline, _permissions)


# ---------------------------------------------------------------------- meaning: pack

def _tables(ctx: Ctx) -> Iterator[Problem]:
    """Entity tables and `<entity>__<field>` junction tables must all differ."""
    owners = {name: f'entity "{name}"' for name in ctx.pack.entities}
    for entity in ctx.pack.entities.values():
        for field in entity.fields.values():
            if field.type != "links":
                continue
            table = f"{entity.name}__{field.name}"
            where = (entity.source, pointer("fields", field.name))
            if table in owners:
                yield at(*where, f'the junction table "{table}" of this links field has the '
                         f"same name as the table of {owners[table]}", "DEF040")
            elif len(table) > MAX_TABLE_NAME:
                yield at(*where, f'the junction table "{table}" is longer than '
                         f"{MAX_TABLE_NAME} characters; shorten the entity or field name",
                         "DEF040")
            owners.setdefault(table, f"{entity.name}.{field.name}")


def _role_scopes(ctx: Ctx) -> Iterator[Problem]:
    roles = ctx.raw.pack.data.get("roles") if isinstance(ctx.raw.pack.data, dict) else None
    for role, scopes in (roles.items() if isinstance(roles, dict) else ()):
        for name in scopes if isinstance(scopes, dict) else ():
            if name != "*" and name not in ctx.entity_names:
                yield at(ctx.raw.pack.file, pointer("roles", role, name),
                         f'no entity "{name}"{did_you_mean(name, ctx.entity_names)}; use an '
                         'entity name, or "*" for every entity', "DEF043")


def _owned_twice(ctx: Ctx) -> Iterator[Problem]:
    owners: dict[tuple[str, str], Workflow] = {}
    for workflow in ctx.pack.workflows.values():
        first = owners.setdefault((workflow.entity, workflow.field), workflow)
        if first is not workflow:
            yield at(workflow.source, "/field", f'{workflow.entity}.{workflow.field} is '
                     f'already the stage field of workflow "{first.name}" ({first.source}); '
                     "give each workflow its own field", "WF023")


PACK_CHECKS: tuple[Callable[[Ctx], Iterator[Problem]], ...] = (
    _tables, _role_scopes, _owned_twice)


# ---------------------------------------------------------------------- meaning: workflows

@dataclass(frozen=True)
class Flow:
    """One workflow being checked, with its entity when that was built."""

    ctx: Ctx
    workflow: Workflow
    doc: Doc
    entity: Entity | None

    def at(self, code: str, message: str, *parts: Any) -> Problem:
        return at(self.doc.file, pointer(*parts), message, code)

    @property
    def keys(self) -> list[str]:
        return list(self.workflow.stage_keys)


def _wf_name(flow: Flow) -> Iterator[Problem]:
    name = flow.doc.data.get("name")
    if name != flow.workflow.name:
        yield flow.at("WF020", f'"name" is "{name}" but the file defines '
                      f'"{flow.workflow.name}"; name the file {name}.json or change "name"',
                      "name")


def _wf_entity(flow: Flow) -> Iterator[Problem]:
    names = flow.ctx.entity_names
    if flow.workflow.entity not in names:
        yield flow.at("WF021", f'no entity "{flow.workflow.entity}"'
                      f"{did_you_mean(flow.workflow.entity, names)}", "entity")


def _wf_field(flow: Flow) -> Iterator[Problem]:
    name = flow.workflow.field
    if name in SYSTEM_FIELDS or _reserved(name):
        yield flow.at("WF037", f'"{name}" is reserved for the engine; name the stage field '
                      'e.g. "stage" or "status"', "field")
        return
    entity_doc = flow.ctx.raw.entities.get(flow.workflow.entity)
    declared = flow.entity.fields.get(name) if flow.entity else None
    if declared is not None and declared.declared and declared.type != "enum":
        yield flow.at("WF022", f'{flow.workflow.entity}.{name} is declared as a '
                      f"{declared.type} field in {entity_doc.file}; a stage field is an "
                      "enum (or leave it undeclared: the engine declares it)", "field")
    elif declared is not None and declared.declared and declared.options:
        options, keys = set(declared.option_keys), set(flow.keys)
        if options != keys:
            yield flow.at("WF038", f"{flow.workflow.entity}.{name} declares options "
                          f"{', '.join(sorted(options))} but the stages are "
                          f"{', '.join(flow.keys)}; drop its options or make them the "
                          "stage keys", "field")


def _wf_stages(flow: Flow) -> Iterator[Problem]:
    indexed = [(i, s.key) for i, s in enumerate(flow.workflow.stages)]
    for index in _twice(indexed):
        yield flow.at("WF024", f'stage "{indexed[index][1]}" is listed twice', "stages",
                      index, "key")
    if "initial" in flow.doc.data and flow.workflow.initial not in flow.keys:
        yield flow.at("WF025", f'no stage "{flow.workflow.initial}"'
                      f"{did_you_mean(flow.workflow.initial, flow.keys)}", "initial")
    if not any(stage.final for stage in flow.workflow.stages):
        yield flow.at("WF030", 'no stage is final; mark the outcomes, e.g. "final": "won"',
                      "stages")


def _wf_transitions(flow: Flow) -> Iterator[Problem]:
    roles = flow.ctx.roles
    for index, move in enumerate(flow.workflow.transitions):
        for key, stage in (("from", move.source), ("to", move.target)):
            if stage != "*" and stage not in flow.keys:
                yield flow.at("WF026", f'no stage "{stage}"{did_you_mean(stage, flow.keys)}',
                              "transitions", index, key)
        for at_role, role in enumerate(move.roles):
            if roles is not None and role not in roles:
                yield flow.at("WF027", f'unknown role "{role}"{did_you_mean(role, roles)}; '
                              "roles are declared in pack.json", "transitions", index,
                              "roles", at_role)


def _wf_requires(flow: Flow) -> Iterator[Problem]:
    if flow.entity is None:
        return
    for index, stage in enumerate(flow.workflow.stages):
        for at_name, name in enumerate(stage.requires):
            if name not in flow.ctx.field_names(flow.entity.name):
                yield flow.at("WF028", _unknown_field(flow.ctx, flow.entity, name), "stages",
                              index, "requires", at_name)


def next_stages(workflow: Workflow, index: int) -> set[int]:
    """Stages (by index) a record in stage `index` may move to (SPEC §4 move policy)."""
    stages = workflow.stages
    targets: set[int] = set()
    if not stages[index].final or workflow.reopen:
        last = len(stages) if workflow.skip else min(index + 2, len(stages))
        targets.update(range(index + 1, last))
        if workflow.back:
            targets.update(range(index))
    keys = workflow.stage_keys
    for move in workflow.transitions:
        if move.source in ("*", stages[index].key) and move.target in keys:
            targets.add(keys.index(move.target))
    return targets


def _wf_reachable(flow: Flow) -> Iterator[Problem]:
    workflow = flow.workflow
    if workflow.initial not in flow.keys:
        return
    reached, todo = set(), [flow.keys.index(workflow.initial)]
    while todo:
        index = todo.pop()
        if index not in reached:
            reached.add(index)
            todo.extend(next_stages(workflow, index))
    policy = f"skip {json.dumps(workflow.skip)}, back {json.dumps(workflow.back)}, " \
             f"reopen {json.dumps(workflow.reopen)}"
    for index, stage in enumerate(workflow.stages):
        if index not in reached and stage.key not in flow.keys[:index]:
            yield flow.at("WF029", f'stage "{stage.key}" can never be reached from '
                          f'"{workflow.initial}" (moves: {policy}); add a transition to it '
                          "or allow more moves", "stages", index)


def _action_tokens(entity: str) -> Tokens:
    return {"$today": lambda f: f.type in ("date", "datetime"),
            "$now": lambda f: f.type == "datetime",
            "$me": lambda f: f.type == "user", "$owner": lambda f: f.type == "user",
            "$record": lambda f: f.type == "link" and f.to == entity}


def _value(flow: Flow, field: Field, value: Any, where: tuple) -> Iterator[Problem]:
    reason = unfit(field, value, _action_tokens(flow.workflow.entity),
                   flow.ctx.pack.country, days=True)
    if reason and value == "$record":
        yield flow.at("WF036", f'"$record" is the moved {flow.workflow.entity}: it fits a '
                      f"link field to {flow.workflow.entity}, and this is a {field.type} "
                      f"field{' to ' + field.to if field.to else ''}", *where)
    elif reason:
        yield flow.at("WF033", reason, *where)


def _settable(field: Field) -> str | None:
    if field.workflow:
        return f'"{field.name}" is the stage field of workflow "{field.workflow}": it ' \
               "changes only through moves"
    if field.type == "formula":
        return f'"{field.name}" is a formula: it is computed on save'
    return None


def _set(flow: Flow, values: Mapping[str, Any], where: tuple) -> Iterator[Problem]:
    if flow.entity is None:
        return
    for name, value in values.items():
        field = flow.entity.fields.get(name)
        reason = (_settable(field) if field is not None
                  else None if name in flow.ctx.field_names(flow.entity.name)
                  else _unknown_field(flow.ctx, flow.entity, name))
        if reason:
            yield flow.at("WF032", reason, *where, "set", name)
        elif field is not None:
            yield from _value(flow, field, value, (*where, "set", name))


def _create(flow: Flow, entity: str | None, values: Mapping[str, Any],
            where: tuple) -> Iterator[Problem]:
    names = flow.ctx.entity_names
    if entity not in names:
        yield flow.at("WF034", f'no entity "{entity}"{did_you_mean(str(entity), names)}',
                      *where, "create")
    target = flow.ctx.pack.entities.get(entity or "")
    if target is None:
        return
    for name, value in values.items():
        field = target.fields.get(name)
        reason = (_settable(field) if field is not None
                  else None if name in flow.ctx.field_names(target.name)
                  else _unknown_field(flow.ctx, target, name))
        if reason:
            yield flow.at("WF035", reason, *where, "values", name)
        elif field is not None:
            yield from _value(flow, field, value, (*where, "values", name))
    missing = [n for n, f in target.fields.items() if f.required and f.default is None
               and not f.workflow and f.type != "formula" and n not in values]
    if missing:
        yield flow.at("WF035", f"creating a {target.name} needs "
                      f"{', '.join(missing)} (required, without a default)", *where, "values")


def _wf_on_enter(flow: Flow) -> Iterator[Problem]:
    for stage, actions in flow.workflow.on_enter.items():
        if stage not in flow.keys:
            yield flow.at("WF031", f'no stage "{stage}"{did_you_mean(stage, flow.keys)}',
                          "on_enter", stage)
        for index, action in enumerate(actions):
            where = ("on_enter", stage, index)
            if action.kind == "set":
                yield from _set(flow, action.values, where)
            else:
                yield from _create(flow, action.entity, action.values, where)


WORKFLOW_CHECKS: tuple[Callable[[Flow], Iterator[Problem]], ...] = (
    _wf_name, _wf_entity, _wf_field, _wf_stages, _wf_transitions, _wf_requires,
    _wf_reachable, _wf_on_enter)


def check_meaning(raw: RawPack, pack: Pack) -> list[Problem]:
    """Every semantic problem (SPEC §2, §6.1) of the documents `pack` was built from."""
    ctx = Ctx(raw, pack)
    problems = [problem for check in PACK_CHECKS for problem in check(ctx)]
    for name, entity in pack.entities.items():
        doc = raw.entities[name]
        problems += [problem for check in ENTITY_CHECKS for problem in check(ctx, entity, doc)]
    for name, workflow in pack.workflows.items():
        flow = Flow(ctx, workflow, raw.workflows[name], pack.entities.get(workflow.entity))
        problems += [problem for check in WORKFLOW_CHECKS for problem in check(flow)]
    return problems
