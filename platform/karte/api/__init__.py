"""The REST API under /api/v1 (SPEC §11.1): a thin skin over the records and move services.

Every entity of the pack has its resources the moment its JSON file exists; nothing here
names an entity. Requests authenticate with a personal token (auth.py) and are rate-limited
per token (limits.py); every failure is application/problem+json (problems.py). See docs/api.md.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from karte.api import limits, problems
from karte.api.auth import authenticate
from karte.store.errors import RecordError

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
MODULES: tuple[str, ...] = ("openapi", "reading", "writing", "write_moves", "files")
"""Modules of karte.api whose import adds routes to `blueprint` (imported by init_app)."""


def _http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    code = (error.name or "error").lower().replace(" ", "_")
    return problems.problem(error.code, [problems.entry("", code, error.description or "")])


def _authenticate():
    if request.method == "OPTIONS":
        return None
    authenticate()
    return None


def _unmatched():
    """An address under /api/ that names no route (or not with this method): 401 before
    saying whether it exists."""
    if request.endpoint is None and request.path.startswith("/api/"):
        _authenticate()
        if isinstance(request.routing_exception, MethodNotAllowed) and _names_nothing():
            abort(404)
    return None


def _names_nothing() -> bool:
    """Whether the address names an entity that has no resource (unknown, or a part): a
    method it refuses is then a 404, as GET says, not a 405 about an address that does not
    exist."""
    from karte.api.reading import resource

    try:
        _endpoint, args = current_app.url_map.bind_to_environ(request.environ).match(
            method="GET")
    except HTTPException:
        return False
    return "entity" in args and resource(args["entity"]) is None


blueprint.before_request(_authenticate)
blueprint.register_error_handler(problems.ApiProblem, problems.api_problem)
blueprint.register_error_handler(RecordError, problems.record_error)
blueprint.register_error_handler(HTTPException, _http_error)
limits.apply(blueprint)


def init_app(app: Flask) -> None:
    """Register the API (CSRF-exempt: it never reads the session for a write)."""
    import importlib

    from karte.api import docs_page
    from karte.web.security import csrf

    for name in MODULES:
        importlib.import_module(f"karte.api.{name}")
    limits.init_app(app)
    csrf.exempt(blueprint)
    app.register_error_handler(problems.ApiProblem, problems.api_problem)
    app.before_request(_unmatched)
    app.register_blueprint(blueprint)
    app.register_blueprint(docs_page.blueprint)
