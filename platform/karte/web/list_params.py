"""A list page's query parameters (SPEC §11) turned into what the records service takes.

`q` is the search text, `sort` is `field` or `-field`, `page` counts from 1, and every
filter is `f.<field>=<value>` (equals) or `f.<field>.<op>=<value>`. Field and operator names
are looked up in the Registry and refused with `InvalidQuery` (HTTP 400) when unknown,
naming the parameter and what is allowed (DESIGN rule 2: request text never becomes an
identifier). Values become conditions of SPEC §5, which the condition language type-checks
and the database receives as bound parameters. An empty value means "no filter": a form
submitted without JavaScript sends every input, filled or not.

Every refusal is in the UI language: it starts with the parameter as typed and names the
entity and fields by their labels (the condition language's English is said again from its
details by `karte.web.messages`); the names that may be typed instead stay names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from karte.fields import TYPES, record_id
from karte.meta import conditions
from karte.meta.model import Entity, Field, ListView, Workflow
from karte.problems import Problem
from karte.store import stage_times
from karte.store.errors import InvalidQuery

PREFIX = "f."
# URL operator → condition operator (SPEC §5); "empty" is empty (1) or not empty (0)
OPS: dict[str, str] = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<",
                       "lte": "<=", "contains": "contains", "in": "in", "empty": "empty"}
SYSTEM_FILTERS = ("id", "created_at", "updated_at", "created_by", "updated_by")
YES, NO = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
ME = "me"
MAX_PAGE = 10**9
"""Pages beyond this are refused: their offset would overflow the database's integers."""


@dataclass(frozen=True)
class Filter:
    """One `f.` parameter: the field, the URL operator and the value as typed."""

    param: str
    field: Field
    op: str
    value: str

    def condition(self) -> dict[str, Any]:
        """The SPEC §5 condition this filter asks for."""
        op = _condition_op(self.field, self.op)
        if self.op == "empty":
            return {"field": self.field.name, "op": _emptiness(self), "value": None}
        if self.op == "in":
            items = [part.strip() for part in self.value.split(",") if part.strip()]
            return {"field": self.field.name, "op": op,
                    "value": [_token(self.field, item) for item in items]}
        return _whole_days(self.field, op, _token(self.field, self.value.strip()))


@dataclass(frozen=True)
class ListQuery:
    """What a list page shows: search, filters, sort and page, as parsed from the URL, with
    the columns chosen (`cols`), the entity's declared view (`view`, its condition in
    `base`), the saved view it came from (`saved`) and the "mine" toggle."""

    q: str = ""
    sort: str | None = None
    page: int = 1                     # -1 is the last page, -2 the one before it, ...
    filters: tuple[Filter, ...] = ()
    columns: tuple[str, ...] = ()
    view: str = ""
    saved: int | None = None
    mine: str | None = None           # the owner field when "mine" is on
    base: Any = None                  # the declared view's (parsed) condition
    entity_name: str = ""
    late: Workflow | None = None      # `late=<workflow>`: too long in their stage of it
    drilled: Any = None               # `drill=`: a dashboard's records (web/list_drill.py)
    group: tuple[str, ...] = ()       # `group=`: summarize by these (web.list_summary)
    aggs: tuple[str, ...] = ()        # `agg=sum:amount`: what each group sums up

    def raw(self) -> list[dict[str, Any]]:
        found = [f.condition() for f in self.filters]
        if self.mine:
            found.append({"field": self.mine, "op": "=", "value": "$me"})
        return found

    def where(self) -> Any:
        """The condition of the filters (raw, SPEC §5), with the declared view's parsed
        condition when a view is chosen, and "too long in the stage" with `late`."""
        raw = self.raw()
        drilled = self.drilled.condition if self.drilled is not None else None
        parts = [part for part in (self.base, self.overdue(), drilled) if part is not None]
        if not parts:
            return {"all": raw} if raw else None
        if raw:
            from karte.web import registry

            parsed, _problems = conditions.parse({"all": raw}, self.base_entity,
                                                 registry().entities, "", "")
            parts += [parsed] if parsed is not None else []
        return parts[0] if len(parts) == 1 else conditions.AllOf(tuple(parts))

    def overdue(self) -> conditions.Overdue | None:
        """The `late` filter: in one of the workflow's timed stages longer than it allows."""
        flow = self.late
        if flow is None:
            return None
        return conditions.Overdue(flow.entity, flow.field, stage_times.column_name(flow.field),
                                  tuple((s.key, s.max_days) for s in flow.stages
                                        if s.max_days is not None))

    @property
    def base_entity(self) -> Entity:
        from karte.web import registry

        return registry().entities[self.entity_name]

    @property
    def narrowed(self) -> bool:
        """Search or filters hide some records (the empty state offers to clear them)."""
        return bool(self.q.strip() or self.filters or self.mine or self.base is not None
                    or self.late is not None or self.drilled is not None)

    @property
    def cleared(self) -> bool:
        """Nothing narrows or shapes the list: "clear all" has nothing to clear."""
        return not (self.narrowed or self.view or self.columns or self.sort)

    def args(self, **changes: Any) -> list[tuple[str, str]]:
        """The canonical parameters (empty ones dropped), with `q`/`sort`/`page` (and
        `view`, `saved`, `cols`, `mine`, `late`) changed; `drill=None` drops the drill."""
        drilled = changes.pop("drill", self.drilled)
        state = {"view": self.view or None, "saved": self.saved, "q": self.q.strip() or None,
                 "sort": self.sort, "page": self.page,
                 "cols": ",".join(self.columns) or None, "mine": "1" if self.mine else None,
                 "late": self.late.name if self.late else None,
                 "group": ",".join(self.group) or None, "agg": ",".join(self.aggs) or None,
                 **changes}
        state["page"] = page_param(state["page"]) if state["page"] is not None else None
        pairs = [(key, str(state[key])) for key in STATE_KEYS
                 if state.get(key) not in (None, "")]      # page 1 is None already
        kept = drilled.pairs() if drilled is not None else []
        return pairs + kept + [(f.param, f.value) for f in self.filters]

    def state(self) -> str:
        """What a saved view keeps: every parameter but the page and the saved view."""
        from urllib.parse import urlencode

        return urlencode(self.args(page=None, saved=None))


