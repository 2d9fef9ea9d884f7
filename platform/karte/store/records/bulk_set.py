"""Setting the same values on many records at once, all or nothing (issue 12).

Each record is written by `Records.update` in one shared transaction, so rights, field
permissions, rules, unique checks, rollups, counters and the audit apply exactly as for
one record. Every record is tried, so the answer names each one that was refused and
why; if any was, the transaction is rolled back and nothing is written. On PostgreSQL
each update runs in a savepoint, so a refusal the database itself makes (a unique race)
does not abort the transaction before the other records have been tried.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from karte.problems import Problem
from karte.store.actor import Actor
from karte.store.errors import RecordError

if TYPE_CHECKING:
    from karte.store.records.service import Records

Refusals = dict[int, list[Problem]]


class _Undo(Exception):
    """Rolls the shared transaction back once every record has been tried."""


def update_many(records: Records, entity: str, ids: Iterable[int],
                values: Mapping[str, Any], actor: Actor | None) -> Refusals:
    """{} when every record of `ids` now has `values`; else each refused record's
    problems by id, and nothing was written."""
    wanted = list(dict.fromkeys(int(id) for id in ids))
    refused: Refusals = {}
    try:
        with records.transaction() as conn:
            found = {row["id"]: row for row in records.get_many(entity, wanted, actor=actor,
                                                                 conn=conn)}
            nested = conn.dialect.name == "postgresql"
            for id in wanted:
                row = found.get(id)
                if row is None:
                    refused[id] = [Problem("", f"There is no {entity} with id {id}.",
                                           "not_found")]
                    continue
                try:
                    if nested:
                        with conn.begin_nested():
                            records.update(entity, id, values, row["version"], actor,
                                           conn=conn)
                    else:
                        records.update(entity, id, values, row["version"], actor, conn=conn)
                except RecordError as error:
                    refused[id] = error.problems or [Problem("", str(error), "refused")]
            if refused:
                raise _Undo
    except _Undo:
        pass
    return refused
