"""People who sign in: create or update, verify a password, look up, deactivate.

Passwords are hashed with argon2id (argon2-cffi's defaults). Verifying an unknown email
still runs one argon2 verification against a dummy hash, so a response's timing does not
tell whether an address has an account.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass
from typing import Any

import email_validator
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from karte.meta.model import Pack
from karte.meta.problems import did_you_mean
from karte.store.actor import Actor
from karte.store.tables import engine_table

MIN_PASSWORD = 8
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User(Actor):
    """A signed-in person; the records service takes one as its `actor`."""

    timezone: str | None = None
    active: bool = True
    stamp: str = ""  # changes when the password does: signs the session (get_id)

    # Flask-Login's user protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """"<id>:<stamp>": a password reset ends every session signed with the old one."""
        return f"{self.id}:{self.stamp}"


def _users() -> sa.Table:
    return engine_table("karte_user")


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("karte: no such user")


def normalise_email(email: str) -> str:
    """The address as stored (lower-case); ValueError with the reason when invalid."""
    try:
        found = email_validator.validate_email(str(email).strip(), check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise ValueError(f"not a valid email address: {error}") from None
    return found.normalized.lower()


def _checked_role(pack: Pack, role: str) -> str:
    if role not in pack.role_names:
        raise ValueError(f'unknown role "{role}"{did_you_mean(role, pack.role_names)}; '
                         f"roles of this pack: {', '.join(pack.role_names)}")
    return role


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def add_user(engine: sa.Engine, pack: Pack, email: str, role: str,
             password: str | None = None, name: str | None = None) -> int:
    """Create the user, or update the one with this email (role; name and password when
    given). Adding an existing user also re-activates them. Returns the user's id."""
    address = normalise_email(email)
    values: dict[str, Any] = {"role": _checked_role(pack, role), "active": True,
                              "updated_at": dt.datetime.now(dt.UTC)}
    if name is not None:
        values["name"] = name.strip()
    if password is not None:
        values["password_hash"] = _hash(password)
    users = _users()
    with engine.begin() as conn:
        existing = conn.scalar(sa.select(users.c.id).where(users.c.email == address))
        if existing is not None:
            conn.execute(users.update().where(users.c.id == existing).values(values))
            return existing
        return conn.scalar(users.insert().returning(users.c.id).values(
            email=address, created_at=values["updated_at"], **values))


def _stamp(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def _user(row: Any) -> User:
    return User(id=row.id, email=row.email, name=row.name, role=row.role, locale=row.locale,
                timezone=row.timezone, active=row.active, stamp=_stamp(row.password_hash))


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(engine: sa.Engine, email: str, password: str) -> User | None:
    """The active user with this email and password, else None (one argon2 check either
    way). A hash made with older parameters is upgraded on success."""
    try:
        address = normalise_email(email)
    except ValueError:
        address = None
    users = _users()
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.email == address)).first()
    stored = row.password_hash if row is not None and row.password_hash else None
    matched = _matches(stored or _dummy_hash(), str(password))
    if row is None or stored is None or not matched or not row.active:
        return None
    if _hasher.check_needs_rehash(stored):
        with engine.begin() as conn:
            conn.execute(users.update().where(users.c.id == row.id)
                         .values(password_hash=_hasher.hash(str(password))))
    return _user(row)


def get_user(engine: sa.Engine, id: int) -> User | None:
    """The user with this id (inactive ones too: check `.active`), or None."""
    users = _users()
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.id == id)).first()
    return _user(row) if row is not None else None


def deactivate_user(engine: sa.Engine, user: int | str) -> None:
    """Stop a user (by id or email) from signing in; their records keep their name.
    LookupError when there is no such user."""
    users = _users()
    match = users.c.id == user if isinstance(user, int) else \
        users.c.email == normalise_email(user)
    with engine.begin() as conn:
        result = conn.execute(users.update().where(match).values(
            active=False, updated_at=dt.datetime.now(dt.UTC)))
    if result.rowcount == 0:
        raise LookupError(f"no user {user}")


def session_user(engine: sa.Engine, session_id: str) -> User | None:
    """The user a session cookie names ("<id>:<stamp>"), if still active and the password
    has not changed since the session began."""
    id, _, stamp = str(session_id).partition(":")
    if not id.isdigit():
        return None
    user = get_user(engine, int(id))
    if user is None or not user.active or user.stamp != stamp:
        return None
    return user


def record_login(engine: sa.Engine, id: int) -> None:
    users = _users()
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == id)
                     .values(last_login_at=dt.datetime.now(dt.UTC)))


def list_users(engine: sa.Engine) -> list[dict[str, Any]]:
    """Every user (active first, then by email), without password hashes."""
    users = _users()
    shown = [c for c in users.c if c.name != "password_hash"]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*shown).order_by(users.c.active.desc(), users.c.email))
        return [dict(row) for row in rows.mappings()]


