"""`karte dump` and `karte load`: every table Karte owns as JSON Lines plus a manifest,
portable between SQLite and PostgreSQL (docs/dump.md)."""

from karte.store.dump.check import LoadPlan, check
from karte.store.dump.format import DumpError, dumped_tables, pack_fingerprint
from karte.store.dump.load import load
from karte.store.dump.write import dump

__all__ = ["DumpError", "LoadPlan", "check", "dump", "dumped_tables", "load",
           "pack_fingerprint"]
