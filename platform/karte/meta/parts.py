"""Parts and lines (SPEC §3.5): what the engine adds to a part entity.

A part (`"part_of": "quote"`) gets a required link to its parent, named after the parent
(`quote_line.quote`, `on_delete: cascade`), and `position`, the line's place in its parent
(1, 2, 3, ...). Both are `declared=False` and read-only: lines are written only through
their parent's `lines` field (`karte.store.records.lines`). A field the part declares with
one of these names is kept as declared and reported by `karte check` (DEF065).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from karte.meta.model import Entity, Field, Pack, Text, humanise

POSITION = "position"
POSITION_LABEL = {"en": "Position", "ja": "位置"}


def parent_link(parent: str, label: Any = None) -> Field:
    """The link from a part to its parent record."""
    return Field(name=parent, type="link", to=parent, required=True, on_delete="cascade",
                 read_only=True, declared=False, index=True,
                 label=Text.of(label if label is not None else humanise(parent), key=parent))


def position_field() -> Field:
    return Field(name=POSITION, type="integer", read_only=True, declared=False,
                 label=Text.of(POSITION_LABEL, key=POSITION))


def add_part_fields(part_of: str | None, fields: dict[str, Field],
                    parent_label: Any = None) -> None:
    """The parent link (first) and `position` (last) on a part's fields (a declared field
    of that name is left alone: `karte check` refuses it)."""
    if not part_of:
        return
    if part_of not in fields:       # first: a part's list shows whose line each row is
        declared = dict(fields)
        fields.clear()
        fields.update({part_of: parent_link(part_of, parent_label), **declared})
    fields.setdefault(POSITION, position_field())


def parent_of(pack: Pack, part: Entity | str) -> Entity | None:
    """The parent entity of a part, or None for an entity that is not a part."""
    entity = pack.entities.get(part) if isinstance(part, str) else part
    if entity is None or entity.part_of is None:
        return None
    return pack.entities.get(entity.part_of)


def lines_field_of(pack: Pack, part: Entity | str) -> Field | None:
    """The parent's `lines` field holding this part's records."""
    name = part if isinstance(part, str) else part.name
    parent = parent_of(pack, name)
    if parent is None:
        return None
    return next((f for f in parent.lines_fields() if f.of == name), None)


def parts_of(entities: Mapping[str, Entity], parent: str) -> tuple[Entity, ...]:
    return tuple(e for e in entities.values() if e.part_of == parent)


def line_noun(pack: Pack, part: Entity) -> str:
    """"quote lines" — the part's plural, English, for messages."""
    return part.plural.get("en").lower()
