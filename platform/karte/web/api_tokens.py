"""Personal API tokens on pages (SPEC §11.1): everyone's own on /account, everyone's for
admins on /admin/tokens.

- Creating one (a name, an optional last day) answers with a page showing the secret once,
  never cached; the secret is in no list, log or cookie afterwards — only its hash is kept
  (auth/tokens.py). Refused input re-renders the account page with the message next to the
  field (422, or 409 for a name already in use).
- Revoking is a POST with the CSRF token, answered with 303 and a message. A user revokes
  only their own tokens (someone else's id is a 404, as if it did not exist); an admin
  revokes anyone's on /admin/tokens.
- Each creation and revocation is logged on "karte.security": who, which token (prefix).
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _

from karte.auth import tokens
from karte.web import actor, render, signed_in_actor, timezone
from karte.web.account import account_page
from karte.web.refusals import token_worded

blueprint = Blueprint("api_tokens", __name__)
log = logging.getLogger("karte.security")


def _engine():
    return current_app.extensions["karte"]["engine"]


def _expiry(typed: str) -> dt.datetime | None:
    """The end of the typed last day in the user's timezone; ValueError when no date."""
    if not typed:
        return None
    return tokens.end_of_day(dt.date.fromisoformat(typed), timezone())


def _refused(status: int, typed: dict[str, str], errors: dict[str, str]):
    return account_page(status, token_typed=typed, token_errors=errors)


@blueprint.post("/account/tokens")
def create():
    me = signed_in_actor()
    typed = {key: request.form.get(key, "").strip() for key in ("name", "expires")}
    try:
        expires_at = _expiry(typed["expires"])
    except ValueError:
        return _refused(422, typed, {"expires": _("Enter a date like 2026-12-31, or "
                                                  "leave it empty.")})
    try:
        secret, info = tokens.add(_engine(), me.id, typed["name"], expires_at)
    except tokens.TokenRefused as error:
        log.info("account %s: API token %r refused (%s)", me.id, typed["name"], error)
        return _refused(error.status, typed, {"expires" if where == "expires_at" else where:
                                              message for where, message
                                              in token_worded(error).items()})
    log.info("account %s: created API token %s (%r)", me.id, info.prefix, info.name)
    response = render("token_created.html", status=201, secret=secret, token=info)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/account/tokens/<int:id>/revoke")
def revoke(id: int):
    me = signed_in_actor()
    try:
        info = tokens.revoke(_engine(), id, user_id=me.id)
    except LookupError:
        abort(404)  # not one of theirs
    log.info("account %s: revoked API token %s", me.id, info.prefix)
    flash(_("The token “%(name)s” is revoked: it no longer works.", name=info.name))
    return redirect(url_for("account.show", _anchor="tokens"), 303)


def _admins_only() -> None:
    user = actor()
    if user is None or user.role != "admin":
        log.warning("admin tokens page refused: user %s (%s) %s %s",
                    getattr(user, "id", None), getattr(user, "role", None), request.method,
                    request.path)
        abort(403)


@blueprint.get("/admin/tokens")
def everyone():
    _admins_only()
    return render("admin_tokens.html", tokens=tokens.list_tokens(_engine()),
                  now=tokens.now())


@blueprint.post("/admin/tokens/<int:id>/revoke")
def admin_revoke(id: int):
    _admins_only()
    try:
        info = tokens.revoke(_engine(), id)
    except LookupError:
        abort(404)
    log.info("admin %s: revoked API token %s of user %s", signed_in_actor().id, info.prefix,
             info.user_id)
    flash(_("The token “%(name)s” of %(who)s is revoked: it no longer works.",
            name=info.name, who=info.user_email))
    return redirect(url_for("api_tokens.everyone"), 303)
