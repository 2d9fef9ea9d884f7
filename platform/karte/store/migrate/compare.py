"""Compare the pack with the database: Alembic's comparison, classified into `Step`s.

Alembic's `compare_metadata` finds the differences; each kind of difference has a small
classifier here that decides what it means for a CRM: safe (applied at startup), risky
(waits for `--apply`, with a dry run), or only reported (removed fields and entities keep
their data). Renames declared with `renamed_from` are found first, so a renamed field is
never seen as a removed column plus a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from karte.meta.model import Entity, Pack
from karte.problems import counted
from karte.store import duplicate_keys, search_index, title_index
from karte.store.migrate import types
from karte.store.migrate.checks import (
    duplicates,
    empty_required,
    example_list,
    live_rows,
    orphans,
)
from karte.store.migrate.steps import Step, step_rank
from karte.store.migrate.values import value_steps
from karte.store.tables import index_name, junction_name


def _included(name: str | None, type_: str, parents: Any) -> bool:
    """Title and search indexes (`karte.store.title_index`, `karte.store.search_index`)
    live outside the pack's metadata."""
    return not ((type_ == "index" and (title_index.ours(name) or duplicate_keys.ours(name)))
                or (type_ in ("index", "table") and search_index.ours(name)))


def context(conn: sa.Connection) -> MigrationContext:
    return MigrationContext.configure(conn, opts={"compare_type": True,
                                                  "include_name": _included})


@dataclass
class Comparison:
    """What a classifier needs: the connection, the pack, and the database as found."""

    conn: sa.Connection
    pack: Pack
    metadata: sa.MetaData
    existing: dict[str, dict[str, sa.types.TypeEngine[Any]]]  # table -> column -> type
    renamed: dict[tuple[str, str], str] = field(default_factory=dict)

    def db_column(self, table: str, column: str) -> str | None:
        """Where the column's data is now (its old name while a rename is pending)."""
        name = self.renamed.get((table, column), column)
        return name if name in self.existing.get(table, ()) else None

    def type_text(self, type_: sa.types.TypeEngine[Any]) -> str:
        return str(type_.compile(dialect=self.conn.dialect))


def existing_columns(conn: sa.Connection) -> dict[str, dict[str, sa.types.TypeEngine[Any]]]:
    inspector = sa.inspect(conn)
    return {t: {c["name"]: c["type"] for c in inspector.get_columns(t)}
            for t in inspector.get_table_names()}


def _field_renames(entity: Entity, existing: dict[str, dict[str, Any]]) -> Iterable[Step]:
    columns = existing.get(entity.table_name, {})
    for f in entity.fields.values():
        old = f.renamed_from
        if not old or not columns:
            continue
        if f.type == "links":
            source, target = junction_name(entity.name, old), junction_name(entity.name, f.name)
            if source in existing and target not in existing:
                yield Step("rename_table", source, None, f"rename table {source} to {target} "
                           f"(field {entity.name}.{old} renamed; links kept)", True,
                           {"to": target})
        elif old in columns and f.name not in columns:
            yield Step("rename_column", entity.table_name, f.name,
                       f"rename column {entity.name}.{old} to {f.name} (data kept)", True,
                       {"from": old})


def rename_steps(conn: sa.Connection, pack: Pack) -> list[Step]:
    """`renamed_from` renames whose old column (or junction) exists and new one does not."""
    existing = existing_columns(conn)
    return [s for e in pack.entities.values() for s in _field_renames(e, existing)]


def _add_table(cmp: Comparison, table: sa.Table) -> list[Step]:
    return [Step("add_table", table.name, None, f"create table {table.name}", True,
                 {"columns": list(table.c.keys())})]


def _retire_table(cmp: Comparison, table: sa.Table) -> list[Step]:
    rows = cmp.conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    return [Step("retire_table", table.name, None,
                 f"table {table.name} is no longer defined: kept with its "
                 f"{counted(rows, 'row')}", True,
                 {"rows": rows})]


def _add_column(cmp: Comparison, schema: Any, table: str, column: sa.Column[Any]) -> list[Step]:
    safe = column.nullable or column.server_default is not None
    return [Step("add_column", table, column.name,
                 f"add column {table}.{column.name} ({cmp.type_text(column.type)})", safe,
                 {"type": cmp.type_text(column.type)})]


def _retire_column(cmp: Comparison, schema: Any, table: str, column: sa.Column[Any]) -> list[Step]:
    source = sa.table(table, sa.column(column.name))
    values = cmp.conn.execute(sa.select(sa.func.count()).select_from(source)
                              .where(source.c[column.name].is_not(None))).scalar_one()
    return [Step("retire_column", table, column.name,
                 f"field {table}.{column.name} is no longer defined: column kept with its "
                 f"{counted(values, 'value')} (drop it with "
                 f"`karte migrate --purge {table}.{column.name}`)", True, {"values": values})]


