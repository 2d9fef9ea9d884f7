"""`karte merge ENTITY KEEP_ID OTHER_ID` (SPEC §10, §14; docs/merge.md): the preview the
merge page shows — the values that differ, which side is taken, what is re-pointed —
then, once confirmed (or with --yes), the merge through the records service, as the
system (no role limits: the command line is the operator's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from karte.commands.common import _database, _load, pack_option, reports_problems
from karte.problems import counted


def _taken(options: tuple[str, ...], names: set[str]) -> dict[str, str]:
    """--take FIELD=other|keep, checked against the fields a merge may choose."""
    found = {}
    for option in options:
        name, _, side = option.partition("=")
        if name not in names or side not in ("keep", "other"):
            raise click.BadParameter(f"{option!r}: give FIELD=other or FIELD=keep, FIELD one "
                                     f"of {', '.join(sorted(names))}.", param_hint="--take")
        found[name] = side
    return found


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, list):      # files by their names, not as references
        return ", ".join(str(v["name"]) if isinstance(v, dict) and "name" in v else str(v)
                         for v in value)
    return str(value)


def _pointing(p: Any) -> str:
    if p.kind == "note":
        return counted(p.count, "note")
    if p.kind == "stage_move":
        return counted(p.count, "stage history entry", "stage history entries")
    kinds = {"link": "by", "timeline": "timeline items, by", "line": "lines, by",
             "junction": "listing it in"}
    return f"{counted(p.count, p.entity)} ({kinds[p.kind]} {p.field})"


@click.command("merge")
@pack_option
@click.argument("entity")
@click.argument("keep_id", type=int)
@click.argument("other_id", type=int)
@click.option("--take", "takes", multiple=True, metavar="FIELD=other",
              help="Take this field's value from the other record (repeatable).")
@click.option("--yes", is_flag=True, help="Merge without asking.")
@reports_problems
def merge(pack_dir: Path | None, entity: str, keep_id: int, other_id: int,
          takes: tuple[str, ...], yes: bool) -> None:
    """Merge OTHER_ID into KEEP_ID: references re-pointed, OTHER_ID soft-deleted."""
    from karte.store import Records
    from karte.store.errors import RecordError
    from karte.store.migrate import migrate as run_migrations
    from karte.store.records.merging import differing

    settings, pack = _load(pack_dir)
    with _database(settings) as engine:
        run_migrations(engine, pack)
        records = Records(engine, pack)
        try:
            found = records.merge_preview(entity, keep_id, other_id)
            keep, other = found["keep"], found["other"]
            taken = _taken(takes, {f.name for f in found["fields"]})
            click.echo(f"Keep #{keep_id}, merge #{other_id} into it, then delete #{other_id}.")
            values = {}
            for f, default in differing(found["fields"], keep, other):
                side = taken.get(f.name, default)
                if side == "other":
                    values[f.name] = other.get(f.name)
                click.echo(f"  {f.name}: {_shown(keep.get(f.name))} | "
                           f"{_shown(other.get(f.name))}  → {side}")
            for p in found["pointing"]:
                click.echo(f"  moves: {_pointing(p)}")
            if not yes and not click.confirm("Merge?", default=False):
                click.echo("Nothing merged.")
                return
            records.merge(entity, keep_id, other_id, values,
                          versions=(keep["version"], other["version"]))
        except RecordError as error:
            raise click.ClickException("; ".join(p.message for p in error.problems)) from None
    click.echo(f"Merged #{other_id} into #{keep_id}.")
