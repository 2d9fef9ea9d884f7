"""People who sign in: create or update, verify a password, sign in, look up, deactivate.

Passwords are hashed with argon2id (argon2-cffi's defaults) and checked by passwords.py
wherever one is set. Verifying an unknown email still runs one argon2 verification against
a dummy hash, so a response's timing does not tell whether an address has an account.
Each sign-in is a row of `karte_session` (sessions.py); a new password, deactivation and
"sign out everywhere" revoke the user's sessions in the same transaction as the change.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any

import email_validator
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from karte.auth.passwords import MIN_PASSWORD, password_problem
from karte.auth.sessions import (
    DEFAULT_LIFETIME,
    Lifetime,
    find_session,
    now,
    open_session,
    revoke,
)
from karte.meta.model import Pack
from karte.problems import did_you_mean
from karte.store.actor import Actor
from karte.store.tables import engine_table

_hasher = PasswordHasher()

REASONS = {
    "email_invalid": "not a valid email address",
    "email_taken": "a user with this email already exists",
    "name_long": "a name has at most 200 characters",
    "role_unknown": "unknown role",
    "password_short": f"a password needs at least {MIN_PASSWORD} characters",
    "password_blank": "a password cannot be only spaces",
    "password_email": "a password must not contain the email address or the name before "
                      "the @ (attackers try those first)",
    "password_common": "this is one of the most common passwords, which attackers try "
                       "first",
    "password_wrong": "the current password is wrong",
    "password_mismatch": "the new password and its repetition differ",
    "last_admin": "this is the last active admin: make another user admin first",
    "self_deactivate": "you cannot deactivate yourself",
}


class UserRefused(ValueError):
    """A change to users refused. `problems` maps the input at fault ("email", "name",
    "role", "password", "current", "repeat", "active") to a reason code from REASONS,
    which a page words in its own language; `status` is 422 for bad input, 409 for a rule
    about the users as they are (the last active admin, oneself). str() is English, for
    the CLI and logs."""

    def __init__(self, problems: dict[str, str], status: int = 422):
        self.problems, self.status = problems, status
        super().__init__("; ".join(f"{where}: {REASONS[code]}" if where else REASONS[code]
                                   for where, code in problems.items()))


@dataclass(frozen=True)
class User(Actor):
    """A signed-in person; the records service takes one as its `actor`."""

    timezone: str | None = None
    active: bool = True
    session_id: int | None = None  # the karte_session row this request runs in
    token: str = field(default="", repr=False, compare=False)  # that session's cookie value

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
        """What Flask-Login keeps in the signed cookie: the session's token."""
        if not self.token:
            raise RuntimeError("no session: sign a user in with users.sign_in()")
        return self.token


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


def _hash(password: str, email: str) -> str:
    """The argon2 hash of an acceptable password; UserRefused says why one is not."""
    problem = password_problem(password, email)
    if problem is not None:
        raise UserRefused({"password": problem})
    return _hasher.hash(password)


def add_user(engine: sa.Engine, pack: Pack, email: str, role: str,
             password: str | None = None, name: str | None = None) -> int:
    """Create the user, or update the one with this email (role; name and password when
    given). Adding an existing user also re-activates them; a password ends their
    sessions. Returns the user's id."""
    address = normalise_email(email)
    values: dict[str, Any] = {"role": _checked_role(pack, role), "active": True,
                              "updated_at": now()}
    if name is not None:
        values["name"] = name.strip()
    if password is not None:
        values["password_hash"] = _hash(password, address)
    users = _users()
    with engine.begin() as conn:
        existing = conn.scalar(sa.select(users.c.id).where(users.c.email == address))
        if existing is not None:
            conn.execute(users.update().where(users.c.id == existing).values(values))
            if password is not None:
                revoke(conn, existing)
            return existing
        return conn.scalar(users.insert().returning(users.c.id).values(
            email=address, created_at=values["updated_at"], **values))


def _user(row: Any, **session: Any) -> User:
    return User(id=row.id, email=row.email, name=row.name, role=row.role, locale=row.locale,
                timezone=row.timezone, active=row.active, **session)


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
    """Stop a user (by id or email) from signing in and end their sessions; their records
    keep their name. LookupError when there is no such user."""
    users = _users()
    match = users.c.id == user if isinstance(user, int) else \
        users.c.email == normalise_email(user)
    with engine.begin() as conn:
        id = conn.scalar(sa.select(users.c.id).where(match))
        if id is None:
            raise LookupError(f"no user {user}")
        conn.execute(users.update().where(users.c.id == id).values(
            active=False, updated_at=now()))
        revoke(conn, id)


