"""Carry out planned steps with Alembic operations, inside one transaction.

Each step kind has one small applier; `apply` runs them in plan order. The session gives
the whole migration a single transaction on both databases, so a failing step leaves the
database as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby

import sqlalchemy as sa
from alembic.operations import Operations, ops

from karte.meta.model import Pack
from karte.store.migrate import types, values
from karte.store.migrate.checks import orphans
from karte.store.migrate.compare import context
from karte.store.migrate.fill import FILL, fill
from karte.store.migrate.steps import Step
from karte.store.tables import field_column, index_name

COPY_FOR_KEYS = frozenset({"sqlite"})
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s"}  # names SQLite's unnamed keys


@dataclass
class Target:
    """Where steps are applied: Alembic operations on the migration's connection."""

    op: Operations
    metadata: sa.MetaData
    pack: Pack

    @property
    def conn(self) -> sa.Connection:
        return self.op.get_bind()


def operations(conn: sa.Connection) -> Operations:
    return Operations(context(conn))


def _check_foreign_keys(conn: sa.Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise ValueError(f"the migration would break {len(broken)} references "
                         f"(first: {tuple(broken[0])}); nothing was changed")


@contextmanager
def _sqlite_session(engine: sa.Engine) -> Iterator[sa.Connection]:
    """pysqlite commits DDL on its own, so the transaction is opened by hand; and foreign
    keys are off while it runs, because a batch table copy drops the old table, which
    with keys on would delete or null every referencing row. Keys are checked before
    the commit instead."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
                _check_foreign_keys(conn)
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")


@contextmanager
def session(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction for a whole migration (PostgreSQL's DDL is transactional)."""
    if engine.dialect.name == "sqlite":
        with _sqlite_session(engine) as conn:
            yield conn
        return
    with engine.begin() as conn:
        yield conn


def _add_tables(target: Target, steps: list[Step]) -> None:
    """New tables in dependency order; cycle keys (`use_alter`) are added after them."""
    tables = [target.metadata.tables[s.table] for s in steps]
    target.metadata.create_all(target.conn, tables=tables, checkfirst=False)


def _rename_table(target: Target, step: Step) -> None:
    target.op.rename_table(step.table, step.detail["to"])


def _rename_column(target: Target, step: Step) -> None:
    target.op.alter_column(step.table, step.detail["from"], new_column_name=step.column)


def _drop_index(target: Target, step: Step) -> None:
    target.op.drop_index(step.detail["index"], table_name=step.table)


def _add_column(target: Target, step: Step) -> None:
    """A fresh column (a copy of the table's own would leave its foreign key behind).
    SQLite does not record ON DELETE for a key added with ADD COLUMN as reflection reads
    it, so a column with a key is added there by copying the table."""
    entity = target.pack.entities.get(step.table)
    column = None
    if entity is not None and step.column in entity.fields:
        column = field_column(entity, entity.fields[step.column_name])
    if column is None:
        column = target.metadata.tables[step.table].c[step.column_name]
    key = next(iter(column.foreign_keys), None)
    if key is not None and target.conn.dialect.name in COPY_FOR_KEYS:
        with target.op.batch_alter_table(step.table, recreate="always") as batch:
            batch.add_column(sa.Column(column.name, column.type, nullable=True))
            batch.create_foreign_key(index_name("fk", step.table, column.name),
                                     key.target_fullname.split(".")[0], [column.name], ["id"],
                                     ondelete=key.ondelete)
    else:
        target.op.add_column(step.table, column, inline_references=True)


def _drop_foreign_key(target: Target, step: Step) -> None:
    with target.op.batch_alter_table(step.table, naming_convention=NAMING) as batch:
        batch.drop_constraint(step.detail["name"], type_="foreignkey")


def _add_foreign_key(target: Target, step: Step) -> None:
    """Checked again here: after a type change in the same run the plan could not."""
    detail = step.detail
    found = orphans(target.conn, step.table, step.column_name, detail["referred"])
    if found["orphans"]:
        raise ValueError(f"{step.target}: {found['orphans']} rows point at no "
                         f"{detail['referred']} (ids {found['examples']}); nothing was changed")
    with target.op.batch_alter_table(step.table, naming_convention=NAMING) as batch:
        batch.create_foreign_key(detail["name"], detail["referred"], detail["columns"], ["id"],
                                 ondelete=detail["ondelete"])


def _add_index(target: Target, step: Step) -> None:
    table = target.metadata.tables[step.table]
    index = next(i for i in table.indexes if i.name == step.detail["index"])
    target.op.invoke(ops.CreateIndexOp.from_index(index))


def _widen(target: Target, step: Step) -> None:
    types.widen(target.op, target.metadata.tables[step.table], step.column_name)


def _change_type(target: Target, step: Step) -> None:
    field = target.pack.entity(step.table).field(step.column_name)
    types.change_type(target.op, target.metadata.tables[step.table], step.column_name, field,
                      target.pack.country)


def _rename_value(target: Target, step: Step) -> None:
    values.rename_value(target.conn, target.pack.entity(step.table), step)


def _retire_value(target: Target, step: Step) -> None:
    values.retire_value(target.conn, target.metadata.tables, target.pack.entity(step.table),
                        step)


def _each(apply_one: Callable[[Target, Step], None]) -> Callable[[Target, list[Step]], None]:
    def apply_all(target: Target, steps: list[Step]) -> None:
        for step in steps:
            apply_one(target, step)
    return apply_all


APPLIERS: dict[str, Callable[[Target, list[Step]], None]] = {
    FILL: lambda target, steps: fill(target.conn, target.pack, steps),
    "add_table": _add_tables,
    "rename_table": _each(_rename_table),
    "rename_column": _each(_rename_column),
    "drop_index": _each(_drop_index),
    "add_column": _each(_add_column),
    "drop_foreign_key": _each(_drop_foreign_key),
    "add_foreign_key": _each(_add_foreign_key),
    "add_index": _each(_add_index),
    "widen_column": _each(_widen),
    "change_type": _each(_change_type),
    "rename_value": _each(_rename_value),
    "retire_value": _each(_retire_value),
}


def apply(target: Target, steps: list[Step]) -> None:
    """Run steps in the order given; consecutive steps of a kind run together (new
    tables must be created as one set for their foreign keys to resolve)."""
    for kind, group in groupby(steps, key=lambda s: s.kind):
        APPLIERS[kind](target, list(group))
