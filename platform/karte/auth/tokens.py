"""Personal API tokens (SPEC §11.1): named, shown once, stored hashed, expiring, revocable.

A token reads `karte_<prefix>_<secret>`: the prefix (8 lower-case letters and digits) is
public — pages and the CLI show it so people can tell their tokens apart — and finds the
row with one indexed lookup; the table keeps only the SHA-256 of the whole token, so a copy
of the table (or of a dump) lets nobody in. A token acts as its user, with the user's role:
it stops working when it is revoked, when it expires, and while its user is deactivated
(reactivating the user brings their unrevoked tokens back). `last_used_at` is written at
most once a minute, not on every request. See docs/api-tokens.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from karte.auth.users import User
from karte.store.tables import engine_table

PREFIX_LENGTH, SECRET_LENGTH, NAME_LENGTH = 8, 40, 80
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
SECRET_ALPHABET = string.ascii_letters + string.digits  # ~238 bits in 40 characters
SHAPE = re.compile(rf"karte_([a-z0-9]{{{PREFIX_LENGTH}}})_[A-Za-z0-9]{{{SECRET_LENGTH}}}")
TOUCH_EVERY = dt.timedelta(minutes=1)
REASON_TEXTS = {
    "malformed": "this is not a Karte token: a token reads karte_<prefix>_<secret>",
    "unknown": "this token is not known: check that it was copied whole",
    "revoked": "this token was revoked",
    "expired": "this token has expired",
    "inactive": "the user of this token is deactivated",
}
REASONS = tuple(REASON_TEXTS)
"""Why `verify` refused a token ("" when it did not)."""

REFUSALS = {
    "name_blank": "a token needs a name",
    "name_long": f"a token's name has at most {NAME_LENGTH} characters",
    "name_taken": "you already have a live token with this name: choose another name or "
                  "revoke that token first",
    "expiry_past": "the expiry must lie in the future",
    "user_unknown": "no such user",
}


class TokenRefused(ValueError):
    """A token that cannot be made. `problems` maps the input at fault ("name",
    "expires_at", "user") to a code of REFUSALS, which `refusal_text` words in the UI's
    language (web/refusals.py); str() is English, for the CLI and logs."""

    def __init__(self, problems: dict[str, str], status: int = 422):
        self.problems, self.status = problems, status
        super().__init__("; ".join(f"{where}: {REFUSALS[code]}"
                                   for where, code in problems.items()))


@dataclass(frozen=True)
class TokenInfo:
    """A token as pages and the CLI show it: never its secret nor its hash."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    user_email: str = ""
    user_name: str = ""

    def state(self, at: dt.datetime | None = None) -> str:
        """"live", "expired" or "revoked"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (at or now()):
            return "expired"
        return "live"

    @property
    def shown(self) -> str:
        """How the token is recognised on a page: `karte_<prefix>_…`."""
        return f"karte_{self.prefix}_…"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _tokens() -> sa.Table:
    return engine_table("karte_api_token")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _i in range(length))


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """In UTC; a naive time is taken as UTC."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def end_of_day(day: dt.date, timezone: str | None = None) -> dt.datetime:
    """The expiry of a token "valid until `day`": midnight after it, in `timezone` (the
    user's or the pack's; UTC when None), as UTC."""
    zone = ZoneInfo(timezone) if timezone else dt.UTC
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)


def _name_problem(name: str) -> str | None:
    if not name:
        return "name_blank"
    return "name_long" if len(name) > NAME_LENGTH else None


def _live(at: dt.datetime) -> sa.ColumnElement[bool]:
    tokens = _tokens()
    return sa.and_(tokens.c.revoked_at.is_(None),
                   sa.or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > at))


def _checked(conn: sa.Connection, user_id: int, name: str, at: dt.datetime) -> None:
    """Refuse a second live token of the same name; the user's row is locked (PostgreSQL)
    so that two requests cannot both pass."""
    users, tokens = engine_table("karte_user"), _tokens()
    if conn.scalar(sa.select(users.c.id).where(users.c.id == user_id)
                   .with_for_update()) is None:
        raise TokenRefused({"user": "user_unknown"}, status=404)
    taken = conn.scalar(sa.select(tokens.c.id).where(
        tokens.c.user_id == user_id, tokens.c.name == name, _live(at)).limit(1))
    if taken is not None:
        raise TokenRefused({"name": "name_taken"}, status=409)


def add(engine: sa.Engine, user_id: int, name: str,
        expires_at: dt.datetime | None = None) -> tuple[str, TokenInfo]:
    """A new token of the user: (the secret — shown once, never stored —, its info).
    TokenRefused: a blank, long or taken name, an expiry in the past, no such user."""
    name, at, expiry = str(name).strip(), now(), _utc(expires_at)
    problems = {}
    if (problem := _name_problem(name)) is not None:
        problems["name"] = problem
    if expiry is not None and expiry <= at:
        problems["expires_at"] = "expiry_past"
    if problems:
        raise TokenRefused(problems)
    tokens = _tokens()
    with engine.begin() as conn:
        _checked(conn, user_id, name, at)
        prefix = _free_prefix(conn)
        secret = f"karte_{prefix}_{_random(SECRET_ALPHABET, SECRET_LENGTH)}"
        id = conn.scalar(tokens.insert().returning(tokens.c.id).values(
            user_id=user_id, name=name, prefix=prefix, secret_hash=_digest(secret),
            created_at=at, expires_at=expiry))
    return secret, TokenInfo(id=id, user_id=user_id, name=name, prefix=prefix,
                             created_at=at, expires_at=expiry)


