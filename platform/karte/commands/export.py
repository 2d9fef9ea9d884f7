"""`karte export ENTITY`: the records of an entity as CSV or XLSX (the `export` command), the same
rows the list page exports — a condition (`--where`, the condition language as JSON), a
search, a sort, as shown or `--raw` — read by keyset in batches, so memory stays flat at
any size. With `--as EMAIL` the user's read scope and hidden fields apply and the values
are shown in their language and timezone; without it, the whole table (the system)."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from karte.commands.common import _database, _load, active_user, pack_option, reports_problems

if TYPE_CHECKING:
    from karte.transfer.export import Rows


@click.command("export")
@click.argument("entity")
@click.option("--format", "kind", type=click.Choice(["csv", "xlsx"]), default="csv",
              show_default=True, help="File format.")
@click.option("--where", "where_json", default=None, metavar="JSON",
              help="A condition of the pack format's condition language, as JSON: "
                   '{"field": "stage", "op": "=", "value": "won"}.')
@click.option("--q", "search", default=None, metavar="TEXT", help="Search text, as the list's.")
@click.option("--sort", default=None, metavar="FIELD", help="Sort field; -FIELD descends.")
@click.option("--raw", is_flag=True,
              help="Raw values (option keys, record ids, emails, ISO dates) instead of the "
                   "values as shown.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: standard output).")
@click.option("--as", "as_email", default=None, metavar="EMAIL",
              help="Export as this user: their scope, hidden fields, language, timezone.")
@click.option("--batch", default=500, show_default=True, hidden=True, type=int)
@pack_option
@reports_problems
def export(entity: str, kind: str, where_json: str | None, search: str | None,
           sort: str | None, raw: bool, output: Path | None, as_email: str | None,
           batch: int, pack_dir: Path | None) -> None:
    """Export ENTITY's records as CSV (UTF-8 with a BOM) or XLSX. Exit 0 when written,
    1 when the entity, the condition, the sort or the user is wrong (nothing written)."""
    from karte.store import Records
    from karte.store.errors import InvalidQuery
    from karte.transfer import export as rows_of

    settings, pack = _load(pack_dir)
    found = pack.entities.get(entity)
    if found is None:
        _fail(f'There is no entity "{entity}"; entities: {", ".join(sorted(pack.entities))}.')
    where = _condition(where_json)
    if kind == "xlsx" and output is None and sys.stdout.isatty():
        _fail("An XLSX file is binary: name it with --output FILE (or redirect the output).")
    with _database(settings) as engine:
        actor = _actor(engine, as_email)
        locale = (actor.locale if actor else None) or settings.locale or pack.locale
        zone = (actor.timezone if actor else None) or pack.timezone or "UTC"
        look = rows_of.Look(raw=raw, gettext=rows_of.catalogue(locale), locale=locale,
                            pack_locale=pack.locale, zone=ZoneInfo(zone))
        records = Records(engine, pack)
        try:
            rows = rows_of.open_rows(records, found, look=look, where=where, search=search,
                                     sort=sort, actor=actor, batch=batch)
        except InvalidQuery as error:
            for problem in error.problems:
                click.echo(f"{problem.where}: {problem.message}" if problem.where
                           else problem.message, err=True)
            sys.exit(1)
        count = _write(rows, kind, output, title=look.text(found.plural), raw=raw)
    shown = f" to {output}" if output else ""
    click.echo(f"Exported {count} {entity} record{'s' if count != 1 else ''}{shown}.", err=True)


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _condition(where_json: str | None) -> Any:
    if where_json is None:
        return None
    try:
        return json.loads(where_json)
    except json.JSONDecodeError as error:
        _fail(f"--where is not JSON: {error.msg} at character {error.pos + 1}. Write a "
              'condition such as {"field": "stage", "op": "=", "value": "won"}.')


def _actor(engine: Any, email: str | None) -> Any:
    """The active user with this email, else exit 1 (None without --as: the system)."""
    if email is None:
        return None
    user = active_user(engine, email)
    if user is None:
        _fail(f"There is no active user {email}: see the users page, /admin/users.")
    return user


def _write(rows: Rows, kind: str, output: Path | None, *, title: str, raw: bool) -> int:
    from karte.transfer import export as rows_of
    from karte.transfer import xlsx

    if kind == "csv":
        with _target(output) as out:
            for chunk in rows_of.csv_chunks(rows):
                out.write(chunk.encode("utf-8"))
        return rows.count
    if output is not None:
        with output.open("wb") as out:
            return xlsx.write(rows, out, title=title, raw=raw)
    with tempfile.TemporaryFile() as spool:       # zip needs a file it can seek in
        count = xlsx.write(rows, spool, title=title, raw=raw)
        spool.seek(0)
        shutil.copyfileobj(spool, sys.stdout.buffer)
    return count


def _target(output: Path | None) -> contextlib.AbstractContextManager[IO[bytes]]:
    if output is None:                 # standard output stays open
        return contextlib.nullcontext(sys.stdout.buffer)
    return output.open("wb")
