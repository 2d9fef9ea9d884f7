"""The list page of every entity (SPEC §3.3, §11): one generic view, parameterised by name.

`/<entity>/` shows a page of records with the pack's columns, the search box, filters
fitting each field type, sortable headers and a pager; the whole state lives in the URL, so
a list can be bookmarked and the back button works. htmx asks for the rows alone (the same
template's partial). Counting stops at a cap (`KARTE_LIST_COUNT_CAP`, default 10,000), so a
keystroke in the search box never counts a million rows. `/export.csv` and `/export.xlsx`
(karte.web.export) export the same view, and `/bulk-delete` soft-deletes the ticked records
one by one through the service.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    request,
    url_for,
)
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from markupsafe import Markup

from karte.fields import TYPES, record_id
from karte.meta.model import Entity, Field, Permission
from karte.problems import Problem
from karte.store.errors import InvalidQuery, RecordError
from karte.store.lookup import titles
from karte.store.permissions import forbidden, rights
from karte.web import (
    actor,
    entity_or_404,
    is_fragment,
    list_summary,
    list_table,
    records,
    render,
    reports,
    signed_in_actor,
    subtitles,
    text,
)
from karte.web.derived import numeric
from karte.web.display import Refs, references, show
from karte.web.field_access import seen
from karte.web.list_pager import Item, numbered
from karte.web.list_params import ListQuery, declared_views, parse, widgets
from karte.web.list_summary import Grouped
from karte.web.messages import query_problems

blueprint = Blueprint("lists", __name__)

COUNT_CAP = 10_000
MAX_BULK = 1000


@dataclass(frozen=True)
class Column:
    name: str
    field: Field
    label: str
    numeric: bool
    title: bool
    sort_url: str | None          # None: the column cannot be sorted
    sorted: str | None            # "ascending" / "descending" when the list is sorted by it


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    refs: Refs
    first: int
    last: int
    total: int
    capped: bool
    has_next: bool


def _readable(name: str) -> tuple[Entity, Permission]:
    """The entity and the actor's rights on it: 404 unknown, 403 when not readable."""
    entity = entity_or_404(name)
    allowed = rights(records().store, entity, actor())
    if not allowed.read:
        raise forbidden(entity, signed_in_actor(), "read")
    if entity.part_of is not None:     # lines are written through their parent (SPEC §3.5)
        allowed = replace(allowed, create=False, update=False, delete=False)
    return entity, allowed


def _link(entity: Entity, query: ListQuery, endpoint: str = "lists.index", **changes: Any) -> str:
    """The URL of this list (or its export) with `q`/`sort`/`page` changed."""
    pairs = query.args(**changes)
    base = url_for(endpoint, entity=entity.name)
    return base + (f"?{urlencode(pairs)}" if pairs else "")


@blueprint.get("/<entity>/")
def index(entity: str):
    ent, allowed = _readable(entity)
    try:
        query = parse(ent, request.args)
        page = _page(ent, query)
        grouped = _grouped(ent, query, page)
    except InvalidQuery as error:
        return _show(ent, allowed, ListQuery(), None, query_problems(ent, error.problems),
                     400)
    response = _show(ent, allowed, query, page, [], 200, grouped)
    if is_fragment():
        response.headers["HX-Push-Url"] = _link(ent, query)
    return response


