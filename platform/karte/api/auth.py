"""Who is calling the API: a personal token (`Authorization: Bearer <token>`, SPEC §11.1).

A token acts with its user's role; its public prefix keys the rate limit (limits.py). The
session cookie of a signed-in browser is accepted for reading (GET and HEAD: the API
documentation page tries requests with it) and never for a write. Without either: 401
with the reason (no token, malformed, unknown, revoked, expired, deactivated user).
"""

from __future__ import annotations

from dataclasses import replace

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user

from karte.api.problems import ApiProblem, entry
from karte.auth import tokens
from karte.auth.users import User
from karte.web.refusals import token_reason

READING = frozenset({"GET", "HEAD", "OPTIONS"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="karte"'}


def _refused(code: str, message: str) -> ApiProblem:
    return ApiProblem(401, [entry("Authorization", code, message)], headers=CHALLENGE)


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not value.strip():
        raise _refused("malformed", _("Send the token as \"Authorization: Bearer <token>\"."))
    return value.strip()


def _token_user(presented: str) -> User:
    user, reason = tokens.verify(current_app.extensions["karte"]["engine"], presented)
    if user is None:
        raise _refused(reason, token_reason(reason))
    g.karte_limit_key = f"token:{presented.split('_')[1]}"  # the public prefix
    return user


def authenticate() -> None:
    """Before every API request: find the caller, or refuse with 401. Once per request
    (the rate limit asks first, to know whose budget a request spends: limits.py)."""
    if g.get("karte_api_caller"):
        return
    presented = _bearer()
    if presented is not None:
        user = _token_user(presented)
        g.karte_locale = _language(user)
    elif request.method in READING and getattr(current_user, "is_authenticated", False):
        user = current_user._get_current_object()
        g.karte_limit_key = f"user:{user.id}"
    elif getattr(current_user, "is_authenticated", False):
        raise _refused("session_write", _("The API does not accept the browser session for "
                                          "changes; send a personal token."))
    else:
        raise _refused("missing", _("Send a personal token: \"Authorization: Bearer "
                                    "<token>\". Create one on your account page."))
    from karte.web import locale

    g.karte_actor = replace(user, locale=locale())
    g.karte_api_caller = True


def _language(user: User) -> str:
    """A token caller's language: `?lang=`, else the user's own (their account's), else
    the instance's. Never the browser session's: a token request has none, and `?lang=`
    here is remembered by nothing (no cookie is set)."""
    from karte.web import LOCALES, default_locale

    asked = request.args.get("lang")
    if asked in LOCALES:
        return asked
    return user.locale if user.locale in LOCALES else default_locale()


def api_actor() -> User:
    """The caller, speaking the request's language; pass it to every service call."""
    return g.karte_actor
