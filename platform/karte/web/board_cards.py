"""What a board card shows (SPEC §3.7 `board.fields`) and how a board lays its columns out.

A card shows its title (a link), then the workflow's `board.fields` — or, when the
workflow declares none, the entity's `subtitle` on one line and its money fields — then
the days in the stage and the owner's initials. A field hidden from the viewer (field
permissions) is never shown, and an empty value is left out rather than shown as "—".

Everything here is worked out once per board, never per card: the link titles come from
the page's one `references` lookup and the days from the stage time each card's row
holds (`karte.workflow.board.entered`).

Final stages (`final` set) are shown collapsed: narrow drop targets whose cards are not
fetched until the column is opened (`?open=<stage>` without JavaScript; board.js fetches
them in place). On a phone the board shows one column at a time, the `?stage=<key>`
one, with a stage switcher of links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import request, url_for
from markupsafe import Markup, escape

from karte.meta.model import Entity, Workflow
from karte.web.display import Refs, link_to, show_field
from karte.web.field_access import unseen
from karte.workflow.board import Column


@dataclass(frozen=True)
class Plan:
    """The fields of a card, per place: an unlabelled subtitle line, labelled fields,
    and the user field shown as initials."""

    subtitle: tuple[str, ...]
    fields: tuple[str, ...]
    owner: str | None

    @property
    def names(self) -> list[str]:
        return [*self.subtitle, *self.fields, *([self.owner] if self.owner else [])]


def owner_field(entity: Entity) -> str | None:
    """Whose a card is: the `owner` user field, else the entity's first user field."""
    return entity.owner_field or next(
        (f.name for f in entity.fields.values() if f.type == "user"), None)


def plan(entity: Entity, flow: Workflow) -> Plan:
    """The card's fields for the signed-in user: `board.fields` when declared, else the
    title's subtitle, the money fields and the owner; never a hidden field, the title or
    the stage (the column says it)."""
    gone = unseen(entity) | {entity.title_field, flow.field}
    owner = owner_field(entity)
    declared = flow.board_fields
    if declared is None:
        subtitle = [n for n in entity.subtitle if n != owner]
        money = [n for n, f in entity.fields.items() if f.type == "money"
                 and n not in subtitle]
        fields, shown_owner = money, owner
    else:
        subtitle, fields = [], [n for n in declared if n != owner]
        shown_owner = owner if owner in declared else None
    if shown_owner in gone:
        shown_owner = None
    return Plan(tuple(n for n in subtitle if n not in gone and n in entity.fields),
                tuple(n for n in fields if n not in gone and n in entity.fields),
                shown_owner)


def initials(name: str) -> str:
    """Two letters for a round badge: the first letters of the first and last words
    ("Ann Lee" → "AL"), the first two characters of a one-word name ("山田" → "山田"), the
    part of an email address before the @."""
    words = name.split("@")[0].replace(".", " ").replace("_", " ").split()
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper() if words[0].isascii() else words[0][:2]
    return (words[0][0] + words[-1][0]).upper()


def value(entity: Entity, name: str, card: Mapping[str, Any], refs: Refs) -> Markup:
    """A field as a card shows it: a link's target by its title as plain text (the card's
    title is its one link: a card is dragged, and on a phone tapped), else as lists do."""
    f = entity.fields[name]
    if f.type not in ("link", "links"):
        return show_field(entity, name, card, refs)
    ids = card[name] if f.type == "links" else [card[name]]
    known = refs.titles.get(f.to_entity or "", {})
    return Markup(", ").join(escape(known.get(id) or f"#{id}") if id in known
                             else link_to(f.to_entity or "", id, refs) for id in ids)


def days(columns: Iterable[Column], now: dt.datetime) -> dict[int, int]:
    """Whole days each shown card has been in its stage."""
    return {id: max(0, (now - at).days) for col in columns
            for id, at in col.entered.items()}


# ---------------------------------------------------------------- columns and switcher

def opened(flow: Workflow) -> set[str]:
    """The final stages the URL opens: `open=<key>` (any number), and the phone's
    current stage."""
    keys = set(flow.stage_keys)
    wanted = {k for k in request.args.getlist("open") if k in keys}
    current = request.args.get("stage", "")
    return wanted | ({current} if current in keys else set())


def closed(flow: Workflow) -> frozenset[str]:
    """The stages shown collapsed: the final ones the URL does not open."""
    return frozenset(s.key for s in flow.stages if s.final) - opened(flow)


def current(flow: Workflow, columns: list[Column]) -> str:
    """The stage a phone shows: `stage=` in the URL, else the first with cards, else
    the first."""
    wanted = request.args.get("stage", "")
    if wanted in flow.stage_keys:
        return wanted
    return next((c.stage.key for c in columns if c.count and not c.stage.final),
                flow.stages[0].key)


def _board_url(flow: Workflow, kept: Mapping[str, str], **args: Any) -> str:
    pairs = [(k, v) for k, v in kept.items()]
    for key, value in args.items():
        pairs += [(key, v) for v in (value if isinstance(value, list) else [value]) if v]
    base = url_for("boards.show", workflow=flow.name)
    return base + ("?" + urlencode(pairs) if pairs else "")


def layout(flow: Workflow, columns: list[Column], kept: Mapping[str, str]) -> dict[str, Any]:
    """What the board template needs to lay the columns out: which are collapsed, the
    phone's current stage, and the links that open, close and switch columns."""
    shut, now_open = closed(flow), sorted(opened(flow) - {request.args.get("stage", "")})
    stage = current(flow, columns)
    finals = [s.key for s in flow.stages if s.final]
    return {
        "collapsed": shut, "current": stage,
        "expand_urls": {k: _board_url(flow, kept, open=sorted({*now_open, k}), stage=stage
                                      if request.args.get("stage") else "")
                        for k in finals},
        "collapse_urls": {k: _board_url(flow, kept, open=[o for o in now_open if o != k])
                          for k in finals},
        "switch_urls": {s.key: _board_url(flow, kept, open=now_open, stage=s.key)
                        for s in flow.stages},
    }
