"""Karte: a CRM platform driven by JSON definitions.

`create_app()` is the application factory (any WSGI server can serve `karte:create_app()`).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader

from karte.config import Settings
from karte.meta.problems import Problem, ProblemsError


class StartupRefused(ProblemsError, click.ClickException):
    """The app will not start: every problem, printed by any click CLI (`karte run`,
    `flask --app karte ...`) as plain lines with exit code 1, never as a traceback."""

    exit_code = 1

    def __init__(self, problems):
        ProblemsError.__init__(self, problems)
        self.message = "the app cannot start:\n" + "\n".join(str(p) for p in self.problems)

    def format_message(self) -> str:
        return self.message


def create_app(pack: str | Path | None = None, database_url: str | None = None,
               config: dict | None = None) -> Flask:
    """Check the pack, migrate the database (safe steps), and build the web app.

    Raises StartupRefused (a ProblemsError) — with the same report `karte check` prints —
    when the pack has problems or the database waits for risky steps.
    """
    from karte.meta.load import load_pack
    from karte.store.db import make_engine, refresh_statistics
    from karte.store.migrate import migrate

    try:
        settings = Settings.from_env(pack)
        registry = load_pack(settings.pack)
    except ProblemsError as error:
        raise StartupRefused(error.problems) from None
    engine = make_engine(database_url or settings.database_url)
    plan = migrate(engine, registry)
    if plan.blocking:
        engine.dispose()
        raise StartupRefused([Problem(f"database: {step.target}", step.refused or
                                     f"{step.description}: review it with `karte migrate`, "
                                     "then run `karte migrate --apply`")
                             for step in plan.risky])
    refresh_statistics(engine)
    app = Flask(__name__, instance_path=str(settings.instance))
    app.config.update(SECRET_KEY=settings.secret_key(), KARTE_LOCALE=settings.locale,
                      KARTE_MAX_UPLOAD_MB=settings.max_upload_mb, **(config or {}))
    app.jinja_loader = ChoiceLoader([FileSystemLoader([str(p) for p in registry.template_dirs]),
                                     app.jinja_loader])
    from karte.store.records import Records
    from karte.workflow.service import Workflows

    service = Records(engine, registry)
    app.extensions["karte"] = {"pack": registry, "engine": engine, "settings": settings,
                               "records": service, "workflows": Workflows(service)}
    from karte.web import init_app

    init_app(app)
    return app
