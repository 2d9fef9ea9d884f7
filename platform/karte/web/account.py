"""Everyone's own account page (/account): who they are, where they are signed in, their
password and their API tokens.

- The live sessions of the signed-in user (browser, address, started, last used), with
  "this session" marked: any other one can be signed out, or all others at once.
- A new password needs the current one, passes the checks every password does
  (auth/passwords.py), and ends every other session. Wrong current passwords count
  against the per-account sign-in limit (KARTE_LOGIN_LIMIT_PER_ACCOUNT), so a borrowed
  session cannot guess it.
- The user's personal API tokens (name, prefix, created, expires, last used), a form to
  create one and a button to revoke each (the views are in api_tokens.py).
- Every change is a POST with the CSRF token, answered with 303 and a message; refused
  input re-renders the page with the message next to its field (422), never a password.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import RequestLimit

from karte.auth.sessions import end_sessions, live_sessions
from karte.auth.tokens import list_tokens, now
from karte.auth.users import MIN_PASSWORD, UserRefused, change_password
from karte.web import render, signed_in_actor
from karte.web.auth import limiter, session_lifetime
from karte.web.refusals import worded

blueprint = Blueprint("account", __name__)
log = logging.getLogger("karte.security")


def _engine():
    return current_app.extensions["karte"]["engine"]


def account_page(status: int = 200, errors: dict[str, str] | None = None, **context: Any):
    """The page; `errors` for the password form, `token_typed`/`token_errors` for the new
    token's (web/api_tokens.py)."""
    me = signed_in_actor()
    return render("account.html", status=status, me=me, min_password=MIN_PASSWORD,
                  sessions=live_sessions(_engine(), me.id, session_lifetime()),
                  api_tokens=list_tokens(_engine(), me.id), now=now(),
                  **{"errors": errors or {}, "token_typed": {}, "token_errors": {},
                     **context})


@blueprint.get("/account")
def show():
    return account_page()


def _too_many(limit: RequestLimit):
    log.warning("account %s: password change rate limit hit", signed_in_actor().id)
    return account_page(429, {"current": _("Too many attempts. Wait a minute and try again.")})


@blueprint.post("/account/password")
@limiter.limit(lambda: current_app.config["KARTE_LOGIN_LIMIT_PER_ACCOUNT"],
               key_func=lambda: f"password:{signed_in_actor().id}", on_breach=_too_many,
               deduct_when=lambda response: response.status_code != 303)
def password():
    me = signed_in_actor()
    try:
        change_password(_engine(), me.id, current=request.form.get("current", ""),
                        new=request.form.get("password", ""),
                        repeated=request.form.get("repeat", ""), keep_session=me.session_id)
    except UserRefused as error:
        log.info("account %s: password change refused (%s)", me.id,
                 ", ".join(error.problems.values()))
        return account_page(error.status, worded(error))
    log.info("account %s: password changed, other sessions ended", me.id)
    flash(_("Your password is changed. Your sessions on other devices have ended."))
    return redirect(url_for("account.show"), 303)


@blueprint.post("/account/sessions/<int:id>/end")
def end(id: int):
    me = signed_in_actor()
    if not end_sessions(_engine(), me.id, only=id):
        abort(404)  # not one of theirs, or over already
    log.info("account %s: ended session %s", me.id, id)
    flash(_("That session has ended: its device has to sign in again."))
    return redirect(url_for("account.show"), 303)


@blueprint.post("/account/sessions/end-others")
def end_others():
    me = signed_in_actor()
    count = end_sessions(_engine(), me.id, keep=me.session_id)
    log.info("account %s: ended %d other sessions", me.id, count)
    flash(ngettext("%(num)d other session has ended.", "%(num)d other sessions have ended.",
                   count))
    return redirect(url_for("account.show"), 303)
