"""`karte import ENTITY FILE` and `karte import-revert BATCH` (SPEC §10, §14): the import
engine of karte.transfer with a progress bar and the report printed.

Exit codes of `karte import`: 0 every row imported, 1 some rows failed (the others are
imported), 2 nothing imported — a file that cannot be read, a plan problem (a column
mapped to an unknown field, a stage column without --allow-moves...), or every row
failed. A dry run exits the same way the run would.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from karte.commands.common import _database, _load, active_user, pack_option, reports_problems

SHOWN_PROBLEMS = 200
SHOWN_DUPLICATES = 50


def _actor(engine: sa.Engine, email: str | None) -> Any:
    """The user named by --as, else the first active admin."""
    found = active_user(engine, email)
    if found is None:
        raise click.UsageError(f'There is no active user "{email}".' if email else
                               "There is no admin to import as: add one with `karte user add "
                               "EMAIL --role admin`, or name the user with --as.")
    return found


def _mapping(services: Any, entity: str, columns: list[str], map_file: Path | None
             ) -> dict[str, str | None]:
    """--map's JSON {column: field or null}, else the columns matched to fields (the
    entity's remembered mapping first)."""
    if map_file is not None:
        try:
            given = json.loads(map_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise click.UsageError(f"--map {map_file}: not a JSON object ({error}).") from None
        if not isinstance(given, dict):
            raise click.UsageError(f'--map {map_file}: write a JSON object such as '
                                   '{"Company": "name", "Notes": null}.')
        return {str(k): (None if v is None else str(v)) for k, v in given.items()}
    from karte.transfer.imports import remembered_mapping
    from karte.transfer.mapping import match_columns

    return match_columns(services.store.entity(entity), columns,
                         remembered_mapping(services, entity), pack=services.pack)


def _print_report(report: Any, mapping: dict[str, str | None]) -> None:
    used = {c: f for c, f in mapping.items() if f}
    if used:
        click.echo("Columns: " + ", ".join(f'"{c}" → {f}' for c, f in used.items()))
    said = (f"{report.created} created, {report.updated} updated, {report.unchanged} "
            f"unchanged, {report.failed} failed.")
    click.echo(f"Dry run, nothing written: {said}" if report.dry_run else said)
    if report.batch is not None and not report.dry_run:
        click.echo(f"Batch {report.batch}: revert it with `karte import-revert "
                   f"{report.batch}`.")
    for problem in report.problems[:SHOWN_PROBLEMS]:
        click.echo(str(problem), err=True)
    if len(report.problems) > SHOWN_PROBLEMS:
        click.echo(f"... and {len(report.problems) - SHOWN_PROBLEMS} more problems "
                   "(--failed-rows FILE writes them all).", err=True)
    for duplicate in report.duplicates[:SHOWN_DUPLICATES]:
        like = [f"line {n}" for n in duplicate.lines]
        like += [f"#{r['id']} {r['title']}" for r in duplicate.records]
        click.echo(f"line {duplicate.line} looks like {', '.join(like)} "
                   f"(same {' and '.join(duplicate.rule)})", err=True)
    if report.reason:
        click.echo(report.reason, err=True)


def _exit_code(report: Any) -> int:
    """2 nothing imported (a plan problem, an empty file, every row failed), 1 some rows
    failed or the batch stopped midway, 0 every row imported."""
    if report.imported == 0:
        return 2
    return 1 if report.failed or report.state == "failed" else 0


def _write_failed(services: Any, batch: int, path: Path) -> None:
    from karte.transfer.imports import failed_rows

    with path.open("w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerows(failed_rows(services, batch))
    click.echo(f"Failed rows written to {path}.")


@click.command("import")
@click.argument("entity")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and write nothing.")
@click.option("--key", default=None, help='Update records matching this unique field (or '
                                         '"id") instead of creating them.')
@click.option("--map", "map_file", type=click.Path(exists=True, dir_okay=False,
                                                   path_type=Path),
              help="JSON file {column: field or null} (default: columns matched by name "
                   "and label).")
@click.option("--allow-moves", is_flag=True, help="Apply a stage column as moves.")
@click.option("--encoding", default=None, help="The file's encoding (default: detected).")
@click.option("--day-first", is_flag=True, help="Read 01/02/2026 as 1 February.")
@click.option("--as", "as_email", default=None,
              help="Import as this user (default: the first admin).")
@click.option("--failed-rows", "failed_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the failed rows with a problem column to this CSV.")
@pack_option
@reports_problems
def import_command(entity: str, file: Path, dry_run: bool, key: str | None,
                   map_file: Path | None, allow_moves: bool, encoding: str | None,
                   day_first: bool, as_email: str | None, failed_path: Path | None,
                   pack_dir: Path | None) -> None:
    """Import a CSV, TSV or XLSX FILE into ENTITY through the records service. Exit 0
    when every row was imported, 1 when some failed, 2 when nothing was imported."""
    from karte.store import Records
    from karte.store.migrate import migrate
    from karte.transfer import imports
    from karte.transfer.read import ReadError, open_sheet
    from karte.workflow.service import Workflows

    settings, pack = _load(pack_dir)
    with _database(settings) as engine:
        migrate(engine, pack)
        services = Workflows(Records(engine, pack))
        actor = _actor(engine, as_email)
        try:
            sheet = open_sheet(file, encoding=encoding)
        except ReadError as error:
            click.echo(f"{file}: {error}", err=True)
            sys.exit(2)
        if entity not in pack.entities:
            click.echo(f'There is no entity "{entity}".', err=True)
            sys.exit(2)
        mapping = _mapping(services, entity, sheet.columns, map_file)
        plan = imports.Plan(entity, mapping, key=key, allow_moves=allow_moves,
                            encoding=encoding, day_first=day_first)
        if dry_run:
            report = imports.dry_run(services, sheet, plan, actor)
        else:
            report = _with_bar(services, sheet, plan, actor, file)
        _print_report(report, mapping)
        if failed_path is not None and report.batch is not None and not dry_run:
            _write_failed(services, report.batch, failed_path)
    sys.exit(_exit_code(report))


def _with_bar(services: Any, sheet: Any, plan: Any, actor: Any, file: Path) -> Any:
    from karte.transfer import imports

    done = 0
    with click.progressbar(length=1, label=f"Importing {file.name}", file=sys.stderr) as bar:
        def progress(now: int, total: int) -> None:
            nonlocal done
            bar.length = max(total, 1)
            bar.update(now - done)
            done = now
        return imports.run(services, sheet, plan, actor, progress, file_name=file.name)


@click.command("import-revert")
@click.argument("batch", type=int)
@click.option("--as", "as_email", default=None,
              help="Revert as this user (default: the first admin).")
@pack_option
@reports_problems
def import_revert_command(batch: int, as_email: str | None, pack_dir: Path | None) -> None:
    """Undo import BATCH: soft-delete what it created, restore what it changed. Refused
    (exit 1, nothing written) when records were edited since."""
    from karte.store import Records
    from karte.store.migrate import migrate
    from karte.transfer import imports
    from karte.workflow.service import Workflows

    settings, pack = _load(pack_dir)
    with _database(settings) as engine:
        migrate(engine, pack)
        services = Workflows(Records(engine, pack))
        actor = _actor(engine, as_email)
        try:
            report = imports.revert(services, batch, actor)
        except LookupError as error:
            raise click.UsageError(str(error)) from None
        except imports.ImportRefused as error:
            for reason in error.reasons:
                click.echo(reason, err=True)
            sys.exit(1)
    click.echo(f"Batch {batch} reverted: {report.created} created records deleted, "
               f"{report.updated} updated records restored.")
