"""The Registry: frozen metadata objects built once from a validated pack.

Everything downstream (tables, validation, conditions, workflows, pages) reads these
objects; nothing re-reads JSON. Mappings are read-only views so a Registry can be shared
freely between threads and requests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from karte.problems import a_an

K = TypeVar("K")
V = TypeVar("V")

SYSTEM_FIELDS = ("id", "version", "created_at", "updated_at", "created_by", "updated_by",
                 "deleted_at")
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
NAME_MAX = 40


def frozen_map(data: Mapping[K, V] | None = None) -> Mapping[K, V]:
    """A read-only mapping (insertion order kept)."""
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Text:
    """Text people read: one string, or one string per locale."""

    values: Mapping[str, str]
    key: str = ""

    @classmethod
    def of(cls, raw: Any, key: str = "") -> Text:
        if isinstance(raw, Text):
            return raw
        if raw is None:
            return cls(frozen_map(), key)
        if isinstance(raw, str):
            return cls(frozen_map({"": raw}), key)
        return cls(frozen_map(raw), key)

    def get(self, locale: str | None = None, pack_locale: str | None = None) -> str:
        """The user's locale, then the pack's, then English, then any, then the key."""
        for candidate in (locale, pack_locale, "en", ""):
            if candidate is not None and candidate in self.values:
                return self.values[candidate]
        if self.values:
            return next(iter(self.values.values()))
        return self.key

    def __str__(self) -> str:
        return self.get()


def humanise(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


@dataclass(frozen=True)
class Option:
    key: str
    label: Text
    color: str | None = None


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: Text
    help: Text | None = None
    required: bool = False
    unique: bool = False
    default: Any = None
    index: bool = False
    read_only: bool = False
    max_length: int | None = None
    min_length: int | None = None
    pattern: str | None = None
    series: Any = None           # karte.meta.series.Series once built
    min: Any = None
    max: Any = None
    precision: int | None = None
    scale: int | None = None
    currency: str | None = None
    options: tuple[Option, ...] = ()
    to: str | None = None
    of: str | None = None        # lines: the part entity (SPEC §3.5)
    on_delete: str = "restrict"
    formula: Any = None          # karte.meta.formulas.Formula once built
    result: str | None = None    # a formula's value type (None: decimal)
    rollup: Any = None           # karte.meta.rollups.Rollup once built (raw keys before)
    fetch: str | None = None     # "<link field>.<field>": copied when the link is set (§3.6)
    visible_if: Any = None       # karte.meta.conditions.Condition once built
    required_if: Any = None
    read_only_if: Any = None
    renamed_from: str | None = None
    workflow: str | None = None  # name of the workflow owning this (stage) field
    declared: bool = True        # False when the engine added the field (workflow stage)
    retired: Mapping[str, str] = field(default_factory=frozen_map)  # old option → current
    renamed_values: Mapping[str, str] = field(default_factory=frozen_map)  # stage renames
    multiple: bool = False       # file: several files, an upload adds (else it replaces)
    accept: tuple[str, ...] | None = None   # file: MIME types or "type/*"; None: any
    max_mb: float | None = None  # file: size limit in MiB (the instance's limit caps it)

    @property
    def option_keys(self) -> tuple[str, ...]:
        return tuple(option.key for option in self.options)

    @property
    def derived(self) -> bool:
        """A formula or a rollup: computed by the engine, never input."""
        return self.type in ("formula", "rollup")

    def as_value(self) -> Field:
        """A formula or rollup as a plain field of its `result` type (decimal: NUMERIC(18,
        4)), which is how its value is stored and converted; any other field as it is."""
        if not self.derived:
            return self
        return replace(self, type=self.result or "decimal", precision=18, scale=4,
                       formula=None, rollup=None)

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)

    @property
    def to_entity(self) -> str:
        """The entity a link or links field points to (`to`, which their schema requires)."""
        if self.to is None:
            raise TypeError(f'"{self.name}" is {a_an(self.type)} field; it points to no entity')
        return self.to


SYSTEM_FIELD_DEFS: Mapping[str, Field] = frozen_map({
    name: Field(name, kind, Text.of(label), read_only=True)
    for name, kind, label in (
        ("id", "integer", {"en": "ID", "ja": "ID"}),
        ("version", "integer", {"en": "Version", "ja": "バージョン"}),
        ("created_at", "datetime", {"en": "Created", "ja": "作成日時"}),
        ("updated_at", "datetime", {"en": "Updated", "ja": "更新日時"}),
        ("created_by", "user", {"en": "Created by", "ja": "作成者"}),
        ("updated_by", "user", {"en": "Updated by", "ja": "更新者"}),
        ("deleted_at", "datetime", {"en": "Deleted", "ja": "削除日時"}),
    )
})


@dataclass(frozen=True)
class ListConfig:
    columns: tuple[str, ...]
    sort: str
    filters: tuple[str, ...]
    search: tuple[str, ...]
    page_size: int = 50

    @property
    def sort_field(self) -> str:
        return self.sort.lstrip("-")

    @property
    def sort_descending(self) -> bool:
        return self.sort.startswith("-")


@dataclass(frozen=True)
class Section:
    label: Text
    fields: tuple[str, ...]


@dataclass(frozen=True)
class CardConfig:
    sections: tuple[Section, ...]
    related: tuple[str, ...]  # "<entity>.<link field>"


@dataclass(frozen=True)
class TimelineItem:
    at: str
    summary: str
    done: str | None = None     # a boolean field: the items are to-dos (SPEC §3.3)


@dataclass(frozen=True)
class ListView:
    """A declared list view (SPEC §3.7 `views`)."""

    name: str
    label: Text
    where: Any = None                # Condition, or None for every record
    columns: tuple[str, ...] = ()    # empty: the list's columns
    sort: str | None = None          # None: the list's sort


@dataclass(frozen=True)
class NavGroup:
    """One group of the menu (SPEC §1 `nav`): entity names, board:<wf>, dashboard:<name>."""

    label: Text
    items: tuple[str, ...]


@dataclass(frozen=True)
class Permission:
    """One role's rights on one entity; None means "not said here" (fall back)."""

    read: str | bool | None = None      # "all" | "own" | False
    create: bool | None = None
    update: str | bool | None = None
    delete: str | bool | None = None
    hidden: tuple[str, ...] | None = None     # fields the role never sees
    read_only: tuple[str, ...] | None = None  # fields the role sees but may not change

    def fill(self, fallback: Permission) -> Permission:
        """Keys not said here taken from `fallback`."""
        said = {key: value for key, value in vars(self).items() if value is not None}
        return dataclasses.replace(fallback, **said)


