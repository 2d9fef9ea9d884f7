"""Line changes in words (SPEC §3.5): what the parent's audit row says about its lines.

An audit row of a parent holds each line change under a key naming the line by its
position: "lines[3].quantity": ["2", "5"] for a value, "lines[4]": [None, "product:
Cement"] for a line added, ["product: Sand", None] for one removed. `describe` says one
in English; `line_key` takes a key apart for a page that says it in its own language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity
from karte.store import audit
from karte.store.records.store import Store, chunks
from karte.store.validation import label

LINE_KEY = re.compile(r"^(?P<field>[a-z][a-z0-9_]*)\[(?P<n>\d+)\](?:\.(?P<name>.+))?$")


class Summaries:
    """Lines in words for the audit: the part's title field, e.g. "product: Cement" (a
    link by its target's title, all read in one query)."""

    def __init__(self, store: Store, conn: sa.Connection, part: Entity,
                 lines: Sequence[Mapping[str, Any]]):
        self.title = part.fields.get(part.title_field)
        self.names: dict[Any, Any] = {}
        target = store.pack.entities.get(self.title.to or "") if self.title else None
        if self.title is None or self.title.type != "link" or target is None:
            return
        table = store.table(target)
        ids = sorted({line[self.title.name] for line in lines
                      if line.get(self.title.name) is not None})
        if ids and target.title_field in table.c:
            for batch in chunks(ids):      # a bulk create's lines may name many targets
                query = sa.select(table.c.id, table.c[target.title_field]).where(
                    table.c.id.in_(batch))
                self.names.update((id, name) for id, name in conn.execute(query)
                                  if name is not None)

    def __call__(self, line: Mapping[str, Any]) -> str:
        if self.title is None:
            return f"#{line.get('id')}"
        value = line.get(self.title.name)
        value = self.names.get(value, value)
        shown = "empty" if value is None else audit.jsonable(value)
        return f"{label(self.title).lower()}: {shown}"


def line_key(name: str) -> tuple[str, int, str] | None:
    """An audit key of a line change, "lines[3].quantity" → ("lines", 3, "quantity");
    "lines[4]" (a line added or removed) → ("lines", 4, ""); None for other names."""
    found = LINE_KEY.match(name)
    if found is None:
        return None
    return found["field"], int(found["n"]), found["name"] or ""


def describe(entity: Entity, parts: Mapping[str, Entity], name: str, old: Any,
             new: Any) -> str | None:
    """A line change in English words: "line 3 quantity: 2 → 5", "line 4 added (product:
    Cement)", "line 2 removed (product: Sand)"; None when `name` is no line change."""
    key = line_key(name)
    if key is None or key[0] not in entity.fields:
        return None
    _field, n, field_name = key
    if not field_name:
        return f"line {n} added ({new})" if old is None else (
            f"line {n} removed ({old})" if new is None else f"line {n}: {old} → {new}")
    part = parts.get(entity.fields[key[0]].of or "")
    shown = label(part.fields[field_name]).lower() if part and field_name in part.fields \
        else field_name
    return f"line {n} {shown}: {'empty' if old is None else old} → " \
           f"{'empty' if new is None else new}"
