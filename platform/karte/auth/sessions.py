"""Sessions that can be ended: one `karte_session` row per sign-in (SPEC §15 "Serving").

The signed cookie carries a random token; the table keeps only its SHA-256, so a copy of
the table signs nobody in. Every request finds its live session with one indexed lookup,
joined with the user's row; `last_seen_at` is written at most once a minute, not on every
request. Nothing lives in a process, so a sign-out holds on every app server at once.

A session ends when it is revoked (sign-out, a new password, deactivation, "sign out
everywhere"), after `Lifetime.idle` without a request, or `Lifetime.longest` after sign-in,
whichever comes first. Ended rows of a user are deleted at their next sign-in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from karte.store.tables import engine_table

TOKEN_BYTES = 32
TOUCH_EVERY = dt.timedelta(minutes=1)
AGENT_LENGTH, IP_LENGTH = 300, 45


@dataclass(frozen=True)
class Lifetime:
    """How long a session lives: `idle` after its last request, `longest` after sign-in."""

    idle: dt.timedelta = dt.timedelta(hours=8)
    longest: dt.timedelta = dt.timedelta(days=14)


DEFAULT_LIFETIME = Lifetime()


def _sessions() -> sa.Table:
    return engine_table("karte_session")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _live(lifetime: Lifetime, at: dt.datetime) -> sa.ColumnElement[bool]:
    sessions = _sessions()
    return sa.and_(sessions.c.revoked_at.is_(None),
                   sessions.c.last_seen_at > at - lifetime.idle,
                   sessions.c.created_at > at - lifetime.longest)


def open_session(conn: sa.Connection, user_id: int, *, user_agent: str, ip: str,
                 lifetime: Lifetime, at: dt.datetime) -> tuple[int, str]:
    """A new session of this user: (its id, the token for the cookie). The user's ended
    sessions are deleted here, so the table holds little more than the live ones."""
    sessions, token = _sessions(), secrets.token_urlsafe(TOKEN_BYTES)
    conn.execute(sessions.delete().where(sessions.c.user_id == user_id,
                                         sa.not_(_live(lifetime, at))))
    id = conn.scalar(sessions.insert().returning(sessions.c.id).values(
        token_hash=_digest(token), user_id=user_id, created_at=at, last_seen_at=at,
        user_agent=user_agent[:AGENT_LENGTH], ip=ip[:IP_LENGTH]))
    return id, token


def find_session(engine: sa.Engine, token: str, lifetime: Lifetime,
                 at: dt.datetime | None = None) -> Any:
    """The user's row (plus `session_id`) of the live session with this token, if the
    user is active; else None."""
    at = at or now()
    sessions = _sessions()
    with engine.connect() as conn:
        row = conn.execute(_session_query(), {
            "token_hash": _digest(str(token)), "seen_after": at - lifetime.idle,
            "made_after": at - lifetime.longest}).first()
    if row is not None and at - row.session_seen_at >= TOUCH_EVERY:
        with engine.begin() as conn:
            conn.execute(sessions.update().where(sessions.c.id == row.session_id)
                         .values(last_seen_at=at))
    return row


@lru_cache(maxsize=1)
def _session_query() -> sa.Select[Any]:
    """`find_session`'s statement, built once: every request runs it (the live-session
    test of `_live`, with the times as parameters)."""
    sessions, users = _sessions(), engine_table("karte_user")
    person = [c for c in users.c if c.name != "password_hash"]
    return (sa.select(*person, sessions.c.id.label("session_id"),
                      sessions.c.last_seen_at.label("session_seen_at"))
            .join(sessions, sessions.c.user_id == users.c.id)
            .where(sessions.c.token_hash == sa.bindparam("token_hash"),
                   sessions.c.revoked_at.is_(None),
                   sessions.c.last_seen_at > sa.bindparam("seen_after"),
                   sessions.c.created_at > sa.bindparam("made_after"),
                   users.c.active))


def revoke(conn: sa.Connection, user_id: int, *, only: int | None = None,
           keep: int | None = None) -> int:
    """End the user's sessions: all of them, `only` that one, or all but `keep`. Returns
    how many were live."""
    sessions = _sessions()
    match = [sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None)]
    if only is not None:
        match.append(sessions.c.id == only)
    if keep is not None:
        match.append(sessions.c.id != keep)
    return conn.execute(sessions.update().where(*match).values(revoked_at=now())).rowcount


def end_sessions(engine: sa.Engine, user_id: int, *, only: int | None = None,
                 keep: int | None = None) -> int:
    """`revoke` in a transaction of its own (sign-out, the account page)."""
    with engine.begin() as conn:
        return revoke(conn, user_id, only=only, keep=keep)


def live_sessions(engine: sa.Engine, user_id: int, lifetime: Lifetime) -> list[dict[str, Any]]:
    """The user's live sessions, most recently used first (no tokens, no hashes)."""
    sessions = _sessions()
    shown = [c for c in sessions.c if c.name != "token_hash"]
    query = (sa.select(*shown).where(sessions.c.user_id == user_id, _live(lifetime, now()))
             .order_by(sessions.c.last_seen_at.desc(), sessions.c.id.desc()))
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]
