"""The records service: every write and read of a pack's records (DESIGN rule 4).

`service` is the front (`Records`); `write`, `query`, `delete`, `store` and `moves` are its
parts: validation and stamping, list queries, soft deletes, the table access, stage history.
"""

from karte.store.records.service import Records

__all__ = ["Records"]
