"""`karte dump DIR` and `karte load DIR` (SPEC §10, docs/dump.md): moving a database
between SQLite and PostgreSQL, and backing it up."""

from __future__ import annotations

from pathlib import Path

import click

from karte.commands.common import _database, _load, pack_option, reports_problems
from karte.problems import counted


@click.command("dump")
@pack_option
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@reports_problems
def dump_command(pack_dir: Path | None, folder: Path) -> None:
    """Write every table Karte owns to FOLDER (new or empty) as JSON Lines, and every
    stored file the rows reference to FOLDER/files, with a manifest of checksums. Only
    reads: a database the pack has not been migrated to is refused. Exit 1 when it
    cannot (nothing is left behind)."""
    from karte.files.storage import storage_for
    from karte.files.transfer import copier
    from karte.store.dump import DumpError, dump

    settings, pack = _load(pack_dir)
    storage = storage_for(settings.files_url, settings.instance)
    with _database(settings) as engine:
        try:
            manifest = dump(engine, pack, folder, echo=click.echo,
                            copy_files=copier(storage, click.echo))
        except DumpError as error:
            raise click.ClickException(str(error)) from None
    rows = sum(t["rows"] for t in manifest["tables"])
    click.echo(f"Dumped {rows} rows of {len(manifest['tables'])} tables and "
               f"{counted(len(manifest['files']), 'file')} to {folder}.")


@click.command("load")
@pack_option
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--replace", is_flag=True,
              help="Delete everything Karte's tables hold first (in the same transaction).")
@click.option("--force", is_flag=True,
              help="Load a dump made with other definitions; prints what will not load.")
@reports_problems
def load_command(pack_dir: Path | None, folder: Path, replace: bool, force: bool) -> None:
    """Load a dump written by `karte dump` into this database, all or nothing: checks
    every file's checksum, refuses a database holding data (unless --replace) and a dump
    of other definitions (unless --force), puts the dumped files into this instance's
    storage (KARTE_FILES_URL). Exit 1 when refused (no table changed)."""
    from karte.files.storage import storage_for
    from karte.files.transfer import putter
    from karte.store.dump import DumpError, load

    settings, pack = _load(pack_dir)
    storage = storage_for(settings.files_url, settings.instance)
    with _database(settings) as engine:
        try:
            load(engine, pack, folder, replace=replace, force=force, echo=click.echo,
                 put_files=putter(storage, click.echo))
        except DumpError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Loaded {folder}. Everyone signs in again (sessions are not dumped).")
