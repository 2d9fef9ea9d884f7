"""What the meaning checks share: the documents and Registry they read, and their wording.

Pack, entity, field and workflow checks all name unknown entities, fields and roles the
same way, and all judge literal values (field defaults, workflow actions) with `unfit`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from karte.fields import normalise
from karte.meta.model import Entity, Field, Pack
from karte.meta.raw import RawPack
from karte.problems import a_an, did_you_mean, show


@dataclass
class Ctx:
    """What the checks share: the raw documents, the Registry built from the valid ones."""

    raw: RawPack
    pack: Pack
    max_upload_mb: int | None = None   # the instance's KARTE_MAX_UPLOAD_MB, when checked for one

    @functools.cached_property
    def entity_names(self) -> list[str]:
        """Every entity a file defines, valid or not, so one broken file does not make
        each reference to it a second problem."""
        return list(self.raw.entities)

    @functools.cached_property
    def role_scopes(self) -> dict[str, Any] | None:
        """pack.json's "roles" ({} when absent), or None when it cannot be read."""
        data = self.raw.pack.data
        roles = data.get("roles", {}) if isinstance(data, dict) else None
        return roles if isinstance(roles, dict) else None

    @functools.cached_property
    def roles(self) -> list[str] | None:
        return None if self.role_scopes is None else ["admin", *self.role_scopes]

    def field_names(self, entity: str) -> list[str]:
        """Declared fields, and stage fields of every workflow file naming the entity."""
        built = self.pack.entities.get(entity)
        names = list(built.fields) if built else []
        for doc in self.raw.workflows.values():
            data = doc.data if isinstance(doc.data, dict) else {}
            if data.get("entity") == entity and isinstance(data.get("field"), str):
                names.append(data["field"])
        return names

    def unknown_field(self, entity: Entity, name: Any, allowed: Iterable[str] = ()) -> str:
        """Why `name` is not a field of `entity`: removed by an overlay, or misspelt."""
        if name in entity.removed:
            return f'field "{name}" is removed by this client pack'
        candidates = [*self.field_names(entity.name), *allowed]
        return f'{entity.name} has no field "{name}"{did_you_mean(str(name), candidates)}'

    def unknown_entity(self, name: Any) -> str:
        return f'no entity "{name}"{did_you_mean(name, self.entity_names)}'

    def unknown_role(self, role: str, roles: list[str]) -> str:
        return (f'unknown role "{role}"{did_you_mean(role, roles)}; roles are declared in '
                "pack.json")


def entries(data: Any, *keys: str) -> list[tuple[int, Any]]:
    """(index, item) of the list at data[keys...], or [] when absent."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return list(enumerate(data)) if isinstance(data, list) else []


def repeats(items: list[tuple[int, Any]]) -> list[int]:
    """Indexes of the names that repeat an earlier one."""
    seen: set[str] = set()
    found = []
    for index, item in items:
        if isinstance(item, str) and item in seen:
            found.append(index)
        seen.add(item if isinstance(item, str) else "")
    return found


def reserved(name: str) -> str | None:
    """Why `name` belongs to the engine (SPEC §2), or None."""
    if name.startswith(("karte", "_")):
        return f'"{name}" is reserved: names starting with "karte" or "_" belong to the engine'
    return None


def misnamed(name: Any, defined: str) -> str | None:
    """Why a file's "name" is wrong: it must be the file stem (SPEC §1), or None."""
    if name == defined:
        return None
    return (f'"name" is "{name}" but the file defines "{defined}"; name the file '
            f'{name}.json or change "name"')


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
        return None if tokens[value](field) else f'"{value}" does not fit {a_an(field.type)} field'
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
        return f"{show(value)} does not fit this {field.type} field: {reason}{hint}"
    return None
