"""Every problem of a pack, reported at once (SPEC §6.1).

`schema` checks each file against its JSON Schema; `report` runs the meaning checks of
`entities`, `fields` and `workflows` over a `context` of the whole pack, and holds the
table of problem codes.
"""

from karte.meta.validate.report import CODES, check_meaning, check_schemas, is_warning

__all__ = ["CODES", "check_meaning", "check_schemas", "is_warning"]
