"""The `karte` command (SPEC §10). Every command takes --pack and honours KARTE_PACK and
KARTE_DATABASE_URL; problems are printed as `file: /pointer: message`, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import sqlalchemy as sa

from karte.commands.common import _database, _load, pack_option, reports_problems
from karte.config import Settings
from karte.problems import ProblemsError, counted

if TYPE_CHECKING:
    from karte.meta.model import Pack


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Karte: a CRM platform driven by JSON definitions."""


@main.command()
@pack_option
@reports_problems
def check(pack_dir: Path | None) -> None:
    """Validate the pack; print every problem; exit 1 when there are any (warnings are
    printed and do not fail)."""
    from karte.meta.load import check_pack
    from karte.reports.check import plan_problems

    settings = Settings.from_env(pack_dir)
    pack, problems = check_pack(settings.pack, max_upload_mb=settings.max_upload_mb)
    if pack is None:
        raise ProblemsError(problems)
    unrunnable = plan_problems(pack)     # each widget's statement, once, on an empty database
    if unrunnable:
        raise ProblemsError(unrunnable)
    for warning in problems:
        click.echo(f"warning: {warning}", err=True)
    widgets = sum(len(board.widgets) for board in pack.dashboards.values())
    click.echo(f"{settings.pack}: OK — {counted(len(pack.entities), 'entity', 'entities')}, "
               f"{counted(len(pack.workflows), 'workflow')}"
               + (f", {counted(len(pack.dashboards), 'dashboard')} "
                  f"({counted(widgets, 'widget')}, each query run once)"
                  if pack.dashboards else "") + ".")


@main.command()
@pack_option
@click.option("--apply", "apply_risky", is_flag=True,
              help="Also apply risky steps (type changes, retired values) after the plan.")
@click.option("--purge", "purge", is_flag=True,
              help="Drop the retired columns named (ENTITY.FIELD …), each after a CSV backup.")
@click.argument("columns", nargs=-1, metavar="[ENTITY.FIELD]...")
@reports_problems
def migrate(pack_dir: Path | None, apply_risky: bool, purge: bool,
            columns: tuple[str, ...]) -> None:
    """Print the migration plan; apply the safe part (and the rest with --apply).

    Exit status: 0 when the database matches the definitions, 1 on problems, 2 while a
    step is refused or waits for --apply."""
    from karte.store import migrate as migrations

    if columns and not purge:
        raise click.UsageError("name columns only with --purge: "
                               f"karte migrate --purge {' '.join(columns)}")
    if purge and not columns:
        raise click.UsageError("--purge needs the retired columns: --purge deal.old_field")
    settings, pack = _load(pack_dir)
    with _database(settings) as engine:
        if purge:
            try:
                paths = migrations.purge(engine, pack, list(columns), settings.instance)
            except ValueError as error:
                raise click.ClickException(str(error)) from None
            for path in paths:
                click.echo(f"Backed up to {path}")
            return
        plan = migrations.migrate(engine, pack, apply_risky=apply_risky)
    click.echo(plan.render())
    if plan.blocking:
        sys.exit(2)  # steps refused (rows to clean up first) or waiting for --apply


@main.command()
@pack_option
@click.option("--show", "show", type=int, default=None, metavar="N",
              help="Print entry N in full: its steps and every definition change.")
def history(pack_dir: Path | None, show: int | None) -> None:
    """Applied migrations and definition changes, and what each changed."""
    from karte.store import migrate as migrations

    settings = Settings.from_env(pack_dir)
    with _database(settings) as engine:
        entries = migrations.history(engine)
    if show is not None:
        _show_history(entries, show)
        return
    if not entries:
        click.echo("No migrations applied yet.")
    for entry in entries:
        click.echo(f"#{entry.id}  {entry.applied_at:%Y-%m-%d %H:%M:%S} UTC  {entry.summary}")
        for operation in entry.operations:
            description = operation.get("description", str(operation))
            if description != entry.summary and operation.get("kind") != "definition":
                click.echo(f"    {description}")


def _show_history(entries: list, number: int) -> None:
    """One entry in full; its definition changes against the entry before it."""
    found = [e for e in entries if e.id == number]
    if not found:
        raise click.ClickException(f"no history entry #{number}; `karte history` lists them")
    entry = found[0]
    click.echo(f"#{entry.id}  {entry.applied_at:%Y-%m-%d %H:%M:%S} UTC  pack {entry.pack}")
    click.echo(entry.summary)
    steps = [op for op in entry.operations if op.get("kind") != "definition"]
    lines = [op["description"] for op in entry.operations if op.get("kind") == "definition"]
    for step in steps:
        click.echo(f"  step: {step.get('description', step)}")
    if lines:
        click.echo("Definition changes (+ added, - removed, ~ changed):")
    for line in lines:
        click.echo(f"  {line}")
    if not steps and not lines:
        click.echo("  (no recorded changes)")


