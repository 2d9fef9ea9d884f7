"""JSON Schema checks of one definition file, reworded for a consultant (SPEC §6.1).

jsonschema reports errors in its own terms ("Additional properties are not allowed ...");
each error kind here has a small function that says the same thing plainly, with a
did-you-mean where a name looks misspelt, and the number that becomes the problem code
(DEF010–DEF016 for pack and entity files, WF010–WF016 for workflow files, DSH010–DSH016
for dashboard files).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match, relevance
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from karte.meta.raw import Doc
from karte.problems import Problem, at, did_you_mean, pointer, show

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SCHEMA_FILES = {"pack": "pack.schema.json", "entity": "entity.schema.json",
                "workflow": "workflow.schema.json", "dashboard": "dashboard.schema.json"}
PREFIXES = {"workflow": "WF", "dashboard": "DSH"}     # pack and entity files: DEF

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


def schema_problems(doc: Doc) -> list[Problem]:
    """The problems a person should see: the best match of every error tree, reworded."""
    prefix = PREFIXES.get(doc.kind, "DEF")
    try:
        errors = sorted(validators()[doc.kind].iter_errors(doc.data), key=_position)
    except RecursionError:
        return [at(doc.file, "", "the file is nested too deeply to check", f"{prefix}016")]
    problems = [at(doc.file, where, message, f"{prefix}0{code}")
                for error in errors
                for where, message, code in _describe(best_match([error], key=relevance))]
    return list(dict.fromkeys(problems))


def _position(error: ValidationError) -> tuple[tuple[tuple[int, int | str, str], ...], str]:
    """Errors in a stable order (jsonschema walks sets): by location, then message, so
    `karte check` prints the same report on every run."""
    path = tuple((0, part, "") if isinstance(part, int) else (1, 0, str(part))
                 for part in error.absolute_path)
    return path, error.message


def _got(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float) and not value.is_integer():
        return show(value)
    if isinstance(value, int | float):
        return "a number"
    names: dict[type[Any], str] = {str: "a string", list: "a list", dict: "an object"}
    return names.get(type(value), "a value")


@dataclass(frozen=True)
class _Failure:
    """What the describers read of a ValidationError, typed as it is for every error that
    `iter_errors` yields (jsonschema's types also allow errors built by hand, unset)."""

    validator: str
    validator_value: Any
    instance: Any
    schema: Mapping[str, Any]          # Karte's schemas use no `true` / `false` schemas
    absolute_path: Sequence[str | int]
    absolute_schema_path: Sequence[str | int]
    message: str

    @classmethod
    def of(cls, error: ValidationError) -> _Failure:
        return cls(error.validator if isinstance(error.validator, str) else "",
                   error.validator_value, error.instance,
                   error.schema if isinstance(error.schema, Mapping) else {},
                   error.absolute_path, error.absolute_schema_path, error.message)


def _key_of(error: _Failure) -> str:
    keys = [part for part in error.absolute_path if isinstance(part, str)]
    return keys[-1] if keys else "value"


def _unknown_keys(error: _Failure, where: str) -> Described:
    known = list(error.schema.get("properties", {}))
    for key in error.instance:
        if key not in known:
            yield (f"{where}{pointer(key)}", f'unknown key "{key}"{did_you_mean(key, known)}',
                   10)


def _type(error: _Failure, where: str) -> Described:
    expected = error.validator_value
    if isinstance(expected, list) and "errorMessage" in error.schema:
        yield where, f"{error.schema['errorMessage']}, got {_got(error.instance)}", 11
        return
    names = " or ".join(TYPE_NAMES[t] for t in
                        (expected if isinstance(expected, list) else [expected]))
    yield where, f"expected {names}, got {_got(error.instance)}", 11


TYPE_SYNONYMS = {
    # Field-type words consultants bring from Frappe, EspoCRM, Salesforce and SQL.
    "float": "decimal", "double": "decimal", "number": "decimal", "numeric": "decimal",
    "int": "integer", "bigint": "integer", "currency": "money", "bool": "boolean",
    "checkbox": "boolean", "check": "boolean", "varchar": "string", "char": "string",
    "data": "string", "str": "string", "textarea": "text", "longtext": "text",
    "timestamp": "datetime", "select": "enum", "picklist": "enum", "multiselect": "multi_enum",
    "multi_select": "multi_enum", "multienum": "multi_enum", "lookup": "link",
    "reference": "link", "foreign_key": "link", "many2one": "link", "many2many": "links",
    "table_multiselect": "links", "attachment": "file", "attach": "file", "image": "file",
}


def _enum(error: _Failure, where: str) -> Described:
    allowed = error.validator_value
    value = error.instance
    if isinstance(value, str):
        synonym = TYPE_SYNONYMS.get(value.lower()) if _key_of(error) == "type" else None
        hint = (f' (Karte calls it "{synonym}")' if synonym in allowed else
                did_you_mean(value, [a for a in allowed if isinstance(a, str)]))
        message = f'unknown {_key_of(error)} "{value}"{hint}'
    else:
        hint = ""
        message = f"{show(value)} is not allowed here"
    if not hint:
        message += "; use one of: " + ", ".join(show(a) for a in allowed)
    yield where, message, 12


def _missing(error: _Failure, where: str) -> Described:
    for key in error.validator_value:
        if isinstance(error.instance, dict) and key not in error.instance:
            yield where, f'missing key "{key}"', 13


def _dependent(error: _Failure, where: str) -> Described:
    for key, needs in error.validator_value.items():
        for need in needs:
            if key in error.instance and need not in error.instance:
                yield where, f'missing key "{need}" (needed with "{key}")', 13


def _malformed(error: _Failure, where: str) -> Described:
    reason = error.schema.get("errorMessage")
    if reason is None:
        reason = ("too long: at most {} characters" if error.validator == "maxLength"
                  else "does not match {}").format(error.validator_value)
    yield where, f"{show(error.instance)} is not valid: {reason}", 14


def _bounds(error: _Failure, where: str) -> Described:
    limit = error.validator_value
    text = {"minimum": f"must be at least {limit}", "maximum": f"must be at most {limit}",
            "exclusiveMinimum": f"must be above {limit}",
            "minItems": "must not be empty" if limit == 1 else f"needs at least {limit} items",
            "minProperties": "must not be empty",
            "minLength": "must not be empty" if limit == 1
            else f"too short: at least {limit} characters",
            "maxLength": f"too long: at most {limit} characters"}[error.validator]
    yield where, text, 15


def _repeated(error: _Failure, where: str) -> Described:
    items = error.instance if isinstance(error.instance, list) else []
    twice = next((item for n, item in enumerate(items) if item in items[:n]), None)
    yield where, f"{show(twice)} is listed twice; list each once", 16


def _shape(error: _Failure, where: str) -> Described:
    yield where, error.schema.get("errorMessage") or error.message, 16


DESCRIBE: dict[str, Callable[[_Failure, str], Described]] = {
    "additionalProperties": _unknown_keys, "type": _type, "enum": _enum,
    "required": _missing, "dependentRequired": _dependent, "pattern": _malformed,
    "minimum": _bounds, "maximum": _bounds, "minItems": _bounds, "minProperties": _bounds,
    "minLength": _bounds, "maxLength": _bounds, "exclusiveMinimum": _bounds,
    "uniqueItems": _repeated,
}


def _describe(raw: ValidationError) -> list[tuple[str, str, int]]:
    """One error worded for a consultant (several problems for several unknown keys)."""
    error = _Failure.of(raw)
    where = pointer(*error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        return [(f"{where}{pointer(error.instance)}",
                 f"{show(error.instance)} is not a valid key: "
                 f"{error.schema.get('errorMessage', 'malformed')}", 14)]
    if error.validator == "maxLength" and "pattern" in error.schema:
        return list(_malformed(error, where))
    return list(DESCRIBE.get(error.validator, _shape)(error, where))
