"""JSON request bodies → values for the records service (SPEC §11.1, §3.5).

A body is a JSON object (415 for another media type, 400 when it is not JSON or not an
object, 413 above the app's MAX_CONTENT_LENGTH). Its names are checked before the service
sees them, so that nothing is silently ignored: a name the entity does not have (or that is
hidden from the caller's role) is a 422 `unknown`, and a field no input writes — a formula,
a rollup, a series number, a `read_only` field, a file — is a 422 `read_only`. The fields
the engine owns (`id`, `version`, the system times and users, a stage field, a line's
parent link and `position`) may be sent back as they were read and are then left out;
changed, they are a 422 `read_only` too (a stage changes through a move). Every such name
is reported at once, with every value of the wrong JSON type (karte.api.types.parse: a
date that is not a string, an option that is not one of the keys). The service then checks
what only it can (required, bounds, links, unique values: the messages the forms show).

Lines are an array of line objects (replace-with-ids): an object with `id` updates that
stored line, one without `id` adds a line, and stored lines missing from the array are
removed; the order of the array is the order of the lines. Problems name a line's field
`lines[2].quantity`, lines counted from 1 as the service and the form's grid count them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from karte.api import types
from karte.api.problems import ApiProblem, entry, from_problem
from karte.fields import normalise
from karte.meta.model import SYSTEM_FIELD_DEFS, SYSTEM_FIELDS, Entity, Field
from karte.meta.parts import POSITION
from karte.store import field_rights
from karte.store.actor import Actor
from karte.web import records, registry, text
from karte.web.messages import hint

Record = Mapping[str, Any]
Errors = list[dict[str, str]]


# ---------------------------------------------------------------- the body itself

def _json_media(mimetype: str) -> bool:
    return mimetype == "application/json" or (mimetype.startswith("application/")
                                              and mimetype.endswith("+json"))


def _too_large() -> ApiProblem:
    mb = current_app.config["KARTE_MAX_UPLOAD_MB"]
    return ApiProblem(413, [entry("", "too_large", _(
        "This request is larger than Karte accepts (%(mb)s MB at most); nothing was saved.",
        mb=mb))])


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_object() -> dict[str, Any]:
    """The request's body as a JSON object, or the problem (415, 413, 400) saying why not
    (NaN and Infinity are not JSON)."""
    if not _json_media(request.mimetype):
        raise ApiProblem(415, [entry("Content-Type", "unsupported_media_type", _(
            "Send the body as JSON with \"Content-Type: application/json\"."))])
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise _too_large()
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _too_large() from None
    return parse_object(data)


def parse_object(data: str | bytes, where: str = "") -> dict[str, Any]:
    """`data` as a JSON object, or the 400 saying why not (`where`: the multipart part it
    came in, "" for the body)."""
    try:
        body = json.loads(data, parse_constant=_constant)
    except (ValueError, RecursionError) as error:
        raise ApiProblem(400, [entry(where, "invalid_json", _(
            "The body is not valid JSON: %(reason)s", reason=str(error)))]) from None
    if not isinstance(body, dict):
        raise ApiProblem(400, [entry(where, "not_an_object", _(
            "The body must be a JSON object ({...})."))])
    return body


def only(body: Mapping[str, Any], names: tuple[str, ...]) -> None:
    """422 naming every member of a body that is not one of `names` (the body of a move,
    a merge or an action)."""
    errors = [entry(name, "unknown", _('There is no member "%(name)s" in this body%(hint)s.',
                                       name=name, hint=hint(name, names)))
              for name in body if name not in names]
    if errors:
        raise ApiProblem(422, errors)


# ---------------------------------------------------------------- names a body may hold

def _label(f: Field) -> str:
    return text(f.label)


LOCKS: tuple[tuple[Callable[[Field], bool], Callable[[Field], str]], ...] = (
    (lambda f: f.derived,
     lambda f: _("%(field)s is calculated when the record is saved; it cannot be set.",
                 field=_label(f))),
    (lambda f: f.type == "file",
     lambda f: _("%(field)s holds files, which are not written in a record's body.",
                 field=_label(f))),
    (lambda f: f.series is not None,
     lambda f: _("%(field)s is numbered automatically when the record is created.",
                 field=_label(f))),
    (lambda f: f.read_only,
     lambda f: _("%(field)s is set by the system.", field=_label(f))),
)
"""Why a declared field is never input (the first that applies), as forms decide it
(karte.web.form_values.editable)."""


def _locked(f: Field) -> str | None:
    return next((why(f) for applies, why in LOCKS if applies(f)), None)


def _engine_field(entity: Entity, name: str) -> Field | None:
    """A field the engine owns, which a client may echo as read: a system field, a stage
    field, a line's parent link or position."""
    if name in SYSTEM_FIELDS:
        return SYSTEM_FIELD_DEFS[name]
    f = entity.fields.get(name)
    if f is not None and (f.workflow is not None
                          or (entity.part_of is not None and name in (entity.part_of,
                                                                      POSITION))):
        return f
    return None


