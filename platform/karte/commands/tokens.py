"""`karte token add|list|revoke`: personal API tokens from the command line (SPEC §11.1,
docs/api-tokens.md). `add` prints the secret alone on standard output — once, for a
script to capture — and what it made on standard error; the database keeps only its hash.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from karte.commands.common import _database, _load, active_user, pack_option, reports_problems

TABLE = "karte_api_token"


@click.group("token")
def token() -> None:
    """Personal API tokens: add, list, revoke."""


def _when(value: dt.datetime | None, empty: str) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else empty


def _migrated(engine: sa.Engine) -> None:
    if not sa.inspect(engine).has_table(TABLE):
        raise click.ClickException("the database has no token table yet: run `karte migrate` "
                                   "(or `karte token add`, which migrates) first")


@token.command("add")
@pack_option
@click.option("--email", required=True, help="The active user the token acts as.")
@click.option("--name", required=True, help="What uses the token (unique among theirs).")
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              metavar="YYYY-MM-DD",
              help="Last day it works (to the end of it, in the user's or pack's timezone).")
@reports_problems
def add(pack_dir: Path | None, email: str, name: str, expires: dt.datetime | None) -> None:
    """Create a token and print it (shown this once)."""
    from karte.auth import tokens
    from karte.store.migrate import migrate as run_migrations

    settings, pack = _load(pack_dir)
    with _database(settings) as engine:
        run_migrations(engine, pack)
        user = active_user(engine, email)
        if user is None:
            raise click.ClickException(f"no active user with the email {email}")
        expires_at = None if expires is None else tokens.end_of_day(
            expires.date(), user.timezone or pack.timezone)
        try:
            secret, info = tokens.add(engine, user.id, name, expires_at)
        except tokens.TokenRefused as error:
            raise click.ClickException(str(error)) from None
    click.echo(secret)
    click.echo(f"Token #{info.id} \"{info.name}\" of {user.email} ({info.shown}), "
               f"expires: {_when(info.expires_at, 'never')}. Copy it now: it is not "
               "shown again.", err=True)


def _row(info: Any, at: dt.datetime) -> str:
    return "  ".join([f"#{info.id:<5}", f"{info.shown:<16}", info.user_email, f'"{info.name}"',
                      info.state(at), f"created {_when(info.created_at, '')}",
                      f"expires {_when(info.expires_at, 'never')}",
                      f"last used {_when(info.last_used_at, 'never')}"])


@token.command("list")
@pack_option
@click.option("--email", default=None, help="Only this user's tokens.")
@click.option("--revoked", is_flag=True, help="Include revoked tokens.")
@reports_problems
def list_command(pack_dir: Path | None, email: str | None, revoked: bool) -> None:
    """List tokens (never their secrets), newest first."""
    from karte.auth import tokens
    from karte.store.tables import engine_table

    settings, _pack = _load(pack_dir)
    with _database(settings) as engine:
        _migrated(engine)
        user_id = None
        if email is not None:
            users = engine_table("karte_user")
            with engine.connect() as conn:
                user_id = conn.scalar(sa.select(users.c.id).where(
                    sa.func.lower(users.c.email) == email.strip().lower()))
            if user_id is None:
                raise click.ClickException(f"no user with the email {email}")
        listed = tokens.list_tokens(engine, user_id, revoked=revoked)
    at = tokens.now()
    for info in listed:
        click.echo(_row(info, at))
    if not listed:
        click.echo("No tokens.", err=True)


@token.command("revoke")
@pack_option
@click.argument("token_id", type=int)
@reports_problems
def revoke(pack_dir: Path | None, token_id: int) -> None:
    """Revoke the token with this id (see `karte token list`): it stops working at once."""
    from karte.auth import tokens

    settings, _pack = _load(pack_dir)
    with _database(settings) as engine:
        _migrated(engine)
        try:
            info = tokens.revoke(engine, token_id)
        except LookupError:
            raise click.ClickException(f"no token #{token_id}") from None
    click.echo(f"Token #{info.id} \"{info.name}\" of {info.user_email} ({info.shown}) is "
               "revoked.")
