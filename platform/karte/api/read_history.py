"""A record's history as JSON (`GET /api/v1/<entity>/<id>/history`), newest first.

The entries the card's timeline shows of the record itself, from the same services:
writes from the change log (`Records.history`: kind `change`, with the action and each
changed field's old and new value in the API's shapes), record actions run (kind
`action`) and stage moves (`Workflows.history`: kind `move`). A move's own change of the
stage field is its `move` entry. The change log comes without the fields the caller may
not read — on the record or on its lines (`lines[2].unit_cost`) — and without updates
that changed only such fields (`field_rights.history`, as on the card).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from karte.api.types import serializer
from karte.meta.model import Entity
from karte.store.actor import Actor
from karte.store.audit import ACTION_RUN
from karte.store.records.store import Store
from karte.store.timeline import from_audit

Entry = dict[str, Any]


def _who(user_id: int | None, name: str | None) -> dict[str, Any] | None:
    return None if user_id is None else {"id": user_id, "name": name}


class Changes:
    """A change log entry's changes as `{field: {"old", "new"}}` for one caller."""

    def __init__(self, store: Store, entity: Entity):
        self.entity, self.country = entity, store.pack.country
        self.stages = frozenset(f.name for f in entity.fields.values() if f.workflow)

    def _value(self, name: str, value: Any) -> Any:
        field = self.entity.fields.get(name)
        if field is None or field.type == "lines":
            return value                       # a line's change: as the change log says it
        return serializer(field)(from_audit(self.entity, name, value, self.country))

    def __call__(self, action: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return {name: {"old": self._value(name, old), "new": self._value(name, new)}
                for name, (old, new) in changes.items()
                if not (action == "move" and name in self.stages)}


def _audit_entry(row: Mapping[str, Any], changes: Changes) -> Entry | None:
    who = _who(row["user_id"], row["user"])
    if row["action"] == "action":
        run = (row["changes"].get(ACTION_RUN) or [None, None])[1] or {}
        return {"kind": "action", "at": row["at"], "user": who, "version": row["version"],
                "name": run.get("name"), "created": run.get("created") or []}
    changed = changes(row["action"], row["changes"])
    if row["action"] in ("move", "update") and not changed:
        return None
    return {"kind": "change", "at": row["at"], "user": who, "action": row["action"],
            "version": row["version"], "changes": changed}


def _move_entry(row: Mapping[str, Any]) -> Entry:
    return {"kind": "move", "at": row["at"], "user": _who(row["user_id"], row["user"]),
            "workflow": row["workflow"], "from": row["from_stage"], "to": row["to_stage"]}


def entries(store: Store, entity: Entity, actor: Actor | None,
            audit: Sequence[Mapping[str, Any]], moves: Sequence[Mapping[str, Any]]
            ) -> list[Entry]:
    """The entries newest first (a move before the change-log row written with it), each
    with `at` as an ISO 8601 datetime with its offset."""
    changes = Changes(store, entity)
    found = [entry for row in audit if (entry := _audit_entry(row, changes)) is not None]
    found += [_move_entry(row) for row in moves if row["from_stage"] is not None]
    found.sort(key=lambda entry: (entry["at"], entry["kind"] == "move"), reverse=True)
    return [{**entry, "at": _moment(entry["at"])} for entry in found]


def _moment(at: dt.datetime) -> str:
    """A log's time (UTC) in ISO 8601 with its offset."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)).isoformat()
