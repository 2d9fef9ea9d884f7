"""Links, links lists and users as written in a file, resolved in bulk for a chunk of rows
(SPEC §14): a record by its id ("12" or "#12"), by a unique field of its entity, or by
its title (case folded like every text match); a user by email (or id). A few queries per
target entity and chunk, never one per row.

Only live records the actor may read are found (a link must not reveal others). A title
two records share is a problem naming the candidates, so the user can write the id; a
text nothing matches is a problem suggesting the titles starting with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from karte.fields import normalise
from karte.meta.conditions import fold
from karte.meta.model import Entity, Field
from karte.store.actor import Actor
from karte.store.permissions import scope
from karte.store.records.store import Store, chunks
from karte.store.title_index import title_key
from karte.store.validation import noun
from karte.transfer.import_cells import Row
from karte.transfer.values import Ref

ID_TEXT = re.compile(r"#?(\d{1,18})")
SUGGESTED = 10
SUGGESTION_QUERIES = 50   # per chunk: a file of typos does not become a query per row
UNIQUE_TYPES = frozenset({"string", "email", "phone", "integer", "url"})
USER = "\0user"           # the target key of user fields
REFERRING = frozenset({"link", "links", "user"})


@dataclass(frozen=True)
class Found:
    """What one text resolved to: an id, or the problem's code, message and details."""

    id: int | None = None
    code: str = ""
    message: str = ""
    details: tuple[tuple[str, Any], ...] = ()


def _target(field: Field) -> str:
    return USER if field.type == "user" else field.to_entity


def _refs(entity: Entity, store: Store, rows: Iterable[Row]
          ) -> Iterable[tuple[Row, str, Field, Ref]]:
    """Every Ref of the rows: (row, where, field, ref); `where` is the field's name or
    "lines[N].field" for a line's."""
    for row in rows:
        for name, value in row.values.items():
            field = entity.fields[name]
            if isinstance(value, Ref):
                yield row, name, field, value
            elif field.type == "lines" and isinstance(value, list):
                part = store.pack.entities[field.of or ""]
                for number, line in enumerate(value, start=1):
                    for child, item in line.items():
                        if isinstance(item, Ref):
                            yield row, f"{name}[{number}].{child}", part.fields[child], item


def resolve(store: Store, conn: sa.Connection, entity: Entity, rows: list[Row],
            actor: Actor | None) -> None:
    """Replace every Ref of the rows by ids, or add the row's problem."""
    found = list(_refs(entity, store, [r for r in rows if not r.failed]))
    wanted: dict[str, set[str]] = {}
    for _, _, field, ref in found:
        wanted.setdefault(_target(field), set()).update(ref.texts)
    answers = {target: (_users(store, conn, texts) if target == USER
                        else _records(store, conn, store.entity(target), texts, actor))
               for target, texts in wanted.items()}
    for row, where, field, ref in found:
        results = [answers[_target(field)][text] for text in ref.texts]
        bad = [r for r in results if r.id is None]
        for result in bad:
            row.fail(where, result.code, result.message, dict(result.details))
        ids = [r.id for r in results if r.id is not None]
        value: Any = sorted(set(ids)) if field.type == "links" else (ids[0] if ids else None)
        _assign(row, where, value)


def _assign(row: Row, where: str, value: Any) -> None:
    if "[" not in where:
        row.values[where] = value
        return
    name, rest = where.split("[", 1)
    number, child = rest.split("].", 1)
    row.values[name][int(number) - 1][child] = value


# ---------------------------------------------------------------- users

def _users(store: Store, conn: sa.Connection, texts: set[str]) -> dict[str, Found]:
    users = store.users
    emails = {t: t.strip().lower() for t in texts if "@" in t}
    ids = {t: int(m.group(1)) for t in texts if (m := ID_TEXT.fullmatch(t.strip()))}
    by_email: dict[str, int] = {}
    for part in chunks(sorted(set(emails.values()))):
        by_email.update((str(email).lower(), id) for id, email in conn.execute(
            sa.select(users.c.id, users.c.email).where(sa.func.lower(users.c.email).in_(part),
                                                       users.c.active.is_(True))))
    live: set[int] = set()
    for part in chunks(sorted(set(ids.values()))):
        live.update(conn.scalars(sa.select(users.c.id).where(users.c.id.in_(part),
                                                             users.c.active.is_(True))))
    answers = {}
    for text in texts:
        id = by_email.get(emails.get(text, "")) or (ids.get(text) if ids.get(text) in live
                                                     else None)
        answers[text] = Found(id) if id else Found(
            None, "import.user", f'There is no active user with the email "{text}".',
            (("value", text),))
    return answers


# ---------------------------------------------------------------- records

