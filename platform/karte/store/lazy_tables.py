"""The records service's tables, each built the first time it is used.

Building the SQLAlchemy `Table`s of a 200-entity pack takes about half a second, and a
start that finds the database matching (store/migrate/fingerprint.py) needs none of them;
a request needs the few tables it reads. `LazyTables` is the mapping `Store.tables`: every
name is known at once (entity tables, `links` junctions, the engine's `karte_*` tables),
and a table is built — by the same functions as `build_metadata`, into one shared
`MetaData`, so foreign keys resolve by name as there — when it is first looked up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from functools import partial

import sqlalchemy as sa

from karte.meta.model import Pack
from karte.store.tables import _engine_tables, _junction, entity_table, junction_name


class LazyTables(Mapping[str, sa.Table]):
    """`build_metadata(pack, dialect).tables`, table by table on first use."""

    def __init__(self, pack: Pack, dialect: str | None = None):
        self.metadata = sa.MetaData()
        _engine_tables(self.metadata)
        self._lock = threading.Lock()
        self._makers: dict[str, Callable[[], sa.Table]] = {}
        for entity in pack.entities.values():
            self._makers[entity.table_name] = partial(entity_table, self.metadata, entity,
                                                      dialect)
            for field in entity.fields.values():
                if field.type == "links":
                    self._makers[junction_name(entity.name, field.name)] = partial(
                        _junction, self.metadata, entity, field)
        # finished tables only: a Table is in `metadata.tables` before its columns are
        # attached, so another thread must not read it from there while it is being built
        self._built: dict[str, sa.Table] = dict(self.metadata.tables)
        self._names = [*self._built, *self._makers]

    def __getitem__(self, name: str) -> sa.Table:
        found = self._built.get(name)
        if found is not None:
            return found
        if name not in self._makers:
            raise KeyError(name)
        with self._lock:                  # requests on several threads build it once
            found = self._built.get(name)
            if found is None:
                found = self._built[name] = self._makers[name]()
            return found

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in self._makers

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
