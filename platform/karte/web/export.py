"""`/<entity>/export.csv` and `/<entity>/export.xlsx` (SPEC §14 "Export"): every record of
the list's current view — its filters, search, sort, the user's read scope and the fields
they may see — as shown on screen (labels, titles, user names, in the UI language and the
user's timezone) or raw with `?raw=1` (keys, ids, emails, ISO dates). The rows come from
`karte.transfer.export` by keyset, one batch at a time: the CSV is streamed as it is read,
the XLSX is written to a temporary file that is then streamed back, so the server's memory
holds one batch whatever the table's size. A bad view is a 400 page before anything is
sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO
from zoneinfo import ZoneInfo

from flask import Response, current_app, request, stream_with_context

from karte.meta.dashboards import GroupBy
from karte.meta.model import Entity, Field, Text
from karte.reports.summary import Group, Line
from karte.store.errors import InvalidQuery
from karte.transfer import export as rows_of
from karte.transfer import xlsx
from karte.web import actor, list_summary, locale, records, registry, reports, text, timezone
from karte.web.errors import problem_page
from karte.web.i18n import gettext
from karte.web.list_params import ListQuery, parse
from karte.web.lists import _link, _readable, blueprint, sorting
from karte.web.messages import query_problems

EXPORT_BATCH = rows_of.BATCH
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 64 * 1024
RAW = ("1", "true", "yes", "on")


def links(entity: Entity, query: ListQuery) -> dict[str, str]:
    """The export control's links: CSV and XLSX of the view, as shown and raw."""
    found = {}
    for kind, endpoint in (("csv", "lists.export"), ("xlsx", "lists.export_xlsx")):
        url = _link(entity, query, endpoint, page=None)
        found[kind] = url
        found[f"{kind}_raw"] = url + ("&" if "?" in url else "?") + "raw=1"
    return found


def look() -> rows_of.Look:
    """Raw with `?raw=1`; else as shown in the UI language and the user's timezone."""
    return rows_of.Look(raw=request.args.get("raw", "").strip().lower() in RAW,
                        gettext=gettext, locale=locale(), pack_locale=registry().locale,
                        zone=ZoneInfo(timezone()))


def _rows(entity: Entity, query: ListQuery, shown: rows_of.Look) -> rows_of.Rows:
    if query.group:
        return _summary_rows(entity, query, shown)
    size = int(current_app.config.get("KARTE_EXPORT_BATCH", EXPORT_BATCH))
    return rows_of.open_rows(records(), entity, look=shown, where=query.where(),
                             search=query.q or None, sort=sorting(entity, query),
                             actor=actor(), batch=size)


def _summary_rows(entity: Entity, query: ListQuery, shown: rows_of.Look) -> rows_of.Rows:
    """The grouped summary (`group=`, `agg=`) as the rows of an export: a column per group
    level, the count, a column per aggregate; subtotal and total rows say so in the first
    column. Numbers stay numbers (a spreadsheet adds them up)."""
    groups, measures = list_summary.resolve(entity, query.group, query.aggs)
    summary = reports().summary(entity.name, groups, measures, where=query.where(),
                                search=query.q or None, actor=actor())
    levels = [list_summary.level_label(entity, g) for g in groups]
    fields = [*(Field(f"g{i}", "string", Text.of(label)) for i, label in enumerate(levels)),
              Field("count", "integer", Text.of(gettext("Count"))),
              *(m.field for m in measures if m.field is not None)]
    header = [*levels, gettext("Count"), *(list_summary.measure_label(m) for m in measures)]
    body = [_summary_line(groups, line, len(levels), shown)
            for line in (*summary.lines, summary.total)]
    return rows_of.Rows(fields, header, body, iter(()))


def _summary_line(groups: list[GroupBy], line: Line, width: int,
                  shown: rows_of.Look) -> list[rows_of.Cell]:
    if line.kind == "total":
        names: list[rows_of.Cell] = [gettext("Total"), *[""] * (width - 1)]
    else:
        names = [_group_cell(g, value, shown)
                 for g, value in zip(groups, line.groups, strict=False)]
        if line.kind == "subtotal":
            names = [gettext("Subtotal: %(group)s", group=names[0]), *[""] * (width - 1)]
    return [*names, line.count, *line.values]


def _group_cell(group: GroupBy, value: Group, shown: rows_of.Look) -> str:
    if shown.raw:
        return value.key
    return list_summary.group_label(group, value)


def _attachment(response: Response, entity: Entity, extension: str) -> Response:
    name = rows_of.file_name(entity, ZoneInfo(timezone()), extension)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@blueprint.get("/<entity>/export.csv")
def export(entity: str):
    """The view as CSV (UTF-8 with a BOM), streamed batch by batch."""
    ent, _allowed = _readable(entity)
    try:
        query = parse(ent, request.args)
        chunks = rows_of.csv_chunks(_rows(ent, query, look()))   # reads the first batch
    except InvalidQuery as error:      # each message starts with its parameter
        return problem_page(400, [("", p.message) for p in query_problems(ent, error.problems)])
    response = Response(stream_with_context(chunks),
                        content_type="text/csv; charset=utf-8")
    return _attachment(response, ent, "csv")


@blueprint.get("/<entity>/export.xlsx")
def export_xlsx(entity: str):
    """The view as an XLSX workbook, written to a temporary file streamed back."""
    import tempfile

    ent, _allowed = _readable(entity)
    shown = look()
    try:
        query = parse(ent, request.args)
        rows = _rows(ent, query, shown)
    except InvalidQuery as error:
        return problem_page(400, [("", p.message) for p in query_problems(ent, error.problems)])
    out = tempfile.TemporaryFile()     # gone when closed, even if the server stops
    try:
        xlsx.write(rows, out, title=text(ent.plural), raw=shown.raw)
        size = out.tell()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    response = Response(_sent(out), content_type=XLSX_TYPE)
    response.headers["Content-Length"] = str(size)
    return _attachment(response, ent, "xlsx")


def _sent(out: IO[bytes]) -> Iterator[bytes]:
    """The file in chunks, closed (and so deleted) at the end or when the client goes."""
    try:
        while chunk := out.read(CHUNK):
            yield chunk
    finally:
        out.close()