def _unique_fields(entity: Entity) -> list[Field]:
    return [f for f in entity.fields.values()
            if (f.unique or f.series) and f.type in UNIQUE_TYPES]


def _records(store: Store, conn: sa.Connection, entity: Entity, texts: set[str],
             actor: Actor | None) -> dict[str, Found]:
    table = store.table(entity)
    readable = sa.and_(table.c.deleted_at.is_(None), scope(store, entity, actor, "read"))
    answers: dict[str, Found] = {}
    ids = {t: int(m.group(1)) for t in texts if (m := ID_TEXT.fullmatch(t.strip()))}
    live: set[int] = set()
    for part in chunks(sorted(set(ids.values()))):
        live.update(conn.scalars(sa.select(table.c.id).where(table.c.id.in_(part), readable)))
    answers.update((t, Found(id)) for t, id in ids.items() if id in live)
    for field in _unique_fields(entity):
        _by_unique(store, conn, entity, field, readable, texts - set(answers), answers)
    _by_title(store, conn, entity, readable, texts - set(answers), answers)
    return answers


def _by_unique(store: Store, conn: sa.Connection, entity: Entity, field: Field,
               readable: sa.ColumnElement[bool], texts: set[str],
               answers: dict[str, Found]) -> None:
    table = store.table(entity)
    values: dict[Any, list[str]] = {}
    for text in texts:
        try:
            value = normalise(field, text.strip(), store.pack.country)
        except (ValueError, ArithmeticError):
            continue
        if value is not None:
            values.setdefault(value, []).append(text)
    for part in chunks(list(values)):
        for id, value in conn.execute(sa.select(table.c.id, table.c[field.name])
                                      .where(table.c[field.name].in_(part), readable)):
            for text in values.get(value, []):
                answers[text] = Found(id)


def _by_title(store: Store, conn: sa.Connection, entity: Entity,
              readable: sa.ColumnElement[bool], texts: set[str],
              answers: dict[str, Found]) -> None:
    table = store.table(entity)
    title = table.c[entity.title_field]
    folded: dict[str, list[str]] = {}
    for text in texts:
        folded.setdefault(fold(text.strip()), []).append(text)
    matches: dict[str, list[tuple[int, str]]] = {}
    for part in chunks(list(folded)):
        query = (sa.select(table.c.id, title).where(title_key(title).in_(part), readable)
                 .order_by(table.c.id))
        for id, shown in conn.execute(query):
            matches.setdefault(fold(str(shown).strip()), []).append((id, str(shown)))
    asked = 0
    for key, written in folded.items():
        found = matches.get(key, [])
        if len(found) == 1:
            answer = Found(found[0][0])
        elif found:
            answer = _ambiguous(entity, written[0], found)
        else:
            asked += 1
            near = _near(store, conn, entity, readable, key) if asked <= SUGGESTION_QUERIES \
                else []
            answer = (_ambiguous(entity, written[0], near) if len(near) > 1
                      else _missing(entity, written[0], near))
        for text in written:
            answers[text] = answer


def _listed(found: list[tuple[int, str]]) -> str:
    return ", ".join(f"#{id} {title}" for id, title in found)


def _ambiguous(entity: Entity, text: str, found: list[tuple[int, str]]) -> Found:
    """Several records have this title (or, when none has it exactly, a title starting
    with it): the user says which by its id."""
    count = f"{SUGGESTED} or more" if len(found) > SUGGESTED else str(len(found))
    shown = _listed(found[:SUGGESTED])
    message = (f'"{text}" matches {count} {noun(entity, plural=True)}: {shown} — use the id.')
    return Found(None, "import.ambiguous", message,
                 (("value", text), ("count", count), ("candidates", shown)))


def _near(store: Store, conn: sa.Connection, entity: Entity,
          readable: sa.ColumnElement[bool], key: str) -> list[tuple[int, str]]:
    """Up to SUGGESTED + 1 readable records whose title starts with the text."""
    if not key:
        return []
    table = store.table(entity)
    title = table.c[entity.title_field]
    query = (sa.select(table.c.id, title)
             .where(title_key(title).startswith(key, autoescape=True), readable)
             .order_by(table.c.id).limit(SUGGESTED + 1))
    return [(id, str(shown)) for id, shown in conn.execute(query)]


def _missing(entity: Entity, text: str, near: list[tuple[int, str]]) -> Found:
    names = ["id", *(f.name for f in _unique_fields(entity)), "title"]
    said = ", ".join(names[:-1]) + f" or {names[-1]}"
    hint = f" (did you mean {_listed(near)}?)" if near else ""
    return Found(None, "import.link", f'No {noun(entity)} has the {said} "{text}"{hint}.',
                 (("value", text), ("entity", entity.name), ("suggestions", _listed(near))))
