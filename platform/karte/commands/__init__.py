"""Commands of `karte` beyond the core ones in karte.cli, one module per area (import,
export, dump/load, merge...). Each module defines click commands that karte.cli adds to
the `karte` group; the shared options and helpers are in karte.commands.common."""