STATE_KEYS = ("view", "saved", "q", "sort", "page", "cols", "mine", "late", "group", "agg")


def filterable(entity: Entity) -> list[str]:
    """Every declared field the user sees and the system columns people ask about may be
    filtered."""
    from karte.web.field_access import seen

    return [*seen(entity, entity.fields), *SYSTEM_FILTERS]


def fitting_ops(field: Field) -> list[str]:
    """The URL operators that fit the field's type."""
    return [name for name in OPS if _condition_op(field, name) in TYPES[field.type].ops]


def parse(entity: Entity, args: MultiDict) -> ListQuery:
    """The list query from request arguments; InvalidQuery names every bad parameter."""
    from karte.web import list_drill, list_summary
    from karte.web.list_pickers import resolved

    args = resolved(entity, args)     # a type-ahead filter's typed title → its record
    filters, problems = [], []
    for key, value in args.items(multi=True):
        if not key.startswith(PREFIX) or not value.strip():
            continue
        try:
            filters.append(_filter(entity, key, value))
        except InvalidQuery as error:
            problems += error.problems
    page = _page(args.get("page", ""), problems)
    view = _view(entity, args.get("view", "").strip(), problems)
    columns = _columns(entity, args.getlist("cols"), problems)
    default = (view.columns if view else ()) or entity.list.columns
    if columns in (default, (entity.title_field, *default)):
        columns = ()                  # the columns shown anyway: a tidy URL
    saved = record_id(args.get("saved", "").strip()) if args.get("saved", "").strip() else None
    late = _late(entity, args.get("late", "").strip(), problems)
    group, aggs = list_summary.parse(entity, args, problems)
    if problems:
        raise InvalidQuery(problems)
    _type_check(entity, filters)
    sort = args.get("sort", "").strip() or None
    mine = entity.owner_field if args.get("mine", "").strip().lower() in YES else None
    return ListQuery(args.get("q", "").strip(), sort, page, tuple(filters), columns,
                     view.name if view else "", saved, mine,
                     view.where if view else None, entity.name, late,
                     list_drill.parse(entity, args), group, aggs)


def declared_views(entity: Entity) -> tuple[ListView, ...]:
    """The entity's declared list views (SPEC §3.7 `views`)."""
    return entity.views


def _view(entity: Entity, name: str, problems: list[Problem]) -> ListView | None:
    if not name:
        return None
    found = {v.name: v for v in declared_views(entity)}
    if name in found:
        return found[name]
    problems.append(Problem("view", _("view: “%(name)s” is not a view of %(entity)s; views: "
                                      "%(allowed)s.", name=name, entity=_text(entity.plural),
                                      allowed=", ".join(found) or "—"), "view"))
    return None


def timed_workflows(entity: Entity) -> list[Workflow]:
    """The entity's workflows with a stage that has `max_days`: what `late=` may name."""
    from karte.web import registry

    return [flow for flow in registry().workflows.values() if flow.entity == entity.name
            and flow.field in entity.fields
            and any(s.max_days is not None for s in flow.stages)]


def _late(entity: Entity, name: str, problems: list[Problem]) -> Workflow | None:
    if not name:
        return None
    flows = {flow.name: flow for flow in timed_workflows(entity)}
    if name in flows:
        return flows[name]
    problems.append(Problem("late", _("late: “%(name)s” is not a workflow of %(entity)s with "
                                      "a time limit on a stage; use one of: %(allowed)s.",
                                      name=name, entity=_text(entity.plural),
                                      allowed=", ".join(flows) or "—"), "late"))
    return None