def _table_of(index: sa.Index) -> str:
    # The comparison only yields indexes of tables (alembic reads them from one).
    return cast(sa.Table, index.table).name


def _add_index(cmp: Comparison, index: sa.Index) -> list[Step]:
    table = _table_of(index)
    if table not in cmp.existing:
        return []  # created with its table
    columns = [c.name for c in index.columns]
    detail: dict[str, Any] = {"index": index.name, "unique": bool(index.unique)}
    where = f"index {index.name} on {table} ({', '.join(columns)})"
    if index.unique:
        sources = [cmp.db_column(table, c) for c in columns]
        found = duplicates(cmp.conn, table, sources)
        if found["duplicated"]:
            detail.update(found, refused=(
                f"{counted(found['duplicated'], 'value')} repeated among live rows (ids "
                f"{example_list(found['examples'])}); make them unique, then migrate again"))
            return [Step("add_index", table, ", ".join(columns),
                         f"add unique {where}: {detail['refused']}", False, detail)]
    return [Step("add_index", table, ", ".join(columns), f"add {where}", True, detail)]


def _drop_index(cmp: Comparison, index: sa.Index) -> list[Step]:
    return [Step("drop_index", _table_of(index), None,
                 f"drop index {index.name} (no longer wanted; no data lost)", True,
                 {"index": index.name})]


def _type_change(cmp: Comparison, table: str, column: str, old: sa.types.TypeEngine[Any],
                 new: sa.types.TypeEngine[Any]) -> Step:
    change = {"from": cmp.type_text(old), "to": cmp.type_text(new)}
    what = f"{table}.{column} from {change['from']} to {change['to']}"
    if types.is_widening(old, new):
        return Step("widen_column", table, column, f"widen {what}", True, change)
    entity = cmp.pack.entities.get(table)
    if entity is None or column not in entity.fields:
        change["refused"] = "no field definition to convert the stored values with"
        return Step("change_type", table, column, f"change {what}: refused", False, change)
    found = types.dry_run(cmp.conn, table, cmp.db_column(table, column) or column, old,
                          entity.fields[column], cmp.pack.country)
    change.update(found, field_type=entity.fields[column].type)
    refused = types.refusal(found)
    if refused:
        change["refused"] = refused
    result = refused or f"all {found['rows']} stored values convert"
    return Step("change_type", table, column, f"change {what}: {result}", False, change)


def _modify(cmp: Comparison, schema: Any, table: str, column: str, info: dict[str, Any],
            old: Any, new: Any, *, kind: str = "") -> list[Step]:
    if kind == "modify_type":
        return [_type_change(cmp, table, column, old, new)]
    return [Step("differs", table, column,
                 f"{table}.{column}: {kind.removeprefix('modify_')} differs from the "
                 f"definitions ({old!r} in the database); not changed", True,
                 {"difference": kind})]


def _differs(cmp: Comparison, target: Any, *rest: Any, kind: str = "") -> list[Step]:
    """Any other difference is shown, never acted on: the plan hides nothing."""
    table = getattr(target, "table", target)
    where = getattr(table, "name", str(table))
    what = " ".join(filter(None, [kind.replace("_", " "), getattr(target, "name", None)]))
    return [Step("differs", where, None, f"{where}: {what} differs from the definitions; "
                 "not changed", True, {"difference": kind})]


def _key_detail(constraint: sa.ForeignKeyConstraint) -> dict[str, Any]:
    table, column = constraint.parent.name, constraint.column_keys[0]
    return {"columns": list(constraint.column_keys), "referred": constraint.referred_table.name,
            "ondelete": constraint.ondelete,
            "name": constraint.name or f"fk_{table}_{column}"}  # SQLite's keys are unnamed


def _add_foreign_key(cmp: Comparison, constraint: sa.ForeignKeyConstraint) -> list[Step]:
    """A link's key changed (`to`, `on_delete`): safe when every stored id resolves."""
    table, column = constraint.parent.name, constraint.column_keys[0]
    if cmp.db_column(table, column) is None:
        return []  # a new column: its key is added with it
    detail = _key_detail(constraint)
    detail["name"] = index_name("fk", table, column)
    what = f"add foreign key {table}.{column} → {detail['referred']}"
    stored = cmp.existing[table].get(column)
    if not isinstance(stored, sa.Integer):
        return [Step("add_foreign_key", table, column, f"{what} (checked after the type "
                     "change)", False, detail)]
    found = orphans(cmp.conn, table, column, detail["referred"])
    if found["orphans"]:
        detail.update(found, refused=(
            f"{counted(found['orphans'], 'row')} pointing at no {detail['referred']} (ids "
            f"{example_list(found['examples'])}); correct or empty them, then migrate again"))
        return [Step("add_foreign_key", table, column, f"{what}: {detail['refused']}", False,
                     detail)]
    return [Step("add_foreign_key", table, column, what, True, detail)]


