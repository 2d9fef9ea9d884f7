"""Quick-add on the card (issue 12, "fast logging"): a small form per timeline-item entity
that links to the card's record — log a call, add a task — without leaving the card.

The form asks what logging needs and nothing more: the item's title and summary, its date
(`timeline_item.at`), its first choice list (call / email / meeting / note) and its first
long text (notes), each pre-filled with the field's default (`$now`, `$today`, a fixed
value; `$me` applies on save). The item is linked to the card's record, and to the
records the card's record links to when the item has a link to the same entity (a deal's
call is also its customer's and its contact's). With htmx the timeline panel is swapped
in place (422 with the typed text and the errors next to the inputs when refused); without
JavaScript the form posts and the card is shown again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import request

from karte.meta.model import Entity, Field
from karte.store.permissions import rights
from karte.store.timeline import linking
from karte.web import actor, records, timezone
from karte.web.field_access import fixed
from karte.web.form_model import fresh
from karte.web.form_values import as_text

ASKED_TYPES = frozenset({"string", "text", "enum", "date", "datetime"})
INPUT_TYPES = {"date": "date", "datetime": "datetime-local"}


def _first(child: Entity, kind: str) -> str | None:
    """The item's first field of `kind` always shown (no `visible_if`), not a stage."""
    return next((f.name for f in child.fields.values() if f.type == kind
                 and f.visible_if is None and not f.workflow), None)


def inputs(child: Entity) -> list[Field]:
    """What a quick-add form asks, in the item's field order."""
    item = child.timeline_item          # set: `linking` offers only entities with one
    wanted = {child.title_field, _first(child, "enum"), _first(child, "text"),
              *((item.at, item.summary) if item else ())}
    gone = fixed(child)
    return [f for name, f in child.fields.items() if name in wanted and not f.read_only
            and name not in gone and f.type in ASKED_TYPES]


def _carried(entity: Entity, child: Entity, main: Field) -> list[tuple[str, str]]:
    """(item field, card field) pairs: the item's other links to an entity the card's
    record links to as well (a field of the same name first)."""
    pairs, gone = [], fixed(child)
    for f in child.fields.values():
        if f.type != "link" or f.name == main.name or f.name in gone:
            continue
        same = entity.fields.get(f.name)
        source = same if same is not None and same.type == "link" and same.to == f.to \
            else next((g for g in entity.fields.values()
                       if g.type == "link" and g.to == f.to), None)
        if source is not None and source.to != entity.name:
            pairs.append((f.name, source.name))
    return pairs


def _needs_a_file(child: Entity) -> bool:
    """Whether the item requires a file: the small form uploads nothing, so it could
    never be saved — such an item is added from its own form (a related list's "New")."""
    return any(f.type == "file" and f.required for f in child.fields.values())


def quick_adds(entity: Entity, offered: bool = True) -> list[dict[str, Any]]:
    """A quick-add form per entity with a timeline item that links here (`offered`:
    only those the user may create; the service refuses the others anyway), but for an
    item that requires a file."""
    forms = []
    for child, fields in linking(records().store, entity):
        links = [f for f in fields if f.type == "link"]
        if _needs_a_file(child):
            continue
        if links and (not offered or rights(records().store, child, actor()).create):
            forms.append({"child": child, "link": links[0], "inputs": inputs(child),
                          "carried": _carried(entity, child, links[0])})
    return forms


def defaults(forms: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per item entity, the inputs' text before anything is typed: the defaults."""
    ctx, zone = records().store.context(actor()), ZoneInfo(timezone())
    found = {}
    for form in forms:
        start = fresh(form["child"], ctx)
        found[form["child"].name] = {f.name: as_text(f, start.get(f.name), zone)
                                     for f in form["inputs"]}
    return found


def _local(raw: str) -> Any:
    """A datetime-local value is the user's wall-clock time; anything else goes to the
    service as typed, which says what is wrong with it."""
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        return raw
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(timezone()))


def values(form: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """The typed values (empty ones left out, so defaults apply), the link here and the
    links carried over from the card's record."""
    found: dict[str, Any] = {}
    for f in form["inputs"]:
        raw = request.form.get(f.name, "").strip()
        if raw:
            found[f.name] = _local(raw) if f.type == "datetime" else raw
    for name, source in form["carried"]:
        if record.get(source) is not None:
            found[name] = record[source]
    found[form["link"].name] = record["id"]
    return found