def _text(value: Any) -> str:
    from karte.web import text

    return text(value)


def _columns(entity: Entity, raw: list[str], problems: list[Problem]) -> tuple[str, ...]:
    """`cols=a,b` (or `cols=a&cols=b`, as checkboxes send it): fields the user sees."""
    names = [n.strip() for value in raw for n in value.split(",") if n.strip()]
    offered = set(filterable(entity)) - set(SYSTEM_FILTERS) - {"id"}
    bad = [n for n in names if n not in offered or entity.lookup(n) is None]
    if bad:
        problems.append(Problem("cols", _("cols: “%(name)s” is not a column that can be "
                                          "shown; columns: %(allowed)s.", name=bad[0],
                                          allowed=", ".join(n for n in entity.fields
                                                            if n in offered)), "cols"))
    return tuple(dict.fromkeys(n for n in names if n not in bad))


def _page(raw: str, problems: list[Problem]) -> int:
    """1, 2, ... from the start; `last`, `last-1`, ... from the end, kept as -1, -2, ..."""
    text = raw.strip()
    if not text:
        return 1
    last, _dash, back = text.partition("-") if text.startswith("last") else ("", "", "")
    if last == "last" and (not _dash or back.isdecimal()) and len(text) <= 15:
        number = 1 + (int(back) if _dash else 0)
        if number <= MAX_PAGE:
            return -number
    elif text.isdecimal() and len(text) <= 10 and 1 <= int(text) <= MAX_PAGE:
        return int(text)
    problems.append(Problem("page", _("page: “%(value)s” is not a page number; pages "
                                      "are counted from 1.", value=raw), "page"))
    return 1


def page_param(page: int) -> str | None:
    """The URL value of a page: None for the first, `last`/`last-N` from the end."""
    if page == 1:
        return None
    if page < 0:
        return "last" if page == -1 else f"last-{-page - 1}"
    return str(page)


def _filter(entity: Entity, param: str, value: str) -> Filter:
    from karte.web import text
    from karte.web.messages import hint, noun

    name, _dot, op = param[len(PREFIX):].partition(".")
    field = entity.lookup(name) if name in filterable(entity) else None
    if field is None:
        raise _refused(param, _("“%(name)s” is not a field of %(entity)s%(hint)s; fields "
                                "that can be filtered: %(allowed)s.", name=name,
                                entity=noun(text(entity.label)),
                                hint=hint(name, filterable(entity)),
                                allowed=", ".join(filterable(entity))))
    op = op or "eq"
    fits = fitting_ops(field)
    if op not in OPS:
        raise _refused(param, _("“%(op)s” is not a filter operator%(hint)s; use one of "
                                "%(allowed)s.", op=op, hint=hint(op, OPS),
                                allowed=", ".join(fits)))
    if op not in fits:
        raise _refused(param, _("“%(op)s” does not fit %(name)s (%(type)s); operators that "
                                "fit: %(allowed)s.", op=op, name=noun(text(field.label)),
                                type=field.type, allowed=", ".join(fits)))
    return Filter(param, field, op, value)


def _refused(param: str, message: str) -> InvalidQuery:
    return InvalidQuery([Problem(param, f"{param}: {message}", "filter")])


def _type_check(entity: Entity, filters: Iterable[Filter]) -> None:
    """Each filter's value checked by the condition language, so a value that does not
    coerce is reported against its own parameter ("f.amount.gte: "abc" does not fit…"),
    in the UI language."""
    from karte.web import registry
    from karte.web.messages import query_message

    problems = []
    for item in filters:
        try:
            raw = item.condition()
        except InvalidQuery as error:
            problems += error.problems
            continue
        _parsed, found = conditions.parse(raw, entity, registry().entities, "", "")
        problems += [Problem(item.param, f"{item.param}: {query_message(entity, p, item.field)}",
                             p.code) for p in found]
    if problems:
        raise InvalidQuery(problems)


def _condition_op(field: Field, op: str) -> str:
    """"eq" on a set (multi_enum, links) means "has this one": contains."""
    kind = TYPES[field.type]
    if op == "eq" and "=" not in kind.ops and "contains" in kind.ops:
        return "contains"
    return OPS.get(op, op)


def _emptiness(item: Filter) -> str:
    answer = item.value.strip().lower()
    if answer in YES:
        return "empty"
    if answer in NO:
        return "not_empty"
    raise _refused(item.param, _("use 1 for empty or 0 for not empty, not “%(value)s”.",
                                 value=item.value))