def _free_prefix(conn: sa.Connection) -> str:
    """A prefix no token has (36⁸ of them: a clash is rare, and retried)."""
    tokens = _tokens()
    while True:
        prefix = _random(PREFIX_ALPHABET, PREFIX_LENGTH)
        if conn.scalar(sa.select(tokens.c.id).where(tokens.c.prefix == prefix)) is None:
            return prefix


@lru_cache(maxsize=1)
def _verify_query() -> sa.Select[Any]:
    """`verify`'s statement, built once: the token by its prefix, with its user's row."""
    tokens, users = _tokens(), engine_table("karte_user")
    person = [c for c in users.c if c.name != "password_hash"]
    return (sa.select(*person, tokens.c.id.label("token_id"), tokens.c.secret_hash,
                      tokens.c.expires_at, tokens.c.revoked_at, tokens.c.last_used_at)
            .join(users, users.c.id == tokens.c.user_id)
            .where(tokens.c.prefix == sa.bindparam("prefix")))


def _refusal(row: Any, presented: str, at: dt.datetime) -> str:
    """Why this row does not let `presented` in ("" when it does). The secret is checked
    first (in constant time), so only its holder learns a token's state."""
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(presented)):
        return "unknown"
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= at:
        return "expired"
    return "" if row.active else "inactive"


def verify(engine: sa.Engine, presented: str,
           at: dt.datetime | None = None) -> tuple[User | None, str]:
    """(the token's user, "") when `presented` is a live token of an active user, else
    (None, one of REASONS)."""
    at = at or now()
    shape = SHAPE.fullmatch(str(presented))
    if shape is None:
        return None, "malformed"
    with engine.connect() as conn:
        row = conn.execute(_verify_query(), {"prefix": shape.group(1)}).first()
    reason = _refusal(row, str(presented), at)
    if reason or row is None:
        return None, reason or "unknown"
    if row.last_used_at is None or at - row.last_used_at >= TOUCH_EVERY:
        tokens = _tokens()
        with engine.begin() as conn:
            conn.execute(tokens.update().where(tokens.c.id == row.token_id)
                         .values(last_used_at=at))
    return User(id=row.id, email=row.email, name=row.name, role=row.role, locale=row.locale,
                timezone=row.timezone, active=row.active), ""


def reason_text(reason: str) -> str:
    """Why a token was refused, in English (the CLI, logs); the API words it in the
    request's language (web/refusals.py)."""
    return REASON_TEXTS.get(reason, REASON_TEXTS["unknown"])


def _info(row: Any) -> TokenInfo:
    return TokenInfo(id=row.id, user_id=row.user_id, name=row.name, prefix=row.prefix,
                     created_at=row.created_at, expires_at=row.expires_at,
                     last_used_at=row.last_used_at, revoked_at=row.revoked_at,
                     user_email=row.user_email, user_name=row.user_name)


def _listing() -> sa.Select[Any]:
    tokens, users = _tokens(), engine_table("karte_user")
    shown = [c for c in tokens.c if c.name != "secret_hash"]
    return (sa.select(*shown, users.c.email.label("user_email"),
                      users.c.name.label("user_name"))
            .join(users, users.c.id == tokens.c.user_id))


def list_tokens(engine: sa.Engine, user_id: int | None = None, *,
                revoked: bool = False) -> list[TokenInfo]:
    """The tokens of a user (everyone's when None), newest first; revoked ones only when
    asked. One query, with the users' email and name."""
    tokens, query = _tokens(), _listing()
    if user_id is not None:
        query = query.where(tokens.c.user_id == user_id)
    if not revoked:
        query = query.where(tokens.c.revoked_at.is_(None))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(tokens.c.created_at.desc(), tokens.c.id.desc()))
        return [_info(row) for row in rows]


def get_token(engine: sa.Engine, token_id: int) -> TokenInfo | None:
    with engine.connect() as conn:
        row = conn.execute(_listing().where(_tokens().c.id == token_id)).first()
    return _info(row) if row is not None else None


def revoke(engine: sa.Engine, token_id: int, *, user_id: int | None = None) -> TokenInfo:
    """Revoke a token (for good; revoking it again changes nothing). `user_id` limits this
    to that user's own tokens. LookupError: no such token (of that user)."""
    tokens = _tokens()
    match = [tokens.c.id == token_id]
    if user_id is not None:
        match.append(tokens.c.user_id == user_id)
    with engine.begin() as conn:
        conn.execute(tokens.update().where(*match, tokens.c.revoked_at.is_(None))
                     .values(revoked_at=now()))
        row = conn.execute(_listing().where(*match)).first()
    if row is None:
        raise LookupError(f"no token {token_id}")
    return _info(row)
