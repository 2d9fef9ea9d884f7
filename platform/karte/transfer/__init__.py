"""Data in and out (SPEC §14): reading files as people write them, importing them through
the records service in revertible batches. No web framework here: the wizard in karte.web
and the `karte import` command are two skins over these functions."""
