"""Compare the definitions with the database and migrate (SPEC §6.3).

`run` plans, applies and purges; `compare` classifies Alembic's differences into steps
(`steps`), `checks` counts the rows that stand in the way, `types` converts columns,
`values` finds and rewrites retired stages and options, `operations` runs steps as
Alembic operations, `schema_history` records every change, and `pending` lets the app
serve while a risky step waits.
"""

from karte.store.migrate.run import (
    HistoryEntry,
    Plan,
    Step,
    describe,
    history,
    migrate,
    plan,
    purge,
)

__all__ = ["HistoryEntry", "Plan", "Step", "describe", "history", "migrate", "plan", "purge"]
