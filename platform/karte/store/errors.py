"""Errors of the records service: values carrying Problems, never a traceback for a user.

Each error names its HTTP status so web and API map it once (DESIGN rule 3): invalid input
422, stale version or refused delete 409, unknown record 404, not allowed for the actor's
role 403, unusable query 400. Every
error carries `.problems`, a list of `Problem(where, message, code)` whose `where` is the
field name, or "" when the problem is about the whole record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from karte.problems import Problem


class RecordError(Exception):
    """Base of the records service's errors."""

    status = 400

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def by_field(self) -> dict[str, list[str]]:
        """Messages grouped by field, as a form shows them next to each input."""
        grouped: dict[str, list[str]] = {}
        for problem in self.problems:
            grouped.setdefault(problem.where, []).append(problem.message)
        return grouped


class ValidationFailed(RecordError):
    """The values cannot be saved as they are (HTTP 422)."""

    status = 422


class Conflict(RecordError):
    """The record changed since the caller read it (HTTP 409); nothing was written.

    `changed` maps each field changed since the caller's version to `(theirs, yours)`:
    the value stored now, and the value the caller sent (or, for a field the caller did
    not send, the value they were looking at). `current` is the record as stored now.
    """

    status = 409

    def __init__(self, problems: Iterable[Problem], changed: Mapping[str, tuple[Any, Any]],
                 current: Mapping[str, Any]):
        super().__init__(problems)
        self.changed = dict(changed)
        self.current = dict(current)


class NotFound(RecordError):
    """No such (live) record, or no such entity when `id` is None (HTTP 404)."""

    status = 404

    def __init__(self, entity: str, id: Any = None, hint: str = ""):
        self.entity, self.id = entity, id
        message = (f'There is no entity "{entity}"{hint}.' if id is None
                   else f"There is no {entity} with id {id}.")
        super().__init__([Problem("", message, "not_found")])


class Forbidden(RecordError):
    """The actor's role may not do this to this record or entity (HTTP 403); nothing was
    written. Only raised for records the actor may read: others are NotFound."""

    status = 403


class Refused(RecordError):
    """The write is valid but not allowed now, e.g. a restrict link blocks a delete (409)."""

    status = 409


class InvalidQuery(RecordError, ValueError):
    """A sort, filter or paging parameter the Registry does not allow (HTTP 400)."""

    status = 400