def _drop_foreign_key(cmp: Comparison, constraint: sa.ForeignKeyConstraint) -> list[Step]:
    table, column = constraint.parent.name, constraint.column_keys[0]
    if column not in cmp.metadata.tables[table].c:
        return []  # a retired column keeps its key
    return [Step("drop_foreign_key", table, column,
                 f"drop foreign key {table}.{column} → {constraint.referred_table.name} "
                 "(no data lost)", True, _key_detail(constraint))]


CLASSIFIERS: dict[str, Callable[..., list[Step]]] = {
    "add_table": _add_table, "remove_table": _retire_table,
    "add_column": _add_column, "remove_column": _retire_column,
    "add_index": _add_index, "remove_index": _drop_index, "add_fk": _add_foreign_key,
    "remove_fk": _drop_foreign_key,
}


def _classify(cmp: Comparison, diff: Any) -> list[Step]:
    if isinstance(diff, list):
        return [s for item in diff for s in _modify(cmp, *item[1:], kind=item[0])]
    classifier = CLASSIFIERS.get(diff[0])
    if classifier is None:
        return _differs(cmp, *diff[1:], kind=diff[0])
    return classifier(cmp, *diff[1:])


def _column_key(diff: Any) -> tuple[str, str] | None:
    if isinstance(diff, tuple) and diff[0] in ("add_column", "remove_column"):
        return diff[2], diff[3].name
    return None


def _renamed_type(cmp: Comparison, table: str, new: str,
                  old_column: sa.Column[Any]) -> list[Any]:
    column = cmp.metadata.tables[table].c[new]
    if not context(cmp.conn).impl.compare_type(old_column, column):
        return []
    return [[("modify_type", None, table, new, {}, old_column.type, column.type)]]


def _pending_renames(cmp: Comparison, diffs: list[Any], renames: list[Step]) -> list[Any]:
    """Before a rename is applied the database shows the old name; fold the removed and
    added column (or junction table) back into the rename, keeping any type change."""
    pairs = {(s.table, s.detail["from"]): s.column for s in renames
             if s.kind == "rename_column" and s.column is not None}
    tables = {s.table: s.detail["to"] for s in renames if s.kind == "rename_table"}
    cmp.renamed = {(table, new): old for (table, old), new in pairs.items()}
    for source, target in tables.items():
        cmp.existing[target] = cmp.existing[source]
    kept, extra = [], []
    for diff in diffs:
        key = _column_key(diff)
        if key in pairs and diff[0] == "remove_column":
            extra += _renamed_type(cmp, key[0], pairs[key], diff[3])
        elif key in cmp.renamed and diff[0] == "add_column":
            continue
        elif isinstance(diff, tuple) and diff[0] in ("add_table", "remove_table") and \
                diff[1].name in {*tables, *tables.values()}:
            continue
        else:
            kept.append(diff)
    return kept + extra


def compare(conn: sa.Connection, pack: Pack, metadata: sa.MetaData,
            last: dict[str, Any] | None, renames: Sequence[Step] = ()) -> list[Step]:
    """Every difference between the pack and the database, classified and ordered;
    `last` the definitions last recorded in the history, `renames` renames not applied
    yet (a plan that only reads)."""
    cmp = Comparison(conn, pack, metadata, existing_columns(conn))
    with duplicate_keys.quiet():
        diffs = compare_metadata(context(conn), metadata)
    if renames:
        diffs = _pending_renames(cmp, diffs, list(renames))
    steps = [step for diff in diffs for step in _classify(cmp, diff)]
    steps += _required_notes(cmp)
    steps += value_steps(conn, pack, cmp.existing, last)
    return sorted(steps, key=step_rank)


def _required_notes(cmp: Comparison) -> list[Step]:
    notes = []
    for entity in cmp.pack.entities.values():
        if entity.table_name not in cmp.existing or not live_rows(cmp.conn, entity.table_name):
            continue
        for f in entity.fields.values():
            if not f.required:
                continue
            found = empty_required(cmp.conn, entity, f,
                                   cmp.db_column(entity.table_name, f.name), cmp.existing)
            if found["count"]:
                more = " …" if found["count"] > len(found["examples"]) else ""
                notes.append(Step("required_on_empty", entity.table_name, f.name,
                                  f"{entity.name}.{f.name} is required but has "
                                  f"{counted(found['count'], 'live row')} without a value "
                                  f"(ids {example_list(found['examples'])}{more}; fill them "
                                  "in — they are never altered)", True, found))
    return notes
