"""Sign-in and sign-out (`/login`, `/logout`), and the gate in front of every other page.

- A wrong password and an unknown address get the same answer in the same time (the users
  module runs one argon2 check either way); a deactivated user cannot sign in.
- Signing in starts a new session (the old one, and its CSRF token, are dropped): a row of
  `karte_session` whose token the signed cookie carries (auth/sessions.py). Each request
  checks it there, so signing out ends it on every app server, and so do a new password,
  deactivation and "sign out everywhere". A session also ends after
  KARTE_SESSION_IDLE_MINUTES without a request and KARTE_SESSION_MAX_DAYS after sign-in.
- Attempts are rate-limited per client address and per account (Flask-Limiter; in memory
  unless KARTE_RATELIMIT_STORAGE names e.g. a Redis URL).
- Pages answer a visitor who is not signed in (or whose session ended) with a redirect to
  /login (coming back afterwards); /api/ answers 401; htmx gets 401 plus `HX-Redirect` to
  the sign-in page.
"""

from __future__ import annotations

import datetime as dt
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

from karte.auth.sessions import Lifetime, end_sessions
from karte.auth.users import normalise_email, session_user, sign_in, verify_password
from karte.problems import Problem

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


def session_lifetime() -> Lifetime:
    """The idle and absolute timeouts of sessions, from the app's settings."""
    config = current_app.config
    return Lifetime(idle=dt.timedelta(minutes=config["KARTE_SESSION_IDLE_MINUTES"]),
                    longest=dt.timedelta(days=config["KARTE_SESSION_MAX_DAYS"]))


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
            login_user(sign_in(_engine(), user, ip=get_remote_address() or "",
                               user_agent=request.headers.get("User-Agent", ""),
                               lifetime=session_lifetime()))
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
        end_sessions(_engine(), current_user.id, only=current_user.session_id)
        log.info("sign-out: user %s", current_user.id)
    logout_user()
    session.clear()
    flash(_("You have signed out."))
    return redirect(url_for("auth.login"), 303)


def _unauthorized():
    if request.path.startswith("/api/") and request.blueprint != "api_docs":
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
    if request.endpoint in PUBLIC or request.blueprint == "api":
        return None  # the API authenticates each request itself (karte.api.auth)
    if request.endpoint is None:
        return None  # a 404 page; under /api/ the API authenticates first (karte.api)
    if current_user.is_authenticated:
        return None
    return _unauthorized()


def _too_many(error: RateLimitExceeded):
    if error.response is not None:
        return error.response  # a limit with a page of its own (the account page)
    log.warning("sign-in rate limit hit from %s", get_remote_address())
    return render_template("login.html", email=request.form.get("email", ""), next="",
                           error=_("Too many sign-in attempts. Wait a minute and try "
                                   "again.")), 429


def _positive(name: str, value: str | int) -> int:
    """A timeout setting; a wrong one stops the app with a message (no traceback)."""
    from karte import StartupRefused

    number = int(value) if str(value).strip().isdigit() else 0
    if number < 1:
        raise StartupRefused([Problem(name, f"must be a whole number above 0, not {value!r}")])
    return number


def init_app(app: Flask) -> None:
    app.config.setdefault("KARTE_LOGIN_LIMIT_PER_ADDRESS", os.environ.get(
        "KARTE_LOGIN_LIMIT_PER_ADDRESS", "20 per minute;200 per day"))
    app.config.setdefault("KARTE_LOGIN_LIMIT_PER_ACCOUNT", os.environ.get(
        "KARTE_LOGIN_LIMIT_PER_ACCOUNT", "5 per minute;50 per day"))
    for name, default in (("KARTE_SESSION_IDLE_MINUTES", 480), ("KARTE_SESSION_MAX_DAYS", 14)):
        app.config[name] = _positive(name, app.config.get(name, os.environ.get(name, default)))
    app.config.setdefault("RATELIMIT_STORAGE_URI",
                          os.environ.get("KARTE_RATELIMIT_STORAGE", "memory://"))
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.user_loader(lambda token: session_user(_engine(), token,
                                                         session_lifetime()))
    login_manager.unauthorized_handler(_unauthorized)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many)
    app.before_request(_gate)
    app.register_blueprint(blueprint)
