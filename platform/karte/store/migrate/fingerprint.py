"""The fingerprint of a database schema: what lets a start skip reading the schema back.

Comparing a pack with the database makes Alembic read every table, column, index and key
back from the catalogue: seconds for a few hundred tables. A migration that leaves the
database matching the definitions (nothing waiting, nothing refused) stores, with its
history row, a hash of everything that decides the DDL: the database's dialect, the
definitions as applied, and the DDL the engine would emit for every table and index of
the pack's metadata (the engine's own `karte_*` tables and system columns included) and
for the indexes made after the migration (`EXTRA_INDEXES`: the title and search indexes). The
next start computes the same hash; when it equals the newest history row's, the database
was left matching exactly this, and the comparison is skipped. Any change of the pack, of
the engine's table or index rules, or of the dialect changes the hash, and the full
comparison runs as before. `karte migrate` always runs the full comparison (a table changed
by hand behind Karte's back is only seen there).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect

from karte.meta.model import Pack
from karte.store import duplicate_keys, search_index, title_index

FINGERPRINT = "fingerprint"     # the key of the history row's definitions that holds it
VERSION = "1"                   # bump when the way the hash is made changes
CODE = Path(__file__).resolve().parents[2]      # the karte package: what builds the DDL
MEMO = "fingerprints.json"
KEEP = 16

IndexProvider = Callable[[Pack, str], Iterable[Any]]
EXTRA_INDEXES: list[IndexProvider] = [title_index.indexes, search_index.indexes,
                                      duplicate_keys.indexes]
"""What is created after the migration, outside the pack's metadata: each a function of
the pack and the dialect's name returning `sa.Index`es, or any other DDL (a statement
such as `CreateTable`/`DDL`, or SQL text: an FTS table, a trigger). A module that adds
such a step appends its function here, so that a change in what it creates changes the
fingerprint."""


def _sql(element: Any, dialect: Dialect) -> str:
    """A column by its name; any other expression or default as the dialect writes it."""
    if isinstance(element, sa.Column):
        return str(element.name)
    if isinstance(element, sa.sql.ClauseElement):
        return str(element.compile(dialect=dialect))
    return repr(element)


def _options(item: Any, dialect: Dialect) -> str:
    """Dialect options (`sqlite_where`, `postgresql_where`, ...) with their SQL."""
    return str({key: _sql(value, dialect) for key, value in sorted(item.dialect_kwargs.items())})


def _column(column: sa.Column[Any], dialect: Dialect) -> str:
    default = column.server_default
    keys = sorted((key.target_fullname, str(key.ondelete), str(key.onupdate),
                   str(key.use_alter), str(key.name)) for key in column.foreign_keys)
    return " ".join(map(str, (
        "column", column.name, dialect.type_compiler_instance.process(column.type),
        column.nullable, column.primary_key, column.autoincrement, column.unique,
        column.index, _sql(getattr(default, "arg", None), dialect), keys,
        _options(column, dialect))))


def _names(constraint: sa.Constraint) -> list[str]:
    return [str(c.name) for c in getattr(constraint, "columns", ())]


def _table(table: sa.Table, dialect: Dialect) -> Iterable[str]:
    yield f"table {table.name} {_options(table, dialect)}"
    for column in table.columns:
        yield _column(column, dialect)
    for constraint in sorted(table.constraints, key=lambda c: (type(c).__name__, str(c.name),
                                                                _names(c))):
        yield (f"{type(constraint).__name__} {constraint.name} {_names(constraint)} "
               f"{_options(constraint, dialect)}")
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        yield _index(index, dialect)


def _index(index: sa.Index, dialect: Dialect) -> str:
    return (f"index {index.name} {index.unique} "
            f"{[_sql(e, dialect) for e in index.expressions]} {_options(index, dialect)}")


def schema_lines(pack: Pack, metadata: sa.MetaData, dialect: Dialect) -> Iterable[str]:
    """What decides the DDL the engine would emit for the pack on this dialect, in a
    stable order: every table (its columns with their types as the dialect names them,
    defaults, keys and options; its constraints; its indexes with their expressions and
    `WHERE`), then the indexes made after the migration. Cheaper than compiling every
    `CREATE TABLE`, and it holds everything those statements are made of."""
    yield f"dialect {dialect.name}"
    for name in sorted(metadata.tables):
        yield from _table(metadata.tables[name], dialect)
    for provider in EXTRA_INDEXES:
        yield from sorted(_extra(item, dialect) for item in provider(pack, dialect.name))


def _extra(item: Any, dialect: Dialect) -> str:
    if isinstance(item, sa.Index):
        return f"{getattr(item.table, 'name', '')} {_index(item, dialect)}"
    return _sql(item, dialect) if not isinstance(item, str) else item


def fingerprint(pack: Pack, metadata: sa.MetaData, dialect: Dialect) -> str:
    """sha256 of the dialect, the definitions and the DDL (see the module's docstring)."""
    digest = hashlib.sha256(f"karte schema fingerprint {VERSION}\n".encode())
    digest.update(json.dumps(pack.definitions, sort_keys=True, default=dict,
                             ensure_ascii=False).encode())
    for line in schema_lines(pack, metadata, dialect):
        digest.update(b"\n")
        digest.update(line.encode())
    return digest.hexdigest()


# -- remembered fingerprints ---------------------------------------------------------------
# The fingerprint needs the pack's whole metadata (half a second for 200 entities). It is
# a function of the definitions, Karte's code, SQLAlchemy and the database (dialect, driver,
# server version); `inputs` hashes those in a few milliseconds, and the instance folder
# remembers the fingerprint made from them, so an unchanged start builds no table at all.
# Any edit to any of Karte's modules, another SQLAlchemy or another server misses, and the
# fingerprint is made again from the DDL.


@functools.cache
def _code() -> str:
    digest = hashlib.sha256(f"sqlalchemy {sa.__version__}\n".encode())
    for path in sorted(CODE.rglob("*.py")):
        digest.update(f"{path.relative_to(CODE)}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def inputs(pack: Pack, dialect: Dialect) -> str:
    """sha256 of everything the fingerprint is made from (see above)."""
    digest = hashlib.sha256(f"karte schema fingerprint {VERSION}\n{_code()}\n{dialect.name} "
                            f"{dialect.driver} {dialect.server_version_info}\n".encode())
    digest.update(json.dumps(pack.definitions, sort_keys=True, default=dict,
                             ensure_ascii=False).encode())
    return digest.hexdigest()


def _read(folder: Path) -> dict[str, str]:
    with contextlib.suppress(OSError, ValueError):
        found = json.loads((folder / MEMO).read_text(encoding="utf-8"))
        if isinstance(found, dict):
            return {str(k): str(v) for k, v in found.items()}
    return {}


def remembered(folder: Path | None, key: str) -> str | None:
    """The fingerprint made before from the same inputs, if the folder has it."""
    return None if folder is None else _read(folder).get(key)


def remember(folder: Path | None, key: str, made: str) -> None:
    """Keep `made` for `key` (the newest few), written whole then renamed into place."""
    if folder is None:
        return
    memo = _read(folder)
    if memo.get(key) == made:
        return
    memo.pop(key, None)
    memo[key] = made
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        draft = folder / f"{MEMO}.{os.getpid()}"
        draft.write_text(json.dumps(dict(list(memo.items())[-KEEP:])), encoding="utf-8")
        os.replace(draft, folder / MEMO)