def _show(entity: Entity, allowed: Permission, query: ListQuery, page: Page | None,
          problems: list[Problem], status: int, grouped: Grouped | None = None):
    current = sorting(entity, query) or entity.list.sort
    columns = _columns(entity, query, current)
    select_all = request.args.get("select") == "page"
    pick = bool(allowed.delete or allowed.update)
    body = [] if page is None else list_table.rows(
        entity, columns, page.rows, page.refs, pick=pick, ticked=select_all,
        subtitles=subtitles.parts(entity, page.rows, page.refs))
    return render("list.html", "_partials/list_rows.html", status, entity=entity,
                  allowed=allowed, query=query, listing=page, problems=problems,
                  columns=columns, body=body, sort=query.sort or "", pick=pick,
                  totals=_totals(entity, query, columns, page),
                  grouped=grouped,
                  grouping=[] if is_fragment() else list_summary.choices(entity, query),
                  totals_label=_totals_label(page),
                  column_choices=[] if is_fragment() else _column_choices(entity, columns),
                  setters=list_bulk.choices(entity) if allowed.update and page else [],
                  views=list_views.bar(entity, query), tabs_oob=is_fragment(),
                  pages=_numbers(entity, query, page),
                  widgets=[] if is_fragment() else widgets(entity, request.args),
                  summary=_summary(page),
                  list_url=url_for("lists.index", entity=entity.name),
                  back=_link(entity, query), exports=export.links(entity, query),
                  first_url=_link(entity, query, page=None),
                  **_pager(entity, query, page),
                  select_all=select_all, state=query.state(),
                  clear_url=url_for("lists.index", entity=entity.name),
                  unlate_url=_link(entity, query, late=None, page=None),
                  undrill_url=_link(entity, query, drill=None, page=None),
                  mine_field=entity.owner_field)


def sorting(entity: Entity, query: ListQuery) -> str | None:
    """The sort asked for, else the chosen declared view's, else None (the list's)."""
    if query.sort:
        return query.sort
    view = next((v for v in declared_views(entity) if v.name == query.view), None)
    return view.sort if view else None


def _totals(entity: Entity, query: ListQuery, columns: list[Column],
            page: Page | None) -> dict[str, Markup]:
    """Each shown money column's total over the whole filter, formatted (one query; a
    field hidden from the role is never summed). Nothing to sum on an empty list."""
    if page is None or not page.rows:
        return {}
    names = [c.name for c in columns if c.field.as_value().type == "money"]
    if not names:
        return {}
    sums = records().totals(entity.name, names, where=query.where(), search=query.q or None,
                            actor=actor(), quick=page.capped)
    if sums is None:             # more rows than the count goes to: not summed
        return {name: Markup('<span class="muted" title="%s">…</span>') % _(
            "Too many records to total: narrow the list to at most %(cap)s.",
            cap=format_decimal(int(current_app.config.get("KARTE_LIST_COUNT_CAP",
                                                          COUNT_CAP))))
                for name in names}
    return {name: show(entity.fields[name], value) for name, value in sums.items()}


def _grouped(entity: Entity, query: ListQuery, page: Page) -> Grouped | None:
    """The grouped summary `group=` asks for, over the same filter and search (one
    grouped query); None when no group is asked or the list is empty."""
    if not query.group or not page.rows:
        return None
    groups, measures = list_summary.resolve(entity, query.group, query.aggs)
    summary = reports().summary(entity.name, groups, measures, where=query.where(),
                                search=query.q or None, actor=actor())
    plain = _link(entity, query, page=None, group=None, agg=None)
    return list_summary.grouped(entity, summary,
                                lambda params: plain + ("&" if "?" in plain else "?")
                                + urlencode(params) if params else plain)


def _totals_label(page: Page | None) -> str:
    """"Total", or "Total of all 1,234" when the rows shown are not all there are."""
    if page is None or (page.first == 1 and not page.has_next):
        return _("Total")
    return _("Total of all %(count)s",
             count=format_decimal(page.total) + ("+" if page.capped else ""))


def _column_choices(entity: Entity, columns: list[Column]) -> list[tuple[str, str, bool]]:
    """(field, label, shown) of every field the user sees, for the columns chooser: the
    shown columns first, in their order (so the form sends them as they are), then the
    others."""
    shown = [c.name for c in columns if c.name in entity.fields]
    others = [name for name in seen(entity, entity.fields) if name not in shown]
    return [(name, text(entity.fields[name].label), name in shown)
            for name in [*shown, *others]]


