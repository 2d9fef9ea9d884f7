"""The import wizard `/<entity>/import` (SPEC §14, §11.2): upload → mapping → dry run →
run → report, each step a plain form page (htmx only makes them smooth).

The views parse the request and call `karte.transfer` (reading, mapping, the import engine);
they never touch the database themselves. Only users who may create records of the entity
reach these pages. The uploaded file is kept under a random name between the steps
(web/import_files.py); the mapping travels in the forms, so a bad choice comes back with
every other choice kept. A run becomes a batch whose report lives at
`/<entity>/import/<batch>`: a large import runs in the background and that page shows its
progress (htmx asks again every second; without JavaScript, a "Refresh" link).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from itertools import islice
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response as Answer

from karte.meta.model import Entity
from karte.store.errors import RecordError
from karte.store.permissions import forbidden, rights
from karte.transfer import imports as engine
from karte.transfer.mapping import match_columns
from karte.transfer.read import ReadError, Sheet, open_sheet
from karte.web import (
    actor,
    entity_or_404,
    is_fragment,
    records,
    registry,
    render,
    signed_in_actor,
    workflows,
)
from karte.web import import_files as files
from karte.web.errors import problem_page
from karte.web.import_form import Choices, MappingForm, choices, posted, prefilled
from karte.web.import_messages import (
    duplicate_rows,
    preview_rows,
    problem_rows,
    read_error,
)

blueprint = Blueprint("imports", __name__)
SAMPLES = 3


def _services() -> Any:
    return workflows()


def _importing(name: str) -> Entity:
    """The entity, when the user may create its records (404 unknown or a part, 403)."""
    entity = entity_or_404(name)
    if entity.part_of is not None:
        abort(404)
    if not rights(records().store, entity, actor()).create:
        raise forbidden(entity, signed_in_actor(), "create")
    return entity


def _user_id() -> int | None:
    return signed_in_actor().id


def _go(url: str):
    """To the next step: a 303, or for htmx the next step's fragment fetched into the
    wizard (`HX-Location`), its address pushed into the history."""
    if not is_fragment():
        return redirect(url, 303)
    response = current_app.make_response(("", 204))
    response.headers["HX-Location"] = json.dumps(
        {"path": url, "target": "#import-step", "swap": "outerHTML"})
    return response


# ---------------------------------------------------------------- 1. upload

@blueprint.get("/<entity>/import")
def upload(entity: str):
    return _upload_page(_importing(entity))


def _upload_page(entity: Entity, error: str | None = None, status: int = 200,
                 encoding: str = ""):
    return render("imports/upload.html", "imports/_upload.html", status, entity=entity,
                  error=error, encoding=encoding, step=1, encodings=files.READABLE,
                  max_mb=current_app.config["KARTE_MAX_UPLOAD_MB"])


@blueprint.post("/<entity>/import")
def receive(entity: str):
    ent = _importing(entity)
    encoding = request.form.get("encoding", "")
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _upload_page(ent, _("Choose a CSV, TSV or Excel (.xlsx) file to import."),
                            422, encoding)
    saved = files.save(sent.stream, sent.filename, ent.name, _user_id(), encoding)
    try:
        _sheet(saved)
    except ReadError as error:
        files.discard(saved)
        return _upload_page(ent, read_error(error), 422, encoding)
    return _go(url_for("imports.mapping", entity=ent.name, token=saved.token))


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    """A file above KARTE_MAX_UPLOAD_MB: the upload step again, saying the limit (the
    app's own 413 page for anyone who may not import here)."""
    said = _("This file is larger than %(mb)s MB, the most Karte accepts. Split it into "
             "smaller files, or ask your administrator to raise KARTE_MAX_UPLOAD_MB.",
             mb=current_app.config["KARTE_MAX_UPLOAD_MB"])
    try:
        ent = _importing((request.view_args or {}).get("entity", ""))
    except (HTTPException, RecordError):
        return problem_page(413, [("", said)])
    return _upload_page(ent, said, 413)


def _sheet(upload: files.Upload) -> Sheet:
    return open_sheet(upload.path, filename=upload.filename, encoding=upload.encoding)


def _opened(entity: Entity, token: str) -> tuple[files.Upload, Sheet] | Answer:
    """The user's upload and its sheet, or the upload step saying why it cannot be read."""
    saved = files.find(token, entity.name, _user_id())
    if saved.batch is not None:     # already imported: its report, never a second import
        return redirect(url_for("imports.report", entity=entity.name, batch=saved.batch),
                        303)
    try:
        return saved, _sheet(saved)
    except ReadError as error:
        return _upload_page(entity, read_error(error), 422)


# ---------------------------------------------------------------- 2. mapping

@blueprint.get("/<entity>/import/file/<token>")
def mapping(entity: str, token: str):
    ent = _importing(entity)
    opened = _opened(ent, token)
    if isinstance(opened, Answer):
        return opened
    saved, sheet = opened
    targets = choices(ent, actor())
    if request.args.get("kept"):
        form = posted(ent, targets, sheet.columns, request.args)
    else:
        remembered = engine.remembered_mapping(_services(), ent.name)
        form = prefilled(ent, targets, sheet.columns,
                         match_columns(ent, sheet.columns, remembered,
                                      pack=registry()))
    return _mapping_page(ent, saved, sheet, targets, form)


def _mapping_page(entity: Entity, saved: files.Upload, sheet: Sheet, targets: Choices,
                  form: MappingForm, status: int = 200):
    try:
        samples = list(islice(sheet.rows(), SAMPLES))
    except ReadError as error:      # a row the header did not show to be unreadable
        return _upload_page(entity, read_error(error), 422)
    return render("imports/mapping.html", "imports/_mapping.html", status, entity=entity,
                  upload=saved, sheet=sheet, form=form, targets=targets, step=2,
                  samples=[[row[i] for row in samples] for i in range(len(sheet.columns))])


def _checked(entity: Entity, token: str):
    """The upload, its sheet and the posted mapping; a Response when any is wrong (the
    upload step for an unreadable file, the mapping again — choices kept — for a bad
    choice)."""
    opened = _opened(entity, token)
    if isinstance(opened, Answer):
        return opened
    saved, sheet = opened
    targets = choices(entity, actor())
    form = posted(entity, targets, sheet.columns, request.form)
    if form.errors:
        return _mapping_page(entity, saved, sheet, targets, form, 422)
    return saved, sheet, form


# ---------------------------------------------------------------- 3. dry run

@blueprint.post("/<entity>/import/file/<token>/check")
def check(entity: str, token: str):
    ent = _importing(entity)
    got = _checked(ent, token)
    if isinstance(got, Answer):
        return got
    saved, sheet, form = got
    plan = form.plan(ent.name, saved.encoding)
    try:
        report = engine.dry_run(_services(), sheet, plan, actor())
    except ReadError as error:
        return _upload_page(ent, read_error(error), 422)
    response = render("imports/dry_run.html", "imports/_dry_run.html", 200, entity=ent,
                      upload=saved, form=form, report=report, step=3,
                      problems=problem_rows(ent, report.problems),
                      duplicate_rows=duplicate_rows(ent, report.duplicates),
                      preview=_preview_columns(form, report),
                      preview_rows=preview_rows(ent, report.preview))
    if is_fragment():   # a reload brings back the mapping with these choices
        response.headers["HX-Replace-Url"] = url_for(
            "imports.mapping", entity=ent.name, token=token, **form.args())
    return response


def _preview_columns(form: MappingForm, report: Any) -> list[tuple[str, str]]:
    """(key, label) of the preview table: the mapped fields, in the file's order."""
    shown = {key for row in report.preview for key in row}
    return [(name, label) for name, label in form.mapped_labels() if name in shown]


# ---------------------------------------------------------------- 4. run

@blueprint.post("/<entity>/import/file/<token>/run")
def run(entity: str, token: str):
    ent = _importing(entity)
    got = _checked(ent, token)
    if isinstance(got, Answer):
        return got
    saved, _sheet_read, form = got
    try:
        batch = engine.start(_services(), saved.path, form.plan(ent.name, saved.encoding),
                             actor(), file_name=saved.filename)
    except ReadError as error:
        return _upload_page(ent, read_error(error), 422)
    if engine.report(_services(), batch).state in ("done", "failed"):
        files.used(saved, batch)    # a background import still reads it: pruned later
    return _go(url_for("imports.report", entity=ent.name, batch=batch))


# ---------------------------------------------------------------- 5. report

def _report(entity: Entity, batch: int) -> Any:
    """The batch's report, when it is this entity's and the user's (admins see all)."""
    try:
        found = engine.report(_services(), batch)
    except (LookupError, RecordError):
        abort(404)
    who = signed_in_actor()
    if found.entity != entity.name or (found.actor != who.id and who.role != "admin"):
        abort(404)
    return found


@blueprint.get("/<entity>/import/<int:batch>")
def report(entity: str, batch: int):
    ent = _importing(entity)
    found = _report(ent, batch)
    return render("imports/report.html", "imports/_report.html", 200, entity=ent,
                  report=found, step=5, problems=problem_rows(ent, found.problems),
                  duplicate_rows=duplicate_rows(ent, found.duplicates))


@blueprint.get("/<entity>/import/<int:batch>/failed.csv")
def failed(entity: str, batch: int):
    ent = _importing(entity)
    _report(ent, batch)
    rows = engine.failed_rows(_services(), batch)
    name = f"{ent.name}-import-{batch}-failed.csv"
    return Response(stream_with_context(_csv(rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _csv(rows: Iterator[list[str]]) -> Iterator[str]:
    """CSV with a UTF-8 BOM (Excel then opens Japanese text), a line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


@blueprint.route("/<entity>/import/<int:batch>/revert", methods=["GET", "POST"])
def revert(entity: str, batch: int):
    ent = _importing(entity)
    found = _report(ent, batch)
    if request.method == "GET":
        if found.state not in ("done", "failed"):
            return redirect(url_for("imports.report", entity=ent.name, batch=batch), 303)
        return render("imports/revert.html", None, 200, entity=ent, report=found,
                      reasons=[])
    try:
        undone = engine.revert(_services(), batch, actor(), background=True)
    except engine.ImportRefused as refused:
        return render("imports/revert.html", None, 409, entity=ent, report=found,
                      reasons=refused.reasons)
    if undone.state == "reverted":
        flash(_("The import was reverted: what it created is deleted, what it changed is "
                "restored."))
    return _go(url_for("imports.report", entity=ent.name, batch=batch))
