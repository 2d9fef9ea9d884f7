"""Who is writing: the records service stamps created_by/updated_by and audit rows with it.

It lives in `store` (not `auth`) because the dependency direction is meta ← store ← auth;
`karte.auth.users.User` extends it. `None` as an actor means the system itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    id: int
    email: str
    name: str = ""
    role: str = "admin"
    locale: str | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.email


def actor_id(actor: Actor | None) -> int | None:
    return actor.id if actor is not None else None
