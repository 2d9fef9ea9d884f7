"""Errors as pages (or problem+json under /api/): one shape for every failure (DESIGN rule 3).

A records-service error carries its HTTP status and its problems; a view that cannot show
them in place (next to a form's fields, on the board) lets them reach this handler, which
renders them as a page with the same status. No traceback ever reaches a user.

When the database does not answer, every request gets a 503 page with `Retry-After`
(problem+json under /api/, the error fragment for htmx), drawn without asking the database
anything — not even who is signed in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import Flask, current_app, g, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from karte.store.db import UNAVAILABLE, unavailable
from karte.store.errors import NotFound, RecordError
from karte.web.auth import login_manager
from karte.web.messages import not_found

log = logging.getLogger("karte.errors")
RETRY_AFTER = 5
"""Seconds a client is asked to wait before trying again while the database is away."""


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
          429: "too_many_requests", 500: "server_error", 503: "unavailable"}


def titles() -> dict[int, str]:
    """Each status's title, in the UI language: pages' headings and problem+json `title`
    (the API's own statuses — 406, 412, 415, 428 — included)."""
    return {400: _("Bad request"), 401: _("Sign in first"), 403: _("Not allowed"),
            404: _("Not found"), 405: _("Method not allowed"), 406: _("Not acceptable"),
            409: _("Conflict"), 412: _("Precondition failed"), 413: _("Too large"),
            415: _("Unsupported media type"), 422: _("Please check your input"),
            428: _("Precondition required"), 429: _("Too many requests"),
            500: _("Something went wrong"), 503: _("Temporarily unavailable")}


def problem_page(status: int, problems: Iterable[tuple[str, str]]):
    """The error page (or application/problem+json for /api/) for these (where, message)."""
    from karte.web import render

    listed = [{"where": where, "message": message} for where, message in problems]
    title = titles().get(status, str(status))
    if request.path.startswith("/api/"):
        errors = [{"field": p["where"], "code": _CODES.get(status, "error"),
                   "message": p["message"]} for p in listed]
        response = jsonify(type="about:blank", title=title, status=status,
                           detail=" ".join(p["message"] for p in listed), errors=errors)
        response.status_code = status
        response.mimetype = "application/problem+json"
        return response
    return render("error.html", "_partials/error.html", status, code=status, title=title,
                  problems=listed)


def _record_error(error: RecordError):
    if isinstance(error, NotFound):
        return problem_page(error.status, [("", not_found(error))])
    return problem_page(error.status, [(p.where, p.message) for p in error.problems])


def _http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    messages = {404: _("There is no such page. Check the address, or start again from "
                       "the navigation."),
                403: _("Your role does not allow this."),
                405: _("This address does not accept that kind of request."),
                413: _("This request is larger than Karte accepts (%(mb)s MB at most); "
                       "nothing was saved.", mb=current_app.config["KARTE_MAX_UPLOAD_MB"]),
                500: _("Karte hit an unexpected error; nothing more was saved. The details "
                       "are in the server log.")}
    message = messages.get(error.code or 500) or (error.description or "")
    return problem_page(error.code or 500, [("", message)])


def _first_line(error: Exception) -> str:
    """The driver's own first line ("connection refused"): an outage repeats on every
    request, so one line each, not a traceback each."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def _database_down(error: Exception):
    """503 with Retry-After. The page is drawn for a visitor: loading the signed-in user
    would ask the database again (the session is kept, so nobody is signed out)."""
    if not unavailable(error):
        raise error  # a bug, not an outage: Flask logs it and shows the 500 page
    log.warning("the database is not answering: %s", _first_line(error))
    g._login_user = login_manager.anonymous_user()  # Flask-Login's request user
    g.pop("karte_actor", None)
    response = problem_page(503, [("", _("The database is not answering; nothing was saved. "
                                         "Try again in a moment."))])
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(RecordError, _record_error)
    app.register_error_handler(HTTPException, _http_error)
    for kind in UNAVAILABLE:
        app.register_error_handler(kind, _database_down)
