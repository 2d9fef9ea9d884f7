"""Which fields the signed-in user sees and may write (SPEC §3.4 field-level permissions).

Pages ask the records service's one answer (`karte.store.field_rights`) so that a list,
card, form, board or export never shows a field the store would not return, and a form
never posts a field the store would refuse.
"""

from __future__ import annotations

from collections.abc import Iterable

from karte.meta.model import Entity
from karte.store import field_rights
from karte.web import actor, records


def unseen(entity: Entity) -> frozenset[str]:
    """The entity's fields hidden from the signed-in user."""
    return field_rights.hidden(records().store, entity, actor())


def fixed(entity: Entity) -> frozenset[str]:
    """The entity's fields the signed-in user's role may not change (hidden ones too)."""
    return field_rights.read_only(records().store, entity, actor())


def seen(entity: Entity, names: Iterable[str]) -> list[str]:
    """`names` without the fields hidden from the signed-in user, in order."""
    gone = unseen(entity)
    return [name for name in names if name not in gone]
