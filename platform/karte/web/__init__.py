"""Web layer: thin Flask blueprints over the Registry and the records service.

Views call these helpers instead of reaching into `current_app` themselves: the Registry,
the one `Records` and `Workflows` of the app, the signed-in user as the services' actor,
the UI language and timezone, and `render()` which answers htmx with the fragment and
everyone else with the whole page (DESIGN rule 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from flask import Flask, abort, current_app, g, render_template, request, session
from flask_htmx import HTMX
from flask_login import current_user
from jinja2 import Template
from werkzeug.routing import IntegerConverter

from karte.auth.users import User
from karte.fields import MAX_ID
from karte.files.service import Files
from karte.meta.model import Entity, Pack
from karte.reports.service import Reports
from karte.store import Records
from karte.workflow.service import Workflows

LOCALES = ("en", "ja")
htmx = HTMX()


def registry() -> Pack:
    return current_app.extensions["karte"]["pack"]


def records() -> Records:
    return current_app.extensions["karte"]["records"]


def workflows() -> Workflows:
    return current_app.extensions["karte"]["workflows"]


def reports() -> Reports:
    return current_app.extensions["karte"]["reports"]


def files() -> Files:
    return current_app.extensions["karte"]["files"]


def _signed_in() -> User | None:
    return current_user if getattr(current_user, "is_authenticated", False) else None


def actor() -> User | None:
    """The signed-in user, speaking the UI language: pass it to every service call, so
    scopes apply and refusals come back in the language on screen. Under /api/v1 a
    personal token signs nobody in: the caller is the token's user (`karte.api.auth`)."""
    user = _signed_in()
    if user is None:
        return g.get("karte_actor")
    if "karte_actor" not in g:
        g.karte_actor = replace(user._get_current_object() if hasattr(
            user, "_get_current_object") else user, locale=locale())
    return g.karte_actor


def active_users() -> list[tuple[int, str]]:
    """(id, name or email) of every active user, read once per request: a list page
    offers them in its owner filter and its bulk bar, a board in its filter."""
    if "karte_active_users" not in g:
        from karte.auth.users import list_users

        g.karte_active_users = [(u["id"], u["name"] or u["email"])
                                for u in list_users(records().engine) if u["active"]]
    return g.karte_active_users


def signed_in_actor() -> User:
    """`actor()` on a page behind the sign-in gate (every page but the public ones)."""
    user = actor()
    if user is None:
        abort(401)
    return user


def locale() -> str:
    """?lang= (remembered for the session), then the user's, KARTE_LOCALE, the pack's;
    worked out once per request (a board asks for it for every label it shows)."""
    if "karte_locale" not in g:
        g.karte_locale = _chosen_locale()
    return g.karte_locale


def _chosen_locale() -> str:
    asked = request.args.get("lang")
    if asked in LOCALES:
        session["lang"] = asked
        return asked
    if session.get("lang") in LOCALES:
        return session["lang"]
    user = _signed_in()
    if user is not None and user.locale in LOCALES:
        return user.locale
    return default_locale()


def default_locale() -> str:
    """KARTE_LOCALE, else the pack's language, else English."""
    chosen = current_app.config.get("KARTE_LOCALE") or registry().locale
    return chosen if chosen in LOCALES else "en"


def timezone() -> str:
    user = _signed_in()
    return (user.timezone if user is not None and user.timezone else None) \
        or registry().timezone or "UTC"


def text(value: Any) -> str:
    """A definition's localised text (label, plural, help) in the UI language."""
    if value is None:
        return ""
    return value.get(locale(), registry().locale) if hasattr(value, "get") else str(value)


def entity_or_404(name: str) -> Entity:
    entity = registry().entities.get(name)
    if entity is None:
        abort(404)
    return entity


def is_fragment() -> bool:
    """htmx asked for a fragment (a history restore wants the whole page)."""
    return bool(htmx) and not htmx.history_restore_request


def render(page: str | Sequence[str], fragment: str | None = None, status: int = 200,
           **context: Any):
    """The whole page, or `fragment` alone for an htmx request; `Vary: HX-Request` always,
    so caches keep the two apart."""
    chosen = fragment if fragment is not None and is_fragment() else page
    template: str | list[str | Template] = chosen if isinstance(chosen, str) else [*chosen]
    response = current_app.make_response((render_template(template, **context), status))
    response.vary.add("HX-Request")
    return response


class RecordId(IntegerConverter):
    """`<int:id>` in every route: a number beyond 64 bits names no record, so its URL is a
    404 like any other unknown page, before a view could hand it to the database."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    from karte.web import (
        account,
        actions,
        admin,
        api_tokens,
        auth,
        boards,
        cards,
        dashboards,
        display,
        duplicates,
        errors,
        file_pages,
        forms,
        home,
        imports,
        lines_pages,
        lists,
        merge,
        pending,
        schema,
        security,
        todo,
        typeahead,
    )

    app.url_map.converters["int"] = RecordId
    htmx.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    display.init_app(app)
    errors.init_app(app)
    pending.init_app(app)
    lines_pages.init_app(app)
    for module in (home, schema, account, admin, api_tokens, boards, lists, forms, cards,
                   actions, lines_pages, todo, typeahead, duplicates, merge, imports,
                   file_pages, dashboards):
        app.register_blueprint(module.blueprint)
