"""Meaning checks of the keys that shape the work surface (SPEC §1 `nav`, §3.3 `subtitle`
and to-dos, §3.7 `views` and `board`).

Each names fields, workflows or dashboards that must exist and fit where they are shown.
"""

from __future__ import annotations

from collections.abc import Iterator

from karte.fields import TYPES
from karte.meta.model import Entity, Field, Workflow
from karte.meta.raw import Doc
from karte.meta.validate.context import Ctx, entries, repeats
from karte.problems import Problem, a_an, at, did_you_mean, pointer

MAX_SUBTITLE = 3
VIEW_COLUMNS = ("id", "created_at", "updated_at", "created_by", "updated_by")
VIEW_SORT = ("id", "created_at", "updated_at")


def _shown_field(ctx: Ctx, entity: Entity, name: str, file: str, where: str,
                 unknown: str, system: tuple[str, ...] = ()) -> Iterator[Problem]:
    """A field shown as a short value: it must exist and hold something a line can show."""
    if name in system:
        return
    field: Field | None = entity.fields.get(name)
    if name not in ctx.field_names(entity.name):
        yield at(file, where, ctx.unknown_field(entity, name, system), unknown)
    elif field is not None and field.type in ("lines", "text", "file"):
        yield at(file, where, f'"{name}" is {a_an(field.type)} field; only short values '
                 "(not text, lines or file fields) can be shown there", "DEF032")


def check_subtitle(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    names = entries(doc.data, "subtitle")
    for index, name in names:
        where = pointer("subtitle", index)
        if name == entity.title_field:
            yield at(doc.file, where, f'"{name}" is the title field; the subtitle shows other '
                     "fields, under the title", "DEF114")
            continue
        yield from _shown_field(ctx, entity, name, doc.file, where, "DEF114")
    for index in repeats(names):
        yield at(doc.file, pointer("subtitle", index), f'"{names[index][1]}" is listed twice',
                 "DEF034")


def check_done(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    item = doc.data.get("timeline_item")
    name = item.get("done") if isinstance(item, dict) else None
    if not isinstance(name, str):
        return
    field = entity.fields.get(name)
    if name not in ctx.field_names(entity.name):
        yield at(doc.file, "/timeline_item/done", ctx.unknown_field(entity, name), "DEF037")
    elif field is not None and field.type != "boolean":
        yield at(doc.file, "/timeline_item/done", f'"{name}" is {a_an(field.type)} field; '
                 "timeline_item.done is a boolean field (true once the to-do is done)",
                 "DEF032")


def check_views(ctx: Ctx, entity: Entity, doc: Doc) -> Iterator[Problem]:
    views = entries(doc.data, "views")
    names = [(index, view.get("name")) for index, view in views if isinstance(view, dict)]
    for index in repeats(names):
        yield at(doc.file, pointer("views", index, "name"), f'two views are named '
                 f'"{names[index][1]}"; give each view its own name', "DEF115")
    for index, view in views:
        if not isinstance(view, dict):
            continue
        for column, name in entries(view, "columns"):
            yield from _view_field(ctx, entity, doc, name, VIEW_COLUMNS,
                                   pointer("views", index, "columns", column))
        sort = view.get("sort")
        if isinstance(sort, str):
            name = sort.lstrip("-")
            where = pointer("views", index, "sort")
            field = entity.fields.get(name)
            if field is not None and not TYPES[field.type].orderable:
                yield at(doc.file, where, f'"{name}" is {a_an(field.type)} field; lists '
                         "cannot be sorted by it", "DEF032")
            else:
                yield from _view_field(ctx, entity, doc, name, VIEW_SORT, where)


def _view_field(ctx: Ctx, entity: Entity, doc: Doc, name: str, system: tuple[str, ...],
                where: str) -> Iterator[Problem]:
    field = entity.fields.get(name)
    if name in system:
        return
    if name not in ctx.field_names(entity.name):
        yield at(doc.file, where, ctx.unknown_field(entity, name, system), "DEF116")
    elif field is not None and field.type == "lines":
        yield at(doc.file, where, f'"{name}" is a lines field; a list shows no lines',
                 "DEF032")


def check_board(ctx: Ctx, workflow: Workflow, doc: Doc) -> Iterator[Problem]:
    entity = ctx.pack.entities.get(workflow.entity)
    if entity is None:
        return
    names = entries(doc.data, "board", "fields")
    for index, name in names:
        where = pointer("board", "fields", index)
        field = entity.fields.get(name)
        if name not in ctx.field_names(entity.name):
            yield at(doc.file, where, ctx.unknown_field(entity, name), "WF042")
        elif field is not None and field.type in ("lines", "text", "file"):
            yield at(doc.file, where, f'"{name}" is {a_an(field.type)} field; a board card '
                     "shows short values only", "WF043")
    for index in repeats(names):
        yield at(doc.file, pointer("board", "fields", index),
                 f'"{names[index][1]}" is listed twice', "WF043")


def check_nav(ctx: Ctx) -> Iterator[Problem]:
    """Every menu item names an entity, a workflow's board or a dashboard file."""
    data = ctx.raw.pack.data
    groups = data.get("nav") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        return
    seen: set[str] = set()
    for group_index, group in enumerate(groups):
        for index, item in entries(group, "items"):
            if not isinstance(item, str):
                continue
            where = pointer("nav", group_index, "items", index)
            if reason := _nav_problem(ctx, item):
                yield at(ctx.raw.pack.file, where, reason, "DEF117")
            elif item in seen:
                yield at(ctx.raw.pack.file, where, f'"{item}" is already in the menu', "DEF034")
            seen.add(item)


def _nav_problem(ctx: Ctx, item: str) -> str | None:
    kind, _, name = item.rpartition(":")
    if kind == "board":
        boards = list(ctx.raw.workflows)
        if name not in boards:
            return f'no workflow "{name}"{did_you_mean(name, boards)}; a board item is ' \
                   "board:<workflow file name>"
    elif kind == "dashboard" and name not in ctx.raw.dashboards:   # merged: removals gone
        if name in _removed_dashboards(ctx):
            return f'dashboard "{name}" is removed by this client pack; take it out of the ' \
                   "menu, or delete the removing file"
        return f'no dashboard "{name}"{did_you_mean(name, ctx.raw.dashboards)} in dashboards/'
    elif kind != "dashboard" and name not in ctx.entity_names:
        return f"{ctx.unknown_entity(name)}; a menu item is an entity name, " \
               "board:<workflow> or dashboard:<name>"
    return None


def _removed_dashboards(ctx: Ctx) -> set[str]:
    """Names of base dashboards a client file `{"remove": true}` takes out."""
    return {doc.file.rpartition("/")[2].removesuffix(".json") for doc in ctx.raw.files
            if doc.kind == "dashboard" and isinstance(doc.data, dict)
            and doc.data.get("remove") is True}
