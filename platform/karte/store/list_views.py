"""Saved list views (SPEC §12): a user's named list states, private or shared by an admin.

A view is the list's query string (search, filters, sort, columns — never the page) under
a name, kept in `karte_list_view` (declared with the engine's other tables, created by the
migration). Everyone sees their own views and the shared ones; only the owner changes a
private view, only an admin makes, renames or deletes a shared one. The state is checked
by the list page each time it is opened, like any URL: a view naming a field removed
since is refused there with the list's own message, never trusted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from karte.problems import Problem
from karte.store.actor import Actor
from karte.store.errors import Forbidden, NotFound, ValidationFailed
from karte.store.tables import engine_table

NAME_MAX = 80
STATE_MAX = 4000
ADMIN = "admin"


@dataclass(frozen=True)
class SavedView:
    id: int
    entity: str
    user_id: int
    name: str
    shared: bool
    state: str

    def editable_by(self, actor: Actor) -> bool:
        return actor.role == ADMIN if self.shared else actor.id == self.user_id


def table() -> sa.Table:
    return engine_table("karte_list_view")


def _view(row: sa.Row[Any]) -> SavedView:
    return SavedView(row.id, row.entity, row.user_id, row.name, row.shared, row.state)


def visible(engine: sa.Engine, entity: str, actor: Actor) -> list[SavedView]:
    """The actor's own views of `entity`, then the shared ones, each by name."""
    t = table()
    query = (sa.select(t).where(t.c.entity == entity,
                                sa.or_(t.c.user_id == actor.id, t.c.shared.is_(True)))
             .order_by(t.c.shared, t.c.name, t.c.id))
    with engine.connect() as conn:
        return [_view(row) for row in conn.execute(query)]


def find(engine: sa.Engine, entity: str, id: int, actor: Actor) -> SavedView:
    """One view the actor may see; NotFound otherwise (another's private view too)."""
    for view in visible(engine, entity, actor):
        if view.id == id:
            return view
    raise NotFound(entity, id)


def _checked_name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise ValidationFailed([Problem("name", "Give the view a name.", "required")])
    if len(clean) > NAME_MAX:
        raise ValidationFailed([Problem("name", f"A view's name has at most {NAME_MAX} "
                                                "characters.", "too_long")])
    return clean


def _clash(engine: sa.Engine, entity: str, actor: Actor, name: str, skip: int | None) -> None:
    for view in visible(engine, entity, actor):
        if view.id != skip and view.name.casefold() == name.casefold():
            raise ValidationFailed([Problem("name", f"There is already a view named "
                                                    f"“{view.name}”; choose another name.",
                                            "duplicate")])


def create(engine: sa.Engine, entity: str, actor: Actor, name: str, state: str,
           shared: bool = False) -> SavedView:
    """Save `state` under `name`; a shared view only by an admin (Forbidden otherwise)."""
    if shared and actor.role != ADMIN:
        raise Forbidden([Problem("shared", "Only an administrator may share a view.",
                                 "forbidden")])
    clean = _checked_name(name)
    if len(state) > STATE_MAX:
        raise ValidationFailed([Problem("state", "This list's state is too long to save.",
                                        "too_long")])
    _clash(engine, entity, actor, clean, None)
    now = dt.datetime.now(dt.UTC)
    t = table()
    with engine.begin() as conn:
        id = conn.execute(t.insert().values(
            entity=entity, user_id=actor.id, name=clean, shared=shared, state=state,
            created_at=now, updated_at=now).returning(t.c.id)).scalar_one()
    return SavedView(int(id), entity, actor.id, clean, shared, state)


def _editable(engine: sa.Engine, entity: str, id: int, actor: Actor) -> SavedView:
    view = find(engine, entity, id, actor)
    if not view.editable_by(actor):
        raise Forbidden([Problem("", "Only an administrator may change a shared view.",
                                 "forbidden")])
    return view


def rename(engine: sa.Engine, entity: str, id: int, actor: Actor, name: str) -> SavedView:
    view = _editable(engine, entity, id, actor)
    clean = _checked_name(name)
    _clash(engine, entity, actor, clean, id)
    t = table()
    with engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == id).values(
            name=clean, updated_at=dt.datetime.now(dt.UTC)))
    return SavedView(view.id, view.entity, view.user_id, clean, view.shared, view.state)


def delete(engine: sa.Engine, entity: str, id: int, actor: Actor) -> None:
    _editable(engine, entity, id, actor)
    t = table()
    with engine.begin() as conn:
        conn.execute(t.delete().where(t.c.id == id))
