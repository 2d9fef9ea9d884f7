"""Errors of the API as `application/problem+json` (RFC 9457, SPEC §11.1).

Every failure under /api/v1 has one shape: `type`, `title`, `status`, `detail` and
`errors: [{"field", "code", "message"}]` — the same problem objects the forms show, with
`field` the record field (`lines[2].quantity` for a line), the query parameter or the
header the problem is about, and `""` for the request as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, jsonify

from karte.problems import Problem
from karte.store.errors import NotFound, RecordError
from karte.web.errors import titles

MEDIA_TYPE = "application/problem+json"


def entry(field: str, code: str, message: str) -> dict[str, str]:
    """One item of `errors[]`."""
    return {"field": field, "code": code, "message": message}


def from_problem(problem: Problem, default_code: str = "invalid") -> dict[str, str]:
    return entry(problem.where, problem.code or default_code, problem.message)


class ApiProblem(Exception):
    """Raise anywhere under the API: becomes a problem+json response with this status."""

    def __init__(self, status: int, errors: Iterable[Mapping[str, str]] = (),
                 detail: str | None = None, headers: Mapping[str, str] | None = None,
                 **extra: Any) -> None:
        self.status = status
        self.errors = [dict(e) for e in errors]
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(detail or " ".join(e["message"] for e in self.errors))


def problem(status: int, errors: Iterable[Mapping[str, str]] = (), detail: str | None = None,
            headers: Mapping[str, str] | None = None, **extra: Any) -> Response:
    """The problem+json response."""
    listed = [dict(e) for e in errors]
    text = detail if detail is not None else " ".join(e["message"] for e in listed)
    response = jsonify(type="about:blank", title=titles().get(status, str(status)),
                       status=status, detail=text, errors=listed, **extra)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def api_problem(error: ApiProblem) -> Response:
    return problem(error.status, error.errors, error.detail, error.headers, **error.extra)


def record_error(error: RecordError) -> Response:
    """A records-service error: its status and its problems, field by field."""
    if isinstance(error, NotFound):
        from karte.web.messages import not_found

        return problem(404, [entry("", "not_found", not_found(error))])
    code = {409: "conflict", 403: "forbidden", 400: "invalid_query"}.get(error.status,
                                                                          "invalid")
    return problem(error.status, [from_problem(p, code) for p in error.problems])
