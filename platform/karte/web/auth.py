"""Sign-in and sign-out (`/login`, `/logout`), and the gate in front of every other page.

- A wrong password and an unknown address get the same answer in the same time (the users
  module runs one argon2 check either way); a deactivated user cannot sign in.
- Signing in starts a new session (the old one, and its CSRF token, are dropped).
- Attempts are rate-limited per client address and per account (Flask-Limiter; in memory
  unless KARTE_RATELIMIT_STORAGE names e.g. a Redis URL).
- Pages answer a visitor who is not signed in with a redirect to /login (coming back
  afterwards); /api/ answers 401; htmx gets 401 plus `HX-Redirect` to the sign-in page.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user

from karte.auth.users import normalise_email, record_login, session_user, verify_password

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
log = logging.getLogger("karte.security")

PUBLIC = frozenset({"auth.login", "auth.logout", "static", "theme", "schema.health"})


def _engine():
    return current_app.extensions["karte"]["engine"]


def _account_key() -> str:
    """The per-account limit's key: the address as typed, normalised when it is one."""
    typed = request.form.get("email", "")
    try:
        return "account:" + normalise_email(typed)
    except ValueError:
        return "account:" + typed.strip().lower()


def _limit(name: str):
    return lambda: current_app.config[name]


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (open redirect), nor a control
    character (CR LF would split the Location header)."""
    if not target:
        return url_for("home.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return url_for("home.index")
    return target


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(_limit("KARTE_LOGIN_LIMIT_PER_ADDRESS"), methods=["POST"])
@limiter.limit(_limit("KARTE_LOGIN_LIMIT_PER_ACCOUNT"), methods=["POST"],
               key_func=_account_key)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    email = request.form.get("email", "")
    if request.method == "POST":
        user = verify_password(_engine(), email, request.form.get("password", ""))
        if user is not None:
            lang = session.get("lang")
            session.clear()  # a new session: nothing from before sign-in survives
            if lang:
                session["lang"] = lang
            login_user(user)
            record_login(_engine(), user.id)
            log.info("sign-in: user %s (%s)", user.id, get_remote_address())
            return redirect(safe_next(request.form.get("next")), 303)
        log.warning("sign-in refused for %r from %s", email[:254], get_remote_address())
        return render_template("login.html", email=email, next=request.form.get("next", ""),
                               error=_("Email or password is wrong.")), 401
    return render_template("login.html", email="", next=request.args.get("next", ""),
                           error=None)


@blueprint.route("/logout", methods=["GET", "POST"])
def logout():
    """GET asks (a link cannot sign anyone out by surprise); POST signs out."""
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return render_template("logout.html")
    if current_user.is_authenticated:
        log.info("sign-out: user %s", current_user.id)
    logout_user()
    session.clear()
    flash(_("You have signed out."))
    return redirect(url_for("auth.login"), 303)


def _unauthorized():
    if request.path.startswith("/api/"):
        response = jsonify(type="about:blank", title="Unauthorized", status=401,
                           detail="Sign in first: this endpoint needs a signed-in user.")
        response.status_code = 401
        response.mimetype = "application/problem+json"
        return response
    target = url_for("auth.login", next=request.full_path.rstrip("?")
                     if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def _gate():
    if request.endpoint in PUBLIC:
        return None
    if request.endpoint is None and not request.path.startswith("/api/"):
        return None  # a 404 page; the API answers 401 before saying what exists
    if current_user.is_authenticated:
        return None
    return _unauthorized()


def _too_many(error: RateLimitExceeded):
    log.warning("sign-in rate limit hit from %s", get_remote_address())
    return render_template("login.html", email=request.form.get("email", ""), next="",
                           error=_("Too many sign-in attempts. Wait a minute and try "
                                   "again.")), 429


def init_app(app: Flask) -> None:
    app.config.setdefault("KARTE_LOGIN_LIMIT_PER_ADDRESS", os.environ.get(
        "KARTE_LOGIN_LIMIT_PER_ADDRESS", "20 per minute;200 per day"))
    app.config.setdefault("KARTE_LOGIN_LIMIT_PER_ACCOUNT", os.environ.get(
        "KARTE_LOGIN_LIMIT_PER_ACCOUNT", "5 per minute;50 per day"))
    app.config.setdefault("RATELIMIT_STORAGE_URI",
                          os.environ.get("KARTE_RATELIMIT_STORAGE", "memory://"))
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.user_loader(lambda session_id: session_user(_engine(), session_id))
    login_manager.unauthorized_handler(_unauthorized)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many)
    app.before_request(_gate)
    app.register_blueprint(blueprint)
