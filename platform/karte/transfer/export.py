"""The rows of an export (SPEC §14 "Export"), whatever the file format: the list's view of an
entity — its condition, search, sort and the actor's read scope and hidden fields, all
applied by the records service — read by keyset in batches (`Records.iterate`: each batch
starts after the previous one's last row, so the last batch costs what the first does and
memory holds one batch), each row a list of typed cells.

Two looks (`Look.raw`):
- as shown (the default): an option's label, a link's title, a user's name, Yes/No, in the
  language asked for; numbers stay numbers, dates dates, datetimes in the user's timezone
  (naive, as a spreadsheet wants them).
- raw: what an import reads back — option keys, record ids, users' emails, true/false,
  ISO 8601 dates and datetimes (UTC, with their offset), plain decimals.

No web framework here: the page passes the UI language's `gettext`, the CLI a Babel
catalogue (`catalogue`). The CSV and XLSX writers (`csv_chunks`, `karte.transfer.xlsx`)
turn these cells into text or typed spreadsheet cells.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from karte.auth.users import user_emails, user_names
from karte.fields import is_empty
from karte.meta.model import Entity, Field
from karte.store import Records, field_rights
from karte.store.actor import Actor
from karte.store.lookup import titles

BATCH = 500
STAMPS = ("created_at", "updated_at")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SEPARATOR = "; "
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"

Cell = str | int | Decimal | bool | dt.date | dt.datetime | None


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Look:
    """How cells read: raw or as shown, and for shown cells the language (its `gettext`
    and locale for the pack's labels) and the timezone datetimes are shown in."""

    raw: bool = False
    gettext: Callable[[str], str] = _same
    locale: str | None = None
    pack_locale: str | None = None
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def text(self, value: Any) -> str:
        """A definition's text (label) in the look's language."""
        if value is None:
            return ""
        return value.get(self.locale, self.pack_locale) if hasattr(value, "get") else str(value)


def catalogue(locale: str | None) -> Callable[[str], str]:
    """The app's own translations for `locale` (as the pages show them), Flask-free."""
    from babel.support import Translations

    if not locale or locale == "en":
        return _same
    return Translations.load(str(TRANSLATIONS), [locale]).gettext


@dataclass
class Rows:
    """An export: its columns (fields), the header, and the rows in batches. Iterating
    `batches` (once) runs the queries and counts the rows given; the first batch is read
    on `open_rows` so that a bad condition or sort is raised before anything is written."""

    fields: list[Field]
    header: list[str]
    first: list[list[Cell]]
    rest: Iterator[list[list[Cell]]]
    count: int = 0

    @property
    def batches(self) -> Iterator[list[list[Cell]]]:
        for batch in chain([self.first] if self.first else [], self.rest):
            self.count += len(batch)
            yield batch


def columns(records: Records, entity: Entity, actor: Actor | None) -> list[Field]:
    """id, every field the actor may see (not lines: they are records of their own), the
    creation and change times."""
    hidden = field_rights.hidden(records.store, entity, actor)
    names = ["id", *(n for n in entity.fields if n not in hidden), *STAMPS]
    found = [f for name in names if (f := entity.lookup(name)) is not None]
    return [f for f in found if f.type != "lines"]


def open_rows(records: Records, entity: Entity, *, look: Look, where: Any = None,
              search: str | None = None, sort: str | None = None,
              actor: Actor | None = None, batch: int = BATCH) -> Rows:
    """The export of the view; raises the service's InvalidQuery for a bad view."""
    fields = columns(records, entity, actor)
    header = [f.name if look.raw else look.text(f.label) for f in fields]
    batches = records.iterate(entity.name, where=where, search=search or None, sort=sort,
                              actor=actor, batch=batch)

    def converted() -> Iterator[list[list[Cell]]]:
        for rows in batches:
            yield _cells(records, entity, fields, rows, look, actor)
    rest = converted()
    first = next(rest, [])
    return Rows(fields, header, first, rest)


@dataclass
class Refs:
    titles: dict[str, dict[int, str]]
    users: dict[int, str]


def _refs(records: Records, fields: list[Field], rows: Sequence[Mapping[str, Any]], look: Look,
          actor: Actor | None) -> Refs:
    """Titles of the link targets (as shown only) and the users' names or emails: one
    query per target entity and one for users, per batch."""
    targets: dict[str, set[int]] = {}
    users: set[int] = set()
    for f in fields:
        kind = f.as_value().type
        if kind == "user":
            users.update(v for row in rows if (v := row.get(f.name)) is not None)
        elif kind in ("link", "links") and not look.raw:
            ids = targets.setdefault(f.to_entity, set())
            for row in rows:
                value = row.get(f.name)
                if kind == "link" and value is not None:
                    ids.add(value)
                elif kind == "links":
                    ids.update(value or ())
    store = records.store
    named = user_emails if look.raw else user_names
    return Refs({name: titles(store, name, ids, actor) for name, ids in targets.items()},
                named(store.engine, users))


def _cells(records: Records, entity: Entity, fields: list[Field],
           rows: Sequence[Mapping[str, Any]], look: Look, actor: Actor | None) -> list[list[Cell]]:
    refs = _refs(records, fields, rows, look, actor)
    table = RAW if look.raw else SHOWN
    makers = [(f, table.get(f.as_value().type, _plain)) for f in fields]
    return [[None if _empty(f, v := row.get(f.name)) else make(f, v, refs, look)
             for f, make in makers] for row in rows]


def _empty(f: Field, value: Any) -> bool:
    return value is None or (f.type != "boolean" and is_empty(value))


# ---------------------------------------------------------------- one cell per type

Maker = Callable[[Field, Any, Refs, Look], Cell]


def _plain(f: Field, value: Any, refs: Refs, look: Look) -> Cell:
    if isinstance(value, int | Decimal | bool | dt.date):
        return value
    return str(value)


def _label(f: Field, key: Any, look: Look) -> str:
    option = f.option(str(key))
    return look.text(option.label) if option is not None else str(key)


def _title(entity: str, id: Any, refs: Refs, look: Look) -> str:
    """The target's title; a target the actor may not read is not named."""
    found = refs.titles.get(entity, {})
    return (found[id] or f"#{id}") if id in found else look.gettext("(no access)")


def _files(f: Field, value: Any, refs: Refs, look: Look) -> str:
    return ", ".join(str(item.get("name", "")) if isinstance(item, dict) else str(item)
                     for item in value)


def _shown_time(f: Field, value: Any, refs: Refs, look: Look) -> Cell:
    return value.astimezone(look.zone).replace(tzinfo=None, microsecond=0)


SHOWN: dict[str, Maker] = {
    "boolean": lambda f, v, refs, look: look.gettext("Yes") if v else look.gettext("No"),
    "datetime": _shown_time,
    "enum": lambda f, v, refs, look: _label(f, v, look),
    "multi_enum": lambda f, v, refs, look: SEPARATOR.join(_label(f, k, look) for k in v),
    "link": lambda f, v, refs, look: _title(f.to_entity, v, refs, look),
    "links": lambda f, v, refs, look: SEPARATOR.join(_title(f.to_entity, i, refs, look)
                                                     for i in v),
    "user": lambda f, v, refs, look: refs.users.get(v, f"#{v}"),
    "file": _files,
}

RAW: dict[str, Maker] = {
    "boolean": lambda f, v, refs, look: bool(v),
    "date": lambda f, v, refs, look: v.isoformat(),
    "datetime": lambda f, v, refs, look: v.astimezone(dt.UTC).isoformat(),
    "multi_enum": lambda f, v, refs, look: SEPARATOR.join(str(k) for k in v),
    "links": lambda f, v, refs, look: SEPARATOR.join(str(i) for i in v),
    "user": lambda f, v, refs, look: refs.users.get(v, str(v)),
    "file": _files,
}


# ---------------------------------------------------------------- CSV

def safe(text: str) -> str:
    """A text a spreadsheet would run as a formula gets a leading quote (CSV injection)."""
    return f"'{text}" if text.startswith(FORMULA_START) else text


def csv_text(value: Cell) -> str:
    """A cell as CSV text: plain numbers (no grouping, no currency sign) a spreadsheet can
    add up, ISO dates, datetimes as `YYYY-MM-DD HH:MM:SS`, true/false, guarded text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return safe(value)


def csv_chunks(rows: Rows) -> Iterator[str]:
    """The CSV: a UTF-8 BOM (so that Excel reads Japanese text) and the header, then one
    chunk of text per batch."""
    yield "\ufeff" + _csv([rows.header])
    for batch in rows.batches:
        yield _csv([csv_text(value) for value in row] for row in batch)


def _csv(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def file_name(entity: Entity, zone: ZoneInfo, extension: str) -> str:
    """`<entity>-YYYY-MM-DD.<extension>`, dated in the user's timezone."""
    today = dt.datetime.now(zone).date()
    return f"{entity.name}-{today.isoformat()}.{extension}"
