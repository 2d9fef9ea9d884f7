"""Column type changes without losing data: classify, dry-run, convert.

A database cast would decide on its own what `"12,5"` or `"2024-13-01"` becomes (SQLite's
CAST turns `"2024-01-01"` into 2024). Karte instead converts every stored value the way a
person's input would be converted — through the field type's normaliser in `karte.fields` —
so the dry run and the conversion agree exactly: a value that would not normalise is
counted (with example ids) and the change is refused, and a change that runs writes only
values that round-trip. The conversion is portable: add a temporary column of the new type,
copy converted values in batches, then drop the old column and rename the temporary one
(Alembic's batch mode recreates the table on SQLite, plain ALTERs elsewhere).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations, ops

from karte.fields import normalise
from karte.meta.model import Field
from karte.problems import counted
from karte.store import duplicate_keys

BATCH = 500
EXAMPLES = 5
LISTED = 50        # ids kept so that the rows can be listed (a list filter) and fixed
TEMP_SUFFIX = "__karte_new"


def conversion_field(field: Field) -> Field:
    """The field with only its storage rules: a stored value must fit the new type and
    size, while validation rules (pattern, bounds, required) apply to later writes. A
    formula takes no input but stores its `result`: a decimal converts as NUMERIC(18, 4)."""
    return replace(field.as_value(), pattern=None, min_length=None, min=None, max=None,
                   required=False)


def _length(type_: sa.String) -> int | None:
    return None if isinstance(type_, sa.Text) else type_.length


def is_widening(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> bool:
    """A string made wider (or into text): every stored value still fits, no data moves."""
    if not isinstance(old, sa.String) or not isinstance(new, sa.String):
        return False
    old_length, new_length = _length(old), _length(new)
    return new_length is None or (old_length is not None and new_length >= old_length)


def batches(conn: sa.Connection, table: str, column: str,
            type_: sa.types.TypeEngine[Any]) -> Iterator[Sequence[sa.Row[Any, Any]]]:
    """(id, value) rows with a value, in id order, a batch at a time (keyset paging keeps
    memory flat on large tables)."""
    source = sa.table(table, sa.column("id", sa.BigInteger()), sa.column(column, type_))
    value = source.c[column]
    last = None
    while True:
        query = sa.select(source.c.id, value.label("value")).where(value.is_not(None))
        if last is not None:
            query = query.where(source.c.id > last)
        rows = conn.execute(query.order_by(source.c.id).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _convert(field: Field, value: Any, country: str | None) -> tuple[bool, Any]:
    try:
        return True, normalise(field, value, country)
    except (ValueError, TypeError) as error:
        return False, str(error)


def dry_run(conn: sa.Connection, table: str, column: str, old_type: sa.types.TypeEngine[Any],
            field: Field, country: str | None) -> dict[str, Any]:
    """How many stored values exist and which would not convert to `field`'s type: the
    first ids (`ids`, enough to list them), and a few with their values (`examples`)."""
    checked, failed, values = 0, list[int](), list[str]()
    target = conversion_field(field)
    for rows in batches(conn, table, column, old_type):
        checked += len(rows)
        bad = [row for row in rows if not _convert(target, row.value, country)[0]]
        failed += [row.id for row in bad]
        values += [str(row.value) for row in bad[:EXAMPLES - len(values)]]
    return {"rows": checked, "would_not_convert": len(failed), "examples": failed[:EXAMPLES],
            "values": values, "ids": failed[:LISTED]}


def refusal(found: dict[str, Any]) -> str | None:
    """The sentence a person reads when a change would lose data, else None."""
    count = found["would_not_convert"]
    if not count:
        return None
    shown = [f"{i} {json.dumps(v, ensure_ascii=False)}" for i, v in
             zip(found["examples"], found.get("values", ()), strict=False)]
    more = ", …" if count > len(shown) else ""
    return (f"{count} of {counted(found['rows'], 'row')} would not convert (id and value: "
            f"{', '.join(shown)}{more}); correct or empty those values, then run the "
            "migration again")


def _copy_converted(conn: sa.Connection, table: str, column: str, temp: sa.Column[Any],
                    field: Field, country: str | None) -> None:
    old_type = sa.Table(table, sa.MetaData(), autoload_with=conn).c[column].type
    sink = sa.table(table, sa.column("id", sa.BigInteger()), sa.column(temp.name, temp.type))
    update = (sa.update(sink).where(sink.c.id == sa.bindparam("row_id"))
              .values({temp.name: sa.bindparam("converted")}))
    target = conversion_field(field)
    for rows in batches(conn, table, column, old_type):
        converted = []
        for row in rows:
            ok, value = _convert(target, row.value, country)
            if not ok:
                raise ValueError(f"{table}.{column}: row {row.id} does not convert ({value}); "
                                 "nothing was changed")
            converted.append({"row_id": row.id, "converted": value})
        conn.execute(update, converted)


def drop_indexes_on(op: Operations, table: str, column: str) -> list[str]:
    """Indexes naming the column go before it is swapped (they are re-created after)."""
    duplicate_keys.drop_on(op.get_bind(), table)     # ensure() makes them again after
    with duplicate_keys.quiet():
        found = sa.inspect(op.get_bind()).get_indexes(table)
    names = [ix["name"] for ix in found if ix["name"] and column in ix["column_names"]]
    for name in names:
        op.drop_index(name, table_name=table)
    return names


def create_indexes_on(op: Operations, table: sa.Table, column: str, names: list[str]) -> None:
    for index in table.indexes:
        if index.name in names and column in index.columns:
            op.invoke(ops.CreateIndexOp.from_index(index))


def change_type(op: Operations, table: sa.Table, column: str, field: Field,
                country: str | None) -> None:
    """Convert a column to its new type: temp column, converted copy, swap."""
    new = table.c[column]
    temp = sa.Column(f"{column}{TEMP_SUFFIX}", new.type, nullable=True)
    dropped = drop_indexes_on(op, table.name, column)
    op.add_column(table.name, temp)
    _copy_converted(op.get_bind(), table.name, column, temp, field, country)
    with op.batch_alter_table(table.name) as batch:
        batch.drop_column(column)
        batch.alter_column(temp.name, new_column_name=column)
    create_indexes_on(op, table, column, dropped)


def widen(op: Operations, table: sa.Table, column: str) -> None:
    """A wider string: ALTER … TYPE where supported, a table copy on SQLite."""
    with op.batch_alter_table(table.name) as batch:
        batch.alter_column(column, type_=table.c[column].type)
