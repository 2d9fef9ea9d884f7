"""`karte files prune [--apply]` (docs/files.md "Prune"): stored files that no record (a
deleted one included) and no audit row names any more, listed with their sizes; deleted
only with --apply. Files stored in the last 25 hours are kept: they may be uploads still
pending in a form that is being corrected (a pending upload lives a day)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click
import sqlalchemy as sa

from karte.commands.common import _database, _load, pack_option, reports_problems
from karte.config import Settings
from karte.problems import counted

if TYPE_CHECKING:
    from karte.files.service import Files
    from karte.meta.model import Pack


def files_for(settings: Settings, engine: sa.Engine, pack: Pack) -> Files:
    """The files service a command uses: the app's storage (KARTE_FILES_URL). Imported
    when used: every other command starts without the image and type libraries."""
    from karte.files.service import Files
    from karte.files.storage import storage_for
    from karte.store import Records

    return Files(Records(engine, pack), storage_for(settings.files_url, settings.instance),
                 settings.max_upload_mb, settings.secret_key())


@click.group("files")
def files_group() -> None:
    """Manage uploaded files."""


@files_group.command("prune")
@pack_option
@click.option("--apply", is_flag=True, help="Delete the files listed (default: only list).")
@reports_problems
def prune(pack_dir: Path | None, apply: bool) -> None:
    """List the stored files nothing references (sha256 and size); --apply deletes them."""
    from karte.store.migrate import migrate as run_migrations

    settings, pack = _load(pack_dir)
    with _database(settings) as engine:
        run_migrations(engine, pack)
        files = files_for(settings, engine, pack)
        found = files.unreferenced()
        for sha, size in found:
            click.echo(f"{sha}  {size}")
        if not apply:
            click.echo(f"{counted(len(found), 'file')} ({_bytes(size for _, size in found)}) "
                       "referenced by no record and no audit row. Run `karte files prune "
                       "--apply` to delete them." if found else
                       "Every stored file is referenced or stored in the last 25 hours; nothing to "
                       "prune.")
            return
        sizes = dict(found)
        deleted = files.prune(apply=True)
        click.echo(f"Deleted {counted(len(deleted), 'file')} "
                   f"({_bytes(sizes.get(sha, 0) for sha in deleted)}).")


def _bytes(sizes: Iterable[int]) -> str:
    return counted(sum(sizes), "byte")
