"""What every `karte` command shares: the --pack option, problems printed instead of a
traceback, the pack and an engine for one command."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import sqlalchemy as sa

from karte.config import Settings
from karte.problems import ProblemsError, counted

pack_option = click.option(
    "--pack", "pack_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Pack folder (default: $KARTE_PACK, else the standard pack).")


def reports_problems(command: Callable) -> Callable:
    """Print every problem (never a traceback) and exit 1."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ProblemsError as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{counted(len(error.problems), 'problem')} found.", err=True)
            sys.exit(1)
    return wrapper


def _load(pack_dir: Path | None):
    from karte.meta.load import load_pack

    settings = Settings.from_env(pack_dir)
    return settings, load_pack(settings.pack)


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[sa.Engine]:
    """An engine for one command, disposed afterwards so no connection outlives it."""
    from karte.store.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()




def active_user(engine: sa.Engine, email: str | None = None):
    """The active user whose address is `email` (any case), else — without an email —
    the first active admin; None when there is none. `--as` of import and export."""
    from karte.auth.users import get_user
    from karte.store.tables import engine_table

    users = engine_table("karte_user")
    query = sa.select(users.c.id).where(users.c.active.is_(True))
    query = (query.where(sa.func.lower(users.c.email) == email.strip().lower()) if email
             else query.where(users.c.role == "admin").order_by(users.c.id))
    with engine.connect() as conn:
        found = conn.scalar(query.limit(1))
    return None if found is None else get_user(engine, found)
