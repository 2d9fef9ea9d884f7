"""The API's rate limit (SPEC §11.1): KARTE_API_LIMIT requests per token, 429 beyond it.

One limit shared by every route of the blueprint (Flask-Limiter's `limiter` of web/auth.py,
in the storage KARTE_RATELIMIT_STORAGE names: memory, or e.g. Redis so that every app
server counts together). The key is the token's public prefix, or the user for a browser
session (reads only): each integration has its own budget, whoever else calls. The key is
found by authenticating, so a request with no valid token is a 401 and costs nobody's
budget. Every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
(seconds until the window resets); a 429 is problem+json with `Retry-After`.
"""

from __future__ import annotations

import math
import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from limits import parse_many

from karte.api.auth import authenticate
from karte.api.problems import entry, problem
from karte.problems import Problem
from karte.web.auth import limiter

SETTING, DEFAULT = "KARTE_API_LIMIT", "600 per minute"


def _key() -> str:
    """Who spends the budget: the token (by prefix) or the signed-in user."""
    authenticate()
    return g.karte_limit_key


def _seconds_left(limit: RequestLimit) -> int:
    """Whole seconds until the limit's window resets (rounded up)."""
    return max(0, math.ceil(limit.window[0] - time.time()))


def _too_many(limit: RequestLimit) -> Response:
    wait = max(1, _seconds_left(limit))
    message = _("Too many requests with this token (%(limit)s). Try again in %(seconds)d "
                "seconds.", limit=str(limit.limit), seconds=wait)
    return problem(429, [entry("Authorization", "rate_limited", message)],
                   headers={"Retry-After": str(wait)})


def _headers(response: Response) -> Response:
    limit = limiter.current_limit
    if limit is not None:
        response.headers["RateLimit-Limit"] = str(limit.limit.amount)
        response.headers["RateLimit-Remaining"] = str(max(0, limit.remaining))
        response.headers["RateLimit-Reset"] = str(_seconds_left(limit))
    return response


def apply(blueprint: Blueprint) -> None:
    """Limit every route of the API blueprint (once, at import)."""
    limiter.shared_limit(lambda: current_app.config[SETTING], scope="api", key_func=_key,
                         exempt_when=lambda: request.method == "OPTIONS",
                         on_breach=_too_many)(blueprint)
    blueprint.after_request(_headers)


def init_app(app: Flask) -> None:
    """Read KARTE_API_LIMIT (config, then environment); a wrong one stops the app."""
    from karte import StartupRefused

    value = str(app.config.get(SETTING) or os.environ.get(SETTING) or DEFAULT)
    try:
        parse_many(value)
    except ValueError:
        wrong = Problem(SETTING, f'is not a rate limit like "{DEFAULT}" or '
                                 f'"10 per second;600 per minute": {value!r}')
        raise StartupRefused([wrong]) from None
    app.config[SETTING] = value
