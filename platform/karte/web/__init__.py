"""Web layer: thin Flask blueprints over the Registry and the records service."""

from __future__ import annotations

from flask import Flask, current_app, request

from karte.meta.model import Pack

LOCALES = ("en", "ja")


def registry() -> Pack:
    return current_app.extensions["karte"]["pack"]


def locale() -> str:
    """?lang=, then KARTE_LOCALE, then the pack's locale."""
    asked = request.args.get("lang")
    if asked in LOCALES:
        return asked
    return current_app.config.get("KARTE_LOCALE") or registry().locale


def init_app(app: Flask) -> None:
    from karte.web.schema import blueprint

    app.register_blueprint(blueprint)

    @app.context_processor
    def _globals():
        return {"pack": registry(), "locale": locale(), "pack_locale": registry().locale}