def _token(field: Field, value: str) -> str:
    """"me" on a user field is the signed-in user."""
    return "$me" if field.type == "user" and value.lower() == ME else value


def _whole_days(field: Field, op: str, value: str) -> dict[str, Any]:
    """A date typed for a datetime field means that whole (UTC) day: `lte` a day takes in
    the day's evening, `gt` a day starts the day after."""
    if field.type != "datetime" or op not in ("<=", ">", "=", "!=") or not _is_day(value):
        return {"field": field.name, "op": op, "value": value}
    through, after = ({"field": field.name, "op": o, "value": v} for o, v in _day_end(value))
    if op in ("<=", ">"):
        return through if op == "<=" else after
    day = {"all": [{"field": field.name, "op": ">=", "value": value}, through]}
    return day if op == "=" else {"not": day}


def _day_end(value: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """(op, value) for "until the end of this day" and for "after it": before and from
    the next day — or, on the calendar's last day (9999-12-31, which has no next day), up
    to and after its last microsecond."""
    day = dt.date.fromisoformat(value)
    if day == dt.date.max:
        last = dt.datetime.combine(day, dt.time.max, dt.UTC).isoformat()
        return ("<=", last), (">", last)
    following = (day + dt.timedelta(days=1)).isoformat()
    return ("<", following), (">=", following)


def _is_day(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


# ---------------------------------------------------------------- filter widgets

RANGE_INPUTS = {"integer": "number", "decimal": "number", "money": "number",
                "percent": "number", "date": "date", "datetime": "date"}
TEXT_TYPES = frozenset({"string", "text", "email", "phone", "url"})


@dataclass(frozen=True)
class Widget:
    """One filter of the toolbar: a select (`kind` "select"), a from–to pair ("range",
    `input` the HTML input type) or a contains box ("text"), with its parameter names and
    the values shown in it now."""

    label: str
    kind: str
    params: tuple[str, ...]
    values: tuple[str, ...]
    options: tuple[tuple[str, str], ...] = ()
    input: str = "text"
    target: str = ""                  # "picker": the linked entity, the chosen one's title
    text: str = ""


def widgets(entity: Entity, args: MultiDict) -> list[Widget]:
    """The filters the pack offers (`list.filters`), each fitting its field's type."""
    from karte.web import text
    from karte.web.list_pickers import resolved

    try:
        args = resolved(entity, args)     # a typed title shows as the record it names
    except InvalidQuery:
        pass
    found = []
    offered = set(filterable(entity))
    for name in entity.list.filters:
        if name in entity.fields and name not in offered:
            continue                  # hidden from the user
        field = entity.lookup(name)
        if field is None:
            continue
        made = _widget(field, text(field.label), f"{PREFIX}{name}", args)
        if made is not None:
            found.append(made)
    return found


def _widget(field: Field, label: str, param: str, args: MultiDict) -> Widget | None:
    field = field.as_value()          # a formula is filtered as its result type
    if field.type in RANGE_INPUTS:
        params = (f"{param}.gte", f"{param}.lte")
        return Widget(label, "range", params, tuple(args.get(p, "") for p in params),
                      input=RANGE_INPUTS[field.type])
    if field.type in TEXT_TYPES:
        return Widget(label, "text", (f"{param}.contains",),
                      (args.get(f"{param}.contains", ""),))
    current = args.get(param, "")
    options = _options(field, current)
    if options is None:
        if field.type in ("link", "links") and _readable(field.to or ""):
            from karte.web.list_pickers import title_of
            return Widget(label, "picker", (param,), (current,), target=field.to_entity,
                          text=title_of(field.to_entity, current))
        return None
    return Widget(label, "select", (param,), (current,), tuple(options))


def _options(field: Field, current: str) -> list[tuple[str, str]] | None:
    """(value, label) choices of a select filter; None when the type has no select (or a
    link's target is not readable by the actor)."""
    from karte.web import text

    if field.type in ("enum", "multi_enum"):
        return [(o.key, text(o.label)) for o in field.options]
    if field.type == "boolean":
        return [("1", _("Yes")), ("0", _("No"))]
    if field.type == "user":
        return [(ME, _("Me")), *_users()]
    if field.type in ("link", "links"):
        return _records(field.to or "", current)
    return None


def _users() -> list[tuple[str, str]]:
    from karte.web import active_users

    return [(str(id), name) for id, name in active_users()]


def _readable(target: str) -> bool:
    from karte.store.lookup import can_read
    from karte.web import actor, records

    return can_read(records().store, target, actor())


def _records(target: str, current: str) -> list[tuple[str, str]] | None:
    """Every readable target by title when they are few (web/list_pickers.py), plus the
    one chosen now; None when the actor may not read them or they are too many for a
    <select> (the filter is a type-ahead then)."""
    from karte.web.list_pickers import choices

    return choices(target, current) if _readable(target) else None
