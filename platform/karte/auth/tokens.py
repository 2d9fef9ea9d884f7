"""Personal API tokens (SPEC §11.1). Being built by issue 14: until then no token verifies."""

from __future__ import annotations

import sqlalchemy as sa

from karte.auth.users import User


def verify(engine: sa.Engine, presented: str) -> tuple[User | None, str]:
    return None, "unknown"


def reason_text(reason: str) -> str:
    return "This token is not known."