def _numbers(entity: Entity, query: ListQuery, page: Page | None) -> list[Item]:
    if page is None or not page.rows:
        return []
    return numbered(query.page, entity.list.page_size, page.total, page.capped,
                    page.has_next, lambda n: _link(entity, query, page=n))


def _pager(entity: Entity, query: ListQuery, page: Page | None) -> dict[str, Any]:
    """Previous / next links and the page's name (the numbers: `list_pager`). Pages
    counted from the end (`last`, `last-1`, ...: -1, -2, ...) step towards the end with
    "next"."""
    more = page is not None and page.has_next      # rows after (from the start) or before
    number = query.page
    if number < 0:
        prev, after = (number - 1 if more else None), (number + 1 if number < -1 else None)
        label = _("Last page") if number == -1 else _("Page %(num)s from the end",
                                                     num=-number)
    else:
        prev, after = (number - 1 if number > 1 else None), (number + 1 if more else None)
        label = _("Page %(num)s", num=number)
    return {"prev_url": prev and _link(entity, query, page=prev),
            "next_url": after and _link(entity, query, page=after),
            "page_label": label}


def _page(entity: Entity, query: ListQuery) -> Page:
    """One page (one row more is read to know whether a next page exists); the count is
    only asked for when the page does not tell it, and then capped."""
    size = entity.list.page_size
    from_end = query.page < 0
    offset = (abs(query.page) - 1) * size
    found = records().query(entity.name, where=query.where(), search=query.q or None,
                            sort=sorting(entity, query), limit=size + 1, offset=offset,
                            actor=actor(), reverse=from_end, links=_shown(entity, query))
    rows, has_next = found[:size], len(found) > size
    if from_end:    # read backwards from the end (never skipping the rows before it)
        return _from_end(entity, query, rows[::-1], offset, has_next)
    if has_next or (offset and not rows):
        total, capped = _count(entity, query)
        total = max(total, offset + len(rows))
    else:
        total, capped = offset + len(rows), False
    return Page(rows, _refs(entity, rows, query), offset + 1,
                offset + len(rows), total, capped, has_next)


def _from_end(entity: Entity, query: ListQuery, rows: list[dict[str, Any]], offset: int,
              has_before: bool) -> Page:
    """A page counted from the end: its rows' places when the (capped) count knows the
    total, else counted from the end (`first` and `last` negative)."""
    if has_before or offset:
        total, capped = _count(entity, query)
        total = max(total, offset + len(rows)) if capped else total
    else:
        total, capped = len(rows), False
    if capped:
        first, last = -(offset + len(rows)), -(offset + 1)
    else:
        first, last = total - offset - len(rows) + 1, total - offset
    return Page(rows, _refs(entity, rows, query), first, last, total,
                capped, has_before)


def _refs(entity: Entity, rows: list[dict[str, Any]], query: ListQuery) -> Refs:
    """Link titles and user names of the shown columns and of the rows' subtitles, in
    the same queries (one per target entity, one for users)."""
    return references(entity, rows, _shown(entity, query))


def _shown(entity: Entity, query: ListQuery) -> list[str]:
    """The fields a list page shows of its rows: its columns and the rows' subtitles."""
    return [*_column_names(entity, query), *subtitles.names(entity)]


def _count(entity: Entity, query: ListQuery) -> tuple[int, bool]:
    cap = int(current_app.config.get("KARTE_LIST_COUNT_CAP", COUNT_CAP))
    found = records().count(entity.name, where=query.where(), search=query.q or None,
                            actor=actor(), cap=cap + 1)
    return min(found, cap), found > cap


def _summary(page: Page | None) -> str:
    """"1–50 of 1,234", or "of 10,000+" when the count stopped at its cap."""
    if page is None or not page.rows:
        return ""
    total = format_decimal(page.total) + ("+" if page.capped else "")
    if page.first < 0:
        return _("%(first)s–%(last)s from the end, of %(total)s",
                 first=format_decimal(-page.last), last=format_decimal(-page.first),
                 total=total)
    return _("%(first)s–%(last)s of %(total)s", first=format_decimal(page.first),
             last=format_decimal(page.last), total=total)