def _same(f: Field, value: Any, stored: Any) -> bool:
    try:
        given = normalise(f, value, registry().country)
    except (ValueError, ArithmeticError, TypeError):
        return False
    return bool(given == stored) or (given in (None, []) and stored in (None, [], ""))


def _echo_problem(entity: Entity, f: Field, where: str) -> dict[str, str]:
    if f.workflow is not None:
        return entry(where, "read_only", _(
            "%(field)s changes only through a move: POST to this record's /move.",
            field=_label(f)))
    if f.name == POSITION:
        return entry(where, "read_only", _(
            "The order of the array is the order of the lines; leave out \"position\"."))
    return entry(where, "read_only", _("%(field)s is set by the system.", field=_label(f)))


class Reader:
    """Reads one body for one entity as one caller: the values to pass to the service,
    and every unknown or read-only name (`errors`)."""

    def __init__(self, actor: Actor | None) -> None:
        self.actor = actor
        self.store = records().store
        self.errors: Errors = []

    def _unknown(self, entity: Entity, name: str, where: str) -> None:
        seen = [n for n in entity.fields if n not in self._hidden(entity)]
        self.errors.append(entry(where, "unknown", _(
            '%(thing)s has no field "%(name)s"%(hint)s.', thing=text(entity.label),
            name=name, hint=hint(name, seen))))

    def _hidden(self, entity: Entity) -> frozenset[str]:
        return field_rights.hidden(self.store, entity, self.actor)

    def fields(self, entity: Entity, given: Mapping[str, Any], stored: Record | None,
               prefix: str = "") -> dict[str, Any]:
        """The values of `given` the service is to write; `stored` is the record (or
        line) as stored now, None for a new one."""
        values: dict[str, Any] = {}
        hidden = self._hidden(entity)
        for name, value in given.items():
            where = f"{prefix}{name}"
            if name == "id" and prefix:           # a line's id: which line it updates
                values[name] = value
                continue
            engine = _engine_field(entity, name) if name not in hidden else None
            if engine is not None:
                if stored is None or not _same(engine, value, stored.get(name)):
                    self.errors.append(_echo_problem(entity, engine, where))
                continue
            f = entity.fields.get(name) if name not in hidden else None
            if f is None:
                self._unknown(entity, name, where)
                continue
            why = _locked(f)
            if why is not None:
                self.errors.append(entry(where, "read_only", why))
            elif f.type == "lines":
                values[name] = self._lines(f, self._parsed(f, value, where), stored)
            else:
                values[name] = self._parsed(f, value, where)
        return values

    def _parsed(self, f: Field, value: Any, where: str) -> Any:
        """The value by the API's type table (a JSON value of the wrong type is named
        here, with every other problem of the body); the service checks the rest."""
        try:
            return types.parse(f, value, where)
        except types.Unparsed as error:
            self.errors.append(from_problem(error.problem))
            return None

    def _lines(self, f: Field, given: Any, stored: Record | None) -> Any:
        """Each line object checked against the part's fields (a value that is not a list
        of objects goes to the service as it is: its type names the problem)."""
        part = registry().entities.get(f.of or "")
        if part is None or not isinstance(given, list):
            return given            # null: no lines; anything else is named by `_parsed`
        lines = {str(line.get("id")): line for line in (stored or {}).get(f.name) or ()
                 if isinstance(line, Mapping)}
        parent = {part.part_of or "": stored.get("id")} if stored is not None else None
        found = []
        for n, line in enumerate(given, 1):
            before = lines.get(str(line.get("id"))) if "id" in line else None
            known = {**before, **(parent or {})} if before is not None else parent
            found.append(self.fields(part, line, known, f"{f.name}[{n}]."))
        return found


def record_values(entity: Entity, body: Mapping[str, Any], actor: Actor | None,
                  stored: Record | None = None) -> dict[str, Any]:
    """The values of a record's body for the service (create: `stored` None; update: the
    record as stored now); 422 naming every unknown and read-only field."""
    reader = Reader(actor)
    values = reader.fields(entity, body, stored)
    if reader.errors:
        raise ApiProblem(422, reader.errors)
    return values