ALL_RIGHTS = Permission("all", True, "all", "all", (), ())
NO_RIGHTS = Permission(False, False, False, False, (), ())


@dataclass(frozen=True)
class Entity:
    name: str
    label: Text
    plural: Text
    title_field: str
    fields: Mapping[str, Field]
    list: ListConfig
    card: CardConfig
    duplicates: tuple[tuple[str, ...], ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()  # combinations unique among live records
    permissions: Mapping[str, Permission] = field(default_factory=frozen_map)
    timeline_item: TimelineItem | None = None
    subtitle: tuple[str, ...] = ()   # fields shown under the title among others
    views: tuple[ListView, ...] = ()
    actions: tuple[Any, ...] = ()    # karte.meta.record_actions.RecordAction, once built
    removed: tuple[str, ...] = ()    # base fields hidden by an overlay (data kept)
    source: str = ""                 # pack-relative file the definition came from
    part_of: str | None = None       # the parent entity of a part (SPEC §3.5)

    @property
    def table_name(self) -> str:
        return self.name

    def field(self, name: str) -> Field:
        return self.fields[name]

    def lookup(self, name: str) -> Field | None:
        """A declared field or a system column (`id`, `created_at`, ...), else None."""
        return self.fields.get(name) or SYSTEM_FIELD_DEFS.get(name)

    def links(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields.values() if f.type == "link")

    def file_fields(self) -> tuple[Field, ...]:
        """The `file` fields: each holds references to stored files (SPEC §13)."""
        return tuple(f for f in self.fields.values() if f.type == "file")

    def lines_fields(self) -> tuple[Field, ...]:
        """The `lines` fields: each holds this record's lines, records of a part."""
        return tuple(f for f in self.fields.values() if f.type == "lines")

    @property
    def unique_keys(self) -> tuple[tuple[str, ...], ...]:
        """Every unique key: each `unique` field alone, then the declared combinations."""
        return (*((f.name,) for f in self.fields.values() if f.unique), *self.unique)

    @property
    def owner_field(self) -> str | None:
        """`owner` when it is a user field: the "own" permission scope reads it."""
        owner = self.fields.get("owner")
        return "owner" if owner is not None and owner.type == "user" else None


@dataclass(frozen=True)
class Rule:
    when: Any              # Condition
    message: Text


@dataclass(frozen=True)
class Stage:
    key: str
    label: Text
    max_days: int | None = None
    final: str | None = None         # "won" | "lost" | other outcome name
    requires: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    color: str | None = None
    renamed_from: str | None = None


@dataclass(frozen=True)
class Transition:
    source: str                      # stage key or "*"
    target: str
    roles: tuple[str, ...] = ()
    when: Any = None                 # Condition


@dataclass(frozen=True)
class Action:
    kind: str                        # "set" | "create"
    values: Mapping[str, Any]
    entity: str | None = None        # for "create"


@dataclass(frozen=True)
class Workflow:
    name: str
    entity: str
    field: str
    label: Text
    stages: tuple[Stage, ...]
    initial: str
    skip: bool = True
    back: bool = True
    reopen: bool = False
    transitions: tuple[Transition, ...] = ()
    # `dataclasses.field`: the attribute `field` above shadows the import for type checkers
    on_enter: Mapping[str, tuple[Action, ...]] = dataclasses.field(default_factory=frozen_map)
    source: str = ""
    retired: Mapping[str, str] = dataclasses.field(default_factory=frozen_map)  # old → current
    board_fields: tuple[str, ...] | None = None   # what a board card shows; None: default

    def stage(self, key: str) -> Stage:
        return next(s for s in self.stages if s.key == key)

    @property
    def stage_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stages)


