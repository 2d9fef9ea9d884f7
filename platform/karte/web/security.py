"""Request-level protections: CSRF tokens, security headers, session cookie flags.

- Every POST/PUT/PATCH/DELETE carries a CSRF token (Flask-WTF): forms as the hidden field
  `csrf_token`, htmx requests as the `X-CSRFToken` header the layout sets on <body>. A
  missing or wrong token gets 400 before any view runs, so nothing is written.
- Tokens do not expire with time (only with the session), so a form left open over lunch
  still saves.
- The Content-Security-Policy allows scripts and styles from this site only: no inline
  script, no eval (htmx runs with `allowEval: false`), and no framing.
- The session cookie is HttpOnly and SameSite=Lax always, and Secure whenever the request
  came over HTTPS. Behind a reverse proxy, set KARTE_TRUSTED_PROXIES to the number of
  proxies in front of Karte: their X-Forwarded-For/-Proto headers are then believed (for
  the Secure flag and the per-address sign-in limit), and never otherwise.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from karte.fields import NUL

csrf = CSRFProtect()
log = logging.getLogger("karte.security")

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure when the request is HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def allow_inline_styles() -> None:
    """For this response only, let styles inside the page run: Mermaid draws the schema
    page's ER diagram as an SVG carrying its own <style>. Scripts stay 'self' only."""
    g.karte_inline_styles = True


def _headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if g.get("karte_inline_styles"):
        response.headers["Content-Security-Policy"] = CSP.replace(
            "style-src 'self'", "style-src 'self' 'unsafe-inline'")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _csrf_failed(error: CSRFError):
    from karte.web.errors import problem_page

    log.warning("CSRF refused: %s %s (%s)", request.method, request.path, error.description)
    return problem_page(400, [("", "The form was out of date or not sent from Karte, so "
                                    "nothing was saved. Go back, reload the page and "
                                    "send it again.")])


def _refuse_nul_in_query():
    """A NUL character in a query parameter (`q=a%00b`) is refused (400, naming it) before
    any view runs: no search, filter or picker ever hands one to the database."""
    from karte.web.errors import problem_page

    for name, value in request.args.items(multi=True):
        if NUL in name or NUL in value:
            shown = name.replace(NUL, "\\0")
            return problem_page(400, [(shown, _("Remove the NUL character (\\0) from this "
                                                "parameter."))])
    return None


def init_app(app: Flask) -> None:
    proxies = int(os.environ.get("KARTE_TRUSTED_PROXIES", "0") or 0)
    if proxies > 0:
        # Flask's documented way to wrap its WSGI app in middleware.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    # a file of KARTE_MAX_UPLOAD_MB comes in a multipart body with the form's other
    # fields and boundaries around it: that overhead gets one more MiB
    app.config["MAX_CONTENT_LENGTH"] = (app.config["KARTE_MAX_UPLOAD_MB"] + 1) * 1024 * 1024
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("WTF_CSRF_HEADERS", ["X-CSRFToken"])
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.session_interface = SessionInterface()
    csrf.init_app(app)
    app.before_request(_refuse_nul_in_query)
    app.after_request(_headers)
    app.register_error_handler(CSRFError, _csrf_failed)
