"""The admin's users page: who may sign in, and with which role (SPEC §3.4).

- Only the role "admin" reaches it; anyone else gets 403, for GET and POST alike.
- Every change is a POST with the CSRF token, answered with 303 and a flash message. Bad
  input re-renders the page with the message next to the field (422; typed values kept,
  never a password); a rule about the users as they are — the last active admin stays an
  admin, nobody deactivates themselves — answers 409 the same way.
- Passwords are typed by the admin (never generated, never shown back, never logged) and
  checked like every password (auth/passwords.py). A new password ends the user's
  sessions, and so do deactivation and "sign out everywhere" (an admin doing either to
  themselves keeps the session they are using).
- Each change and each refusal is logged on "karte.security": who did what to whom.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _

from karte.auth.users import (
    MIN_PASSWORD,
    User,
    UserRefused,
    create_user,
    list_users,
    update_user,
)
from karte.web import actor, registry, render, signed_in_actor
from karte.web.refusals import worded

blueprint = Blueprint("admin", __name__)
log = logging.getLogger("karte.security")

# action (the button pressed) -> what changes: a function of the form
CHANGES = {
    "role": lambda form: {"role": form.get("role", "")},
    "deactivate": lambda form: {"active": False},
    "reactivate": lambda form: {"active": True},
    "password": lambda form: {"password": form.get("password", "")},
    "sign_out": lambda form: {"sign_out": True},
}


def _engine():
    return current_app.extensions["karte"]["engine"]


@blueprint.before_request
def _admins_only():
    """Runs after the sign-in gate, so a visitor here is signed in."""
    user = actor()
    if user is None or user.role != "admin":
        log.warning("admin page refused: user %s (%s) %s %s", getattr(user, "id", None),
                    getattr(user, "role", None), request.method, request.path)
        abort(403)


def _page(status: int = 200, **context: Any):
    """The page, with `typed`/`errors` for the add form, or `row`/`row_typed`/
    `row_errors` for the user whose change was refused."""
    roles = registry().role_names
    context.setdefault("typed", {"role": roles[1] if len(roles) > 1 else roles[0]})
    return render("admin_users.html", status=status, users=list_users(_engine()),
                  roles=roles, min_password=MIN_PASSWORD, me=signed_in_actor().id,
                  **{"errors": {}, "row": None, "row_typed": {}, "row_errors": {}, **context})


@blueprint.route("/admin/users", methods=["GET", "POST"])
def users():
    if request.method == "GET":
        return _page()
    typed = {key: request.form.get(key, "").strip() for key in ("email", "name", "role")}
    me = signed_in_actor()
    try:
        id = create_user(_engine(), registry(), typed["email"], typed["role"],
                         request.form.get("password", ""), typed["name"])
    except UserRefused as error:
        log.info("admin %s: adding user %r refused (%s)", me.id, typed["email"], error)
        return _page(error.status, typed=typed, errors=worded(error))
    log.info("admin %s: added user %s (%s) with role %s", me.id, id, typed["email"],
             typed["role"])
    flash(_("Added %(email)s with the role %(role)s.", email=typed["email"],
            role=typed["role"]))
    return redirect(url_for("admin.users"), 303)


@blueprint.post("/admin/users/<int:id>")
def update(id: int):
    action = request.form.get("action", "")
    if action not in CHANGES:
        abort(400)
    changes = CHANGES[action](request.form)
    me = signed_in_actor()
    try:
        user = update_user(_engine(), registry(), id, by=me.id, keep_session=me.session_id,
                           **changes)
    except LookupError:
        abort(404)
    except UserRefused as error:
        log.warning("admin %s: %s of user %s refused (%s)", me.id, action, id, error)
        return _page(error.status, row=id, row_typed={"role": changes.get("role")},
                     row_errors=worded(error))
    log.info("admin %s: %s of user %s (%s)%s", me.id, action, id, user.email,
             f" to {user.role}" if action == "role" else "")
    flash(_done(action, user, mine=id == me.id))
    if id == me.id and user.role != "admin":
        return redirect(url_for("home.index"), 303)
    return redirect(url_for("admin.users"), 303)


def _done(action: str, user: User, mine: bool) -> str:
    if action == "sign_out" and mine:
        return _("Your other sessions have ended; this one carries on.")
    return {
        "role": lambda: _("%(who)s now has the role %(role)s.", who=user.email,
                          role=user.role),
        "deactivate": lambda: _("%(who)s is deactivated: they cannot sign in any more, and "
                                "their sessions have ended.", who=user.email),
        "reactivate": lambda: _("%(who)s is active again and can sign in.", who=user.email),
        "password": lambda: _("The password of %(who)s is changed; their other sessions "
                              "have ended.", who=user.email),
        "sign_out": lambda: _("%(who)s is signed out everywhere.", who=user.email),
    }[action]()
