"""Uploads kept while a form is corrected: a signed token for a stored, unattached file.

A create or edit form that fails validation must not make the user upload the file
again: the page carries the file reference back in a hidden input, signed with the app's
secret (itsdangerous) and bound to the uploader, the entity and the field. A token that
was tampered with, is older than a day, or comes back from another user, entity or
field reads as nothing, so a token can never attach someone else's upload elsewhere.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from karte.fields import file_ref
from karte.store.actor import Actor, actor_id

SALT = "karte.files.pending"
MAX_AGE = 24 * 60 * 60
"""Seconds a pending upload stays usable: `karte files prune` keeps younger blobs."""


class Pending:
    """Signs and reads pending-upload tokens with one secret."""

    def __init__(self, secret: str):
        self._signer = URLSafeTimedSerializer(secret, salt=SALT)

    def sign(self, ref: dict[str, Any], actor: Actor | None, entity: str, field: str) -> str:
        return self._signer.dumps({"ref": ref, "by": actor_id(actor), "entity": entity,
                                   "field": field})

    def read(self, token: str, actor: Actor | None, entity: str,
             field: str) -> dict[str, Any] | None:
        """The reference the token carries, or None when it is not this actor's upload
        for this entity and field, too old, or not made by us."""
        try:
            data = self._signer.loads(token, max_age=MAX_AGE)
        except (BadSignature, TypeError, ValueError):   # SignatureExpired is a BadSignature
            return None
        if not isinstance(data, dict) or (data.get("by"), data.get("entity"),
                                          data.get("field")) != (actor_id(actor), entity,
                                                                 field):
            return None
        try:
            return file_ref(data.get("ref"))
        except ValueError:
            return None