@main.command()
@pack_option
@click.argument("ref", metavar="ENTITY.FIELD")
@reports_problems
def recompute(pack_dir: Path | None, ref: str) -> None:
    """Recompute a rollup or formula for every record; report how many differed.
    `karte recompute stage-totals` rebuilds the boards' per-stage counters instead."""
    from karte.store.migrate import migrate as run_migrations
    from karte.store.records.recompute import recompute_field

    settings, pack = _load(pack_dir)
    with _database(settings) as engine:
        run_migrations(engine, pack)
        if ref == "stage-totals":
            _recompute_stage_totals(engine, pack)
            return
        try:
            outcome = recompute_field(engine, pack, ref)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"{ref}: {counted(outcome.records, 'record')} recomputed, "
               f"{outcome.differed} differed.")
    for id, stored, fresh in outcome.examples:
        click.echo(f"  #{id}: {_shown(stored)} → {_shown(fresh)}")


def _recompute_stage_totals(engine: sa.Engine, pack: Pack) -> None:
    from karte.store import stage_totals
    from karte.store.records.store import Store

    rows, differed = stage_totals.recompute(engine, pack, Store(engine, pack).tables)
    click.echo(f"stage totals: {counted(rows, 'row')} rebuilt, {len(differed)} differed.")
    for entity, field, stage, measure in differed[:5]:
        click.echo(f"  {entity}.{field} = {stage}" + (f" ({measure})" if measure else ""))


def _shown(value: object) -> str:
    return "empty" if value is None else str(value)


@main.command()
@pack_option
def erd(pack_dir: Path | None) -> None:
    """Print the pack's ER diagram as Mermaid text."""
    from karte.meta.erd import mermaid

    _, pack = reports_problems(_load)(pack_dir)
    click.echo(mermaid(pack), nl=False)


@main.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("email")
@click.option("--role", required=True, help="admin or a role of the pack.")
@click.option("--name", default=None, help="Display name (default: from the email).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pack_option
@reports_problems
def user_add(email: str, role: str, name: str | None, password_stdin: bool,
             pack_dir: Path | None) -> None:
    """Create a user, or update the role (and password) of an existing one."""
    from karte.auth.users import add_user
    from karte.store.migrate import migrate as run_migrations

    settings, pack = _load(pack_dir)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not password:
        raise click.ClickException("no password on standard input")
    with _database(settings) as engine:
        run_migrations(engine, pack)
        try:
            user_id = add_user(engine, pack, email, role, password=password, name=name)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"User #{user_id} {email.strip().lower()} has role {role}.")


@main.command()
@pack_option
@click.option("--size", default=1000, show_default=True, help="Number of records in all.")
@click.option("--seed", default=None, type=int, help="Seed for repeatable data.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has records.")
@reports_problems
def demo(pack_dir: Path | None, size: int, seed: int | None, if_empty: bool) -> None:
    """Fill the database with realistic demo records (English and Japanese). Exit 0 when
    every record was made, 1 when the pack has problems, 3 when some records could not
    be made (each reason printed, the others kept)."""
    from karte.commands.files import files_for
    from karte.demo import fill
    from karte.store.migrate import migrate as run_migrations

    settings, pack = _load(pack_dir)
    with _database(settings) as engine:
        run_migrations(engine, pack)
        unmade = fill(engine, pack, size=size, seed=seed, if_empty=if_empty,
                      instance=settings.instance, echo=click.echo,
                      files=files_for(settings, engine, pack))
    for problem in unmade:
        click.echo(str(problem), err=True)
    if unmade:
        sys.exit(3)


@main.command()
@pack_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@reports_problems
def run(pack_dir: Path | None, host: str, port: int) -> None:
    """Check, migrate and serve (development server)."""
    from karte import create_app

    app = create_app(pack=pack_dir)
    app.run(host=host, port=port, debug=False, use_reloader=False)


@main.command()
@pack_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per core).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads per worker (default: 4).")
@reports_problems
def serve(pack_dir: Path | None, host: str, port: int, workers: int | None,
          threads: int | None) -> None:
    """Check, migrate and serve with gunicorn (production); SIGTERM stops gracefully."""
    from karte.serve import KarteServer, check_before_serving, notes, options

    check_before_serving(pack_dir)
    settings = options(host, port, workers, threads)
    for note in notes(settings):
        click.echo(note, err=True)
    KarteServer(pack_dir, settings).run()


# Commands of karte.commands, one module per area, are added here.
from karte.commands.dump import dump_command, load_command  # noqa: E402
from karte.commands.export import export as export_command  # noqa: E402
from karte.commands.files import files_group  # noqa: E402
from karte.commands.imports import import_command, import_revert_command  # noqa: E402
from karte.commands.merge import merge as merge_command  # noqa: E402
from karte.commands.tokens import token as token_command  # noqa: E402

main.add_command(dump_command)
main.add_command(load_command)
main.add_command(merge_command)
main.add_command(export_command)
main.add_command(files_group)
main.add_command(import_command)
main.add_command(import_revert_command)
main.add_command(token_command)


if __name__ == "__main__":  # python -m karte.cli, as well as the `karte` entry point
    main()