def sign_in(engine: sa.Engine, user: User, *, user_agent: str = "", ip: str = "",
            lifetime: Lifetime = DEFAULT_LIFETIME) -> User:
    """Start a session for a user whose password was verified: the user carrying its id
    and token (for Flask-Login); the sign-in time is recorded."""
    users, at = _users(), now()
    with engine.begin() as conn:
        id, token = open_session(conn, user.id, user_agent=user_agent, ip=ip,
                                 lifetime=lifetime, at=at)
        conn.execute(users.update().where(users.c.id == user.id).values(last_login_at=at))
    return replace(user, session_id=id, token=token)


def session_user(engine: sa.Engine, token: str,
                 lifetime: Lifetime = DEFAULT_LIFETIME) -> User | None:
    """The active user of the live session with this token (the cookie's), else None."""
    row = find_session(engine, token, lifetime)
    return _user(row, session_id=row.session_id, token=token) if row is not None else None


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


def user_emails(engine: sa.Engine, ids: Any) -> dict[int, str]:
    """{id: email} for the given user ids (one query): how an export names users raw."""
    wanted = sorted({int(i) for i in ids if i is not None})
    if not wanted:
        return {}
    users = _users()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(users.c.id, users.c.email).where(users.c.id.in_(wanted)))
        return {row.id: row.email for row in rows}


# ------------------------------------------------------------------ the admin's changes

def _input_problems(pack: Pack, email: str | None, role: str | None,
                    password: str | None, name: str = "",
                    owner: str | None = None) -> dict[str, str]:
    """Bad input, by field; the password is checked against `owner`'s address (else the
    `email` typed for a new user)."""
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
    if password is not None:
        problem = password_problem(password, owner or email)
        if problem is not None:
            problems["password"] = problem
    return problems


def create_user(engine: sa.Engine, pack: Pack, email: str, role: str, password: str,
                name: str = "") -> int:
    """A new, active user. Unlike `add_user` (the CLI's create-or-update), an address that
    already has an account is refused: a form must not silently change someone else."""
    problems = _input_problems(pack, email, role, password, name)
    if problems:
        raise UserRefused(problems)
    users, at = _users(), now()
    try:
        with engine.begin() as conn:
            return conn.scalar(users.insert().returning(users.c.id).values(
                email=normalise_email(email), name=name.strip(), role=role, active=True,
                password_hash=_hash(password, email), created_at=at, updated_at=at))
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


def _changes(role: str | None, active: bool | None, password: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"updated_at": now()}
    if role is not None:
        values["role"] = role
    if active is not None:
        values["active"] = active
    if password is not None:
        values["password_hash"] = _hasher.hash(password)
    return values


def update_user(engine: sa.Engine, pack: Pack, id: int, *, by: int | None = None,
                role: str | None = None, active: bool | None = None,
                password: str | None = None, sign_out: bool = False,
                keep_session: int | None = None) -> User:
    """Change a user's role, active flag or password (None leaves one as it is), or just
    `sign_out` their sessions, as the user `by`. Nobody deactivates themselves, and the
    last active admin stays one. A new password, deactivation and `sign_out` end the
    user's sessions, except `keep_session` (the one of an admin changing their own).
    LookupError: no such user."""
    user = get_user(engine, id)
    if user is None:
        raise LookupError(f"no user {id}")
    problems = _input_problems(pack, None, role, password, owner=user.email)
    if problems:
        raise UserRefused(problems)
    values = _changes(role, active, password)
    with engine.begin() as conn:
        target, admins = _locked(conn, id)
        if target is None:
            raise LookupError(f"no user {id}")
        problems = _state_problems(target, admins, by, role, active)
        if problems:
            raise UserRefused(problems, status=409)
        conn.execute(_users().update().where(_users().c.id == id).values(values))
        if password is not None or active is False or sign_out:
            revoke(conn, id, keep=keep_session)
    user = get_user(engine, id)
    if user is None:              # deleted since, by someone else
        raise LookupError(f"no user {id}")
    return user


def change_password(engine: sa.Engine, id: int, *, current: str, new: str, repeated: str,
                    keep_session: int | None = None) -> None:
    """A user changing their own password: the current one is required, the new one typed
    twice. Their other sessions end; `keep_session` (the one in use) carries on."""
    user = get_user(engine, id)
    if user is None:
        raise LookupError(f"no user {id}")
    problems = {}
    if verify_password(engine, user.email, current) is None:
        problems["current"] = "password_wrong"
    problem = password_problem(new, user.email)
    if problem is not None:
        problems["password"] = problem
    elif new != repeated:
        problems["repeat"] = "password_mismatch"
    if problems:
        raise UserRefused(problems)
    users = _users()
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == id).values(
            password_hash=_hasher.hash(new), updated_at=now()))
        revoke(conn, id, keep=keep_session)
