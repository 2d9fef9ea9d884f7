"""The checked form of a condition (see `karte.meta.conditions.parse` for the language's rules):
frozen nodes, the `Context` tokens are resolved against, and the pieces that both runners
(`evaluate` in Python, `karte.store.where` in SQL) share so that they agree."""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from karte.meta.model import Field

OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains", "starts_with",
             "empty", "not_empty")
TRUE_WHEN_EMPTY = frozenset({"!=", "not_in"})   # the comparisons an empty field meets
TEXT_TYPES = frozenset({"string", "text", "email", "phone", "url", "enum"})
JSON_TYPES = frozenset({"multi_enum", "file"})
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@dataclass(frozen=True)
class Context:
    """What tokens mean right now: resolved when a condition runs, never when it loads."""

    today: dt.date
    now: dt.datetime      # aware, UTC
    user_id: int | None = None

    @classmethod
    def current(cls, user_id: int | None = None, timezone: str = "UTC",
                now: dt.datetime | None = None) -> Context:
        """Now (or `now`, aware); `today` is the date in `timezone` (the pack's), so Tokyo's
        day starts at 0:00."""
        now = dt.datetime.now(dt.UTC) if now is None else now
        return cls(now.astimezone(ZoneInfo(timezone)).date(), now, user_id)


@dataclass(frozen=True)
class Token:
    """`$today` (+ `days`), `$now` or `$me`."""

    name: str
    days: int = 0


@dataclass(frozen=True)
class Ref:
    """The field a comparison reads: on the record itself, or one `link` away."""

    entity: str                  # the record's entity (its table)
    path: str                    # as written: "amount", "customer.segment"
    field: Field                 # the field read (on `target` when hopping)
    link: str | None = None      # the first-hop link field
    target: str | None = None    # the entity the link points to


@dataclass(frozen=True)
class Compare:
    ref: Ref
    op: str
    value: Any = None            # literal, Token, or a tuple of them for in / not_in


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


@dataclass(frozen=True)
class Overdue:
    """The record has been in its stage longer than that stage's `max_days` (SPEC §4). Not
    written in packs: the list page's `late=<workflow>` filter (home's "too long in their
    stage" opens it). `entered` is the column holding when the record entered its stage
    (karte.store.stage_times); `limits` the (stage, max_days) of each timed stage."""

    entity: str
    field: str
    entered: str
    limits: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Reached:
    """The record ever entered one of `stages` of `workflow` (its stage history says so;
    the creation row counts for the first stage). Not written in packs: a dashboard's
    drill-down (`karte.reports`) selects the records a funnel step or a stage-to-stage
    duration counts. `field` is the workflow's stage field on `entity`; `reached` the
    column listing the stages each record ever entered (karte.store.stage_reached), read
    instead of the history when the table has it."""

    entity: str
    workflow: str
    field: str
    stages: tuple[str, ...]
    reached: str | None = None


Condition = Compare | AllOf | AnyOf | Not | Overdue | Reached


def compares(cond: Condition) -> Iterator[Compare]:
    """Every comparison in the condition, however deep in all / any / not."""
    if isinstance(cond, Compare):
        yield cond
        return
    if isinstance(cond, Overdue | Reached):
        return
    for item in (cond.item,) if isinstance(cond, Not) else cond.items:
        yield from compares(item)


def fields_used(cond: Condition) -> frozenset[str]:
    """First-hop field names the condition reads (a form re-checks when one changes)."""
    return frozenset(c.ref.link or c.ref.field.name for c in compares(cond))


def fold(text: str) -> str:
    """Lower-case A-Z only: the case rule SQLite, PostgreSQL and Python all keep alike."""
    return text.translate(_ASCII_LOWER)


def resolve(value: Any, field: Field, ctx: Context) -> Any:
    """A literal as is; a token as of `ctx` (None when it names no one)."""
    if isinstance(value, tuple):
        return tuple(v for v in (resolve(item, field, ctx) for item in value) if v is not None)
    if not isinstance(value, Token):
        return value
    return _TOKENS[value.name](value, field, ctx)


def _day(token: Token, field: Field, ctx: Context) -> dt.date:
    """Today (+ days); on a datetime field, midnight UTC of that day."""
    day = ctx.today + dt.timedelta(days=token.days)
    return day if field.type == "date" else dt.datetime.combine(day, dt.time(), dt.UTC)


_TOKENS: dict[str, Callable[[Token, Field, Context], Any]] = {
    "today": _day,
    "now": lambda token, field, ctx: ctx.now,
    "me": lambda token, field, ctx: ctx.user_id,
}