def _column_names(entity: Entity, query: ListQuery) -> list[str]:
    """The chosen columns (`cols`), else the declared view's, else the configured ones;
    the title first when they leave it out, since it is the way to the card."""
    view = next((v for v in declared_views(entity) if v.name == query.view), None)
    chosen = query.columns or (view.columns if view else ()) or entity.list.columns
    names = [n for n in seen(entity, chosen) if entity.lookup(n) is not None]
    if entity.part_of is not None and entity.part_of not in names:
        names.insert(0, entity.part_of)            # a line's way to its document
    title = entity.title_field
    return names if title in names or entity.lookup(title) is None else [title, *names]


def _columns(entity: Entity, query: ListQuery, current: str) -> list[Column]:
    columns = []
    for name in _column_names(entity, query):
        field = entity.lookup(name)
        if field is None:        # _column_names keeps only names that are fields
            continue
        kind = TYPES[field.type]
        toggled = f"-{name}" if current == name else name
        sorted_as = {name: "ascending", f"-{name}": "descending"}.get(current)
        columns.append(Column(name, field, text(field.label), numeric(field),
                              name == entity.title_field,
                              _link(entity, query, sort=toggled, page=None)
                              if kind.orderable else None, sorted_as))
    return columns


# ---------------------------------------------------------------- bulk delete

@blueprint.post("/<entity>/bulk-delete")
def bulk_delete(entity: str):
    """Soft-delete the ticked records one by one; says how many went and why the others
    did not, then goes back to the list as it was (303)."""
    ent, _allowed = _readable(entity)
    back = _back(ent, request.form.get("back", ""))
    ids = _ids(request.form.getlist("ids"))
    if not ids:
        flash(_("Select at least one record to delete."))
        return redirect(back, 303)
    for message in _delete_each(ent, ids):
        flash(message)
    return redirect(back, 303)


def _back(entity: Entity, raw: str) -> str:
    """Only this list's own URL (with its query) is a place to go back to."""
    home = url_for("lists.index", entity=entity.name)
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or parts.path != home or "\\" in raw:
        return home
    return home + (f"?{parts.query}" if parts.query else "")


def _ids(raw: list[str]) -> list[int]:
    if len(raw) > MAX_BULK:
        raise InvalidQuery([Problem("ids", _("Delete at most %(max)d records at once.",
                                              max=MAX_BULK), "ids")])
    ids = []
    for value in raw:
        id = record_id(value)
        if id is None:
            raise InvalidQuery([Problem("ids", _("“%(value)s” is not a record id.",
                                                  value=value), "ids")])
        ids.append(id)
    return list(dict.fromkeys(ids))


def _delete_each(entity: Entity, ids: list[int]) -> list[str]:
    """Each record deleted in its own transaction, so one refusal stops only itself."""
    names = titles(records().store, entity.name, ids, actor())
    gone: set[int] = set()
    refused: list[str] = []
    for id in ids:
        if id in gone:                 # went along with an earlier one (cascade)
            continue
        try:
            deleted = records().delete(entity.name, id, actor=actor())
        except RecordError as error:
            who = f"“{names[id]}” (#{id})" if names.get(id) else f"#{id}"
            refused += [f"{who}: {p.message}" for p in error.problems]
            continue
        gone.update(deleted.get(entity.name, [id]))
    count = len(gone & set(ids))
    messages = [ngettext("Deleted %(num)d record.", "Deleted %(num)d records.", count)]
    failed = len(ids) - count
    if failed:
        messages.append(ngettext("%(num)d record was not deleted:",
                                 "%(num)d records were not deleted:", failed))
    return messages + refused


from karte.web import export, list_bulk, list_views  # noqa: E402,F401  (their routes join this blueprint)
