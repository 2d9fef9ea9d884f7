"""The database: tables from the Registry, migrations, and the records service.

`from karte.store import Records` is the import point for the service every page, command
and test writes through; `karte.store.migrate` compares and migrates.
"""

from karte.store.records import Records

__all__ = ["Records"]
