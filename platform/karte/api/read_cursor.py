"""The list endpoint's `cursor` (SPEC §11.1): where the previous page stopped, signed.

A cursor holds the keyset position of the page's last row (`keyset.Position`: the phase,
its sort value and its id) and a digest of the query it belongs to (entity, search, sort,
filters). It is signed with the app's SECRET_KEY (itsdangerous), so a client can neither
forge a position nor carry a cursor over to another query: either is a 400 naming
`cursor`. Sort values keep their type through JSON (dates, datetimes and exact decimals
are tagged), because the database compares them with the column's own type.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeSerializer

from karte.api.problems import ApiProblem, entry
from karte.store.records.keyset import Position

SALT = "karte.api.cursor"
TAGS: dict[str, Callable[[str], Any]] = {"d": dt.date.fromisoformat,
                                         "t": dt.datetime.fromisoformat, "n": Decimal}


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def digest(parts: list[Any]) -> str:
    """A short fingerprint of what a query asks (its parameters, in a canonical form)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _tagged(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return ["t", value.isoformat()]
    if isinstance(value, dt.date):
        return ["d", value.isoformat()]
    if isinstance(value, Decimal):
        return ["n", str(value)]
    return value


def _untagged(value: Any) -> Any:
    if isinstance(value, list):
        tag, text = value
        return TAGS[tag](text)
    return value


def encode(position: Position, query: str) -> str:
    return str(_signer().dumps([query, position.phase, _tagged(position.key), position.id]))


def _refused() -> ApiProblem:
    return ApiProblem(400, [entry("cursor", "cursor", _(
        "This cursor was not made by this server; use the “next” value of a response as "
        "it is."))])


def _mismatch() -> ApiProblem:
    return ApiProblem(400, [entry("cursor", "cursor", _(
        "This cursor belongs to another query: keep q, sort and the filters as they were "
        "for the first page, or start again without a cursor."))])


def decode(text: str, query: str) -> Position:
    """The position a cursor holds; 400 for one not made here or made for another query."""
    try:
        made_for, phase, key, id = _signer().loads(text)
        position = Position(int(phase), _untagged(key), int(id))
    except (BadData, ValueError, TypeError, KeyError):
        raise _refused() from None
    if made_for != query:
        raise _mismatch()
    return position


def encode_offset(offset: int, query: str) -> str:
    """A cursor of a short list read by offset (a record's history)."""
    return str(_signer().dumps([query, offset]))


def decode_offset(text: str, query: str) -> int:
    try:
        made_for, offset = _signer().loads(text)
        number = int(offset)
    except (BadData, ValueError, TypeError):
        raise _refused() from None
    if made_for != query or number < 0:
        raise _mismatch()
    return number