def user_names(engine: sa.Engine, ids: Any) -> dict[int, str]:
    """{id: name or email} for the given user ids (one query)."""
    wanted = sorted({int(i) for i in ids if i is not None})
    if not wanted:
        return {}
    users = _users()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(users.c.id, users.c.name, users.c.email)
                            .where(users.c.id.in_(wanted)))
        return {row.id: row.name or row.email for row in rows}


# ------------------------------------------------------------------ the admin's changes

REASONS = {
    "email_invalid": "not a valid email address",
    "email_taken": "a user with this email already exists",
    "name_long": "a name has at most 200 characters",
    "role_unknown": "unknown role",
    "password_short": f"a password needs at least {MIN_PASSWORD} characters",
    "last_admin": "this is the last active admin: make another user admin first",
    "self_deactivate": "you cannot deactivate yourself",
}


class UserRefused(ValueError):
    """A change to users refused. `problems` maps the input at fault ("email", "name",
    "role", "password", "active") to a reason code from REASONS, which a page words in its
    own language; `status` is 422 for bad input, 409 for a rule about the users as they
    are (the last active admin, oneself). str() is English, for the CLI and logs."""

    def __init__(self, problems: dict[str, str], status: int = 422):
        self.problems, self.status = problems, status
        super().__init__("; ".join(f"{field}: {REASONS[code]}" if field else REASONS[code]
                                   for field, code in problems.items()))


def _input_problems(pack: Pack, email: str | None, role: str | None,
                    password: str | None, name: str = "") -> dict[str, str]:
    problems = {}
    if email is not None:
        try:
            normalise_email(email)
        except ValueError:
            problems["email"] = "email_invalid"
    if len(name.strip()) > 200:
        problems["name"] = "name_long"
    if role is not None and role not in pack.role_names:
        problems["role"] = "role_unknown"
    if password is not None and len(password) < MIN_PASSWORD:
        problems["password"] = "password_short"
    return problems


def create_user(engine: sa.Engine, pack: Pack, email: str, role: str, password: str,
                name: str = "") -> int:
    """A new, active user. Unlike `add_user` (the CLI's create-or-update), an address that
    already has an account is refused: a form must not silently change someone else."""
    problems = _input_problems(pack, email, role, password, name)
    if problems:
        raise UserRefused(problems)
    users, now = _users(), dt.datetime.now(dt.UTC)
    try:
        with engine.begin() as conn:
            return conn.scalar(users.insert().returning(users.c.id).values(
                email=normalise_email(email), name=name.strip(), role=role, active=True,
                password_hash=_hash(password), created_at=now, updated_at=now))
    except sa.exc.IntegrityError:
        raise UserRefused({"email": "email_taken"}) from None


def _locked(conn: sa.Connection, id: int) -> tuple[Any, set[int]]:
    """The user's row and the ids of the active admins, locked (PostgreSQL) in id order,
    so two admins demoting each other at once cannot leave nobody in charge."""
    users = _users()
    rows = conn.execute(sa.select(users.c.id, users.c.role, users.c.active)
                        .where((users.c.id == id) | ((users.c.role == "admin") & users.c.active))
                        .order_by(users.c.id).with_for_update()).all()
    target = next((row for row in rows if row.id == id), None)
    return target, {row.id for row in rows if row.role == "admin" and row.active}


def _state_problems(target: Any, admins: set[int], by: int | None, role: str | None,
                    active: bool | None) -> dict[str, str]:
    if active is False and by == target.id:
        return {"active": "self_deactivate"}
    demoted = role is not None and role != "admin"
    if target.id in admins and (demoted or active is False) and not admins - {target.id}:
        return {"role" if demoted else "active": "last_admin"}
    return {}


def update_user(engine: sa.Engine, pack: Pack, id: int, *, by: int | None = None,
                role: str | None = None, active: bool | None = None,
                password: str | None = None) -> User:
    """Change a user's role, active flag or password (None leaves one as it is), as the
    user `by`. Nobody deactivates themselves, and the last active admin stays one. A new
    password ends the user's sessions (they are signed with its stamp); so does
    deactivation (sessions of inactive users are refused). LookupError: no such user."""
    problems = _input_problems(pack, None, role, password)
    if problems:
        raise UserRefused(problems)
    values: dict[str, Any] = {"updated_at": dt.datetime.now(dt.UTC)}
    if role is not None:
        values["role"] = role
    if active is not None:
        values["active"] = active
    if password is not None:
        values["password_hash"] = _hash(password)
    users = _users()
    with engine.begin() as conn:
        target, admins = _locked(conn, id)
        if target is None:
            raise LookupError(f"no user {id}")
        problems = _state_problems(target, admins, by, role, active)
        if problems:
            raise UserRefused(problems, status=409)
        conn.execute(users.update().where(users.c.id == id).values(values))
    return get_user(engine, id)