@dataclass(frozen=True)
class Pack:
    """The Registry: a validated pack, with the packs it extends merged in."""

    name: str
    label: Text
    root: Path
    entities: Mapping[str, Entity]
    workflows: Mapping[str, Workflow]
    roles: Mapping[str, Mapping[str, Permission]] = field(default_factory=frozen_map)
    locale: str = "en"
    country: str | None = None      # `country`, else its timezone's: reads phone numbers
    currency: str = "USD"
    timezone: str = "UTC"
    template_dirs: tuple[Path, ...] = ()
    nav: tuple[NavGroup, ...] | None = None   # the menu's groups; None: every entity
    # name → karte.meta.dashboards.Dashboard, in file order (SPEC §12)
    dashboards: Mapping[str, Any] = field(default_factory=frozen_map)
    # The merged definitions as read (pack.json, entities, workflows): what the schema
    # history records and compares, so a definition-only change leaves a trace.
    definitions: Mapping[str, Any] = field(default_factory=frozen_map, compare=False)

    def entity(self, name: str) -> Entity:
        return self.entities[name]

    def workflows_of(self, entity: str) -> tuple[Workflow, ...]:
        return tuple(w for w in self.workflows.values() if w.entity == entity)

    def permission(self, role: str, entity: str) -> Permission:
        """SPEC §3.4: the entity file's entry, then the pack's entry for the entity, then
        the role's "*", then false; `admin` may do everything."""
        if role == "admin":
            return ALL_RIGHTS
        scopes = self.roles.get(role, {})
        chain = (self.entities[entity].permissions.get(role) if entity in self.entities
                 else None, scopes.get(entity), scopes.get("*"))
        result = NO_RIGHTS
        for permission in reversed([p for p in chain if p is not None]):
            result = permission.fill(result)
        return result

    @property
    def role_names(self) -> tuple[str, ...]:
        return ("admin", *(r for r in self.roles if r != "admin"))
