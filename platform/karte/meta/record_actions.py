"""Record actions (SPEC §3.7): buttons on a card that run declared steps in one transaction.

An entity's `actions` become frozen `RecordAction`s on `Entity.actions`; their `when` is
parsed like any condition, so a broken one is reported with its file and pointer. Their
meaning (fields, tokens, stages, roles) is checked in `karte.meta.validate.actions`, and
they are run by `karte.workflow.record_actions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from karte.meta import conditions
from karte.meta.model import Entity, Text, frozen_map, humanise
from karte.problems import Problem, pointer

OPEN_RECORD, OPEN_CREATED = "record", "created"


@dataclass(frozen=True)
class LinesCopy:
    """Lines of a created record made from this record's lines, one per line."""

    source: str                      # the lines field of this record (`from`)
    target: str                      # the lines field of the created record (`to`)
    values: Mapping[str, Any]        # per new line; `$line.<field>` reads the copied line


@dataclass(frozen=True)
class Step:
    kind: str                        # "set" | "create" | "move"
    values: Mapping[str, Any] = field(default_factory=frozen_map)
    entity: str | None = None        # create: what
    lines: LinesCopy | None = None   # create: lines copied
    stage: str | None = None         # move: where to
    workflow: str | None = None      # move: through which workflow (when several)


@dataclass(frozen=True)
class RecordAction:
    name: str
    label: Text
    steps: tuple[Step, ...]
    when: Any = None                 # Condition
    roles: tuple[str, ...] | None = None   # None: everyone who may update the record
    open: str = OPEN_RECORD
    confirm: Text | None = None

    @property
    def changes_record(self) -> bool:
        """Whether a step writes the record itself (a `set` or a `move`)."""
        return any(step.kind in ("set", "move") for step in self.steps)

    @property
    def creates(self) -> bool:
        return any(step.kind == "create" for step in self.steps)


def _step(raw: Mapping[str, Any]) -> Step:
    if "set" in raw:
        return Step("set", frozen_map(raw["set"]))
    if "move" in raw:
        return Step("move", stage=raw["move"], workflow=raw.get("workflow"))
    lines = raw.get("lines")
    copy = (LinesCopy(lines["from"], lines["to"], frozen_map(lines.get("values", {})))
            if isinstance(lines, Mapping) else None)
    return Step("create", frozen_map(raw.get("values", {})), raw["create"], copy)


def build_actions(raw: Any, entity: Entity, entities: Mapping[str, Entity],
                  problems: list[Problem]) -> tuple[RecordAction, ...]:
    """The entity's schema-valid `actions`, their `when` parsed against the Registry."""
    built = []
    for index, item in enumerate(raw or ()):
        when = None
        if item.get("when") is not None:
            when, found = conditions.parse(item["when"], entity, entities, entity.source,
                                           pointer("actions", index, "when"))
            problems += found
        roles = item.get("roles")
        built.append(RecordAction(
            name=item["name"], label=Text.of(item.get("label") or humanise(item["name"]),
                                             key=item["name"]),
            steps=tuple(_step(step) for step in item["do"]), when=when,
            roles=tuple(roles) if roles is not None else None,
            open=item.get("open", OPEN_RECORD),
            confirm=Text.of(item["confirm"]) if item.get("confirm") else None))
    return tuple(built)
