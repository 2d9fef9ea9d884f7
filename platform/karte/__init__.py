"""Karte: a CRM platform driven by JSON definitions.

`create_app()` is the application factory (any WSGI server can serve `karte:create_app()`).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader

from karte.config import Settings
from karte.problems import Problem, ProblemsError

if TYPE_CHECKING:
    from karte.files.service import Files
    from karte.store import Records


class StartupRefused(ProblemsError, click.ClickException):
    """The app will not start: every problem, printed by any click CLI (`karte run`,
    `flask --app karte ...`) as plain lines with exit code 1, never as a traceback."""

    exit_code = 1

    def format_message(self) -> str:
        return "the app cannot start:\n" + "\n".join(str(p) for p in self.problems)


def create_app(pack: str | Path | None = None, database_url: str | None = None,
               config: dict | None = None) -> Flask:
    """Check the pack, migrate the database (safe steps), and build the web app.

    Raises StartupRefused (a ProblemsError) — with the same report `karte check` prints —
    when the pack has problems, or a risky step waits that the app cannot run beside
    (a type change or a retired value waits with a banner for admins instead).
    """
    collecting = gc.isenabled()
    gc.disable()   # a start builds ~a million objects that live on: no collection midway
    try:
        return _create_app(pack, database_url, config)
    finally:
        if collecting:
            gc.enable()


def _create_app(pack: str | Path | None, database_url: str | None,
                config: dict | None) -> Flask:
    from karte.meta.load import load_pack
    from karte.store.db import make_engine, refresh_statistics
    from karte.store.migrate import migrate

    try:
        settings = Settings.from_env(pack)
        registry = load_pack(settings.pack, known_valid=settings.instance / "cache")
    except ProblemsError as error:
        raise StartupRefused(error.problems) from None
    engine = make_engine(database_url or settings.database_url)
    # a database left matching this pack by the last migration is not read back (its
    # fingerprint, store/migrate/fingerprint.py); KARTE_FULL_COMPARE=1 compares anyway
    plan = migrate(engine, registry, full=_full_compare(), cache=settings.instance / "cache")
    try:
        served = _serving(registry, plan)
    except StartupRefused:
        engine.dispose()
        raise
    refresh_statistics(engine)
    app = Flask(__name__, instance_path=str(settings.instance))
    app.config.update(SECRET_KEY=settings.secret_key(), KARTE_LOCALE=settings.locale,
                      KARTE_MAX_UPLOAD_MB=settings.max_upload_mb, **(config or {}))
    loaders: list[BaseLoader] = [FileSystemLoader([str(p) for p in served.template_dirs])]
    if app.jinja_loader is not None:      # Flask's own: the package's templates/
        loaders.append(app.jinja_loader)
    app.jinja_loader = ChoiceLoader(loaders)
    from karte.reports.service import Reports
    from karte.store import Records
    from karte.store.migrate.pending import banner
    from karte.workflow.service import Workflows

    service = Records(engine, served)
    app.extensions["karte"] = {"pack": served, "engine": engine, "settings": settings,
                               "records": service, "workflows": Workflows(service),
                               "reports": Reports(service),
                               "files": _files(service, settings, app.config),
                               "waiting": banner(plan, served)}
    from karte.api import init_app as init_api
    from karte.web import init_app

    try:
        init_app(app)
        init_api(app)
    except StartupRefused:  # a wrong setting: nothing may keep the database open
        engine.dispose()
        raise
    return app


def _files(records: Records, settings: Settings, config: Mapping[str, Any]) -> Files:
    """The app's one files service, over the storage KARTE_FILES_URL names; a setting
    that names no storage refuses the start with its problem."""
    from karte.files.service import Files
    from karte.files.storage import storage_for

    try:
        storage = storage_for(settings.files_url, settings.instance)
    except ProblemsError as error:
        records.engine.dispose()
        raise StartupRefused(error.problems) from None
    return Files(records, storage, config["KARTE_MAX_UPLOAD_MB"], config["SECRET_KEY"])


def _full_compare() -> bool:
    return os.environ.get("KARTE_FULL_COMPARE", "").strip().lower() in ("1", "true", "yes")


def _serving(registry, plan):
    """The Registry to serve: while risky steps wait, fields keep the definition their
    column has, so the rows that block a step can be corrected in the app; a step the app
    cannot run beside refuses the start with the plan's own words."""
    from karte.store.migrate.pending import serving_pack, unservable

    blocked = unservable(plan)
    if not blocked:
        try:
            return serving_pack(registry, plan, plan.definitions)
        except ValueError as error:
            blocked = [s for s in plan.risky if s.target == str(error)]
    raise StartupRefused([Problem(f"database: {step.target}", step.refused or
                                  f"{step.description}: review it with `karte migrate`, "
                                  "then run `karte migrate --apply`") for step in blocked])
