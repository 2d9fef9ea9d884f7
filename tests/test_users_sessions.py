"""Sessions in the database (auth/sessions.py): a hashed token per sign-in, idle and
absolute timeouts, last use written at most once a minute, and ended sessions cleaned up."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from karte.auth.sessions import Lifetime, end_sessions, find_session, live_sessions
from karte.auth.users import add_user, get_user, sign_in
from karte.store.migrate import migrate
from karte.store.tables import engine_table

ROLES = {"roles": {"sales": {"*": {"read": "all"}}}}
LIFETIME = Lifetime(idle=dt.timedelta(minutes=30), longest=dt.timedelta(days=2))


@pytest.fixture
def pack(engine, make_pack):
    built = make_pack({"note": {"fields": {"title": {"type": "string"}}}}, pack=ROLES)
    migrate(engine, built)
    return built


@pytest.fixture
def ann(engine, pack):
    return get_user(engine, add_user(engine, pack, "ann@example.com", "sales",
                                     password="correct horse"))


def rows(engine) -> list:
    sessions = engine_table("karte_session")
    with engine.connect() as conn:
        return conn.execute(sa.select(sessions).order_by(sessions.c.id)).all()


def test_the_cookie_token_is_random_and_only_its_hash_is_stored(engine, ann):
    first = sign_in(engine, ann, user_agent="Firefox", ip="192.0.2.7", lifetime=LIFETIME)
    second = sign_in(engine, ann, lifetime=LIFETIME)

    stored = rows(engine)
    assert first.token != second.token and len(first.token) >= 40
    assert first.get_id() == first.token and first.session_id == stored[0].id
    assert all(first.token not in str(tuple(row)) for row in stored)
    assert (stored[0].user_agent, stored[0].ip) == ("Firefox", "192.0.2.7")
    assert get_user(engine, ann.id).active and rows(engine)[0].revoked_at is None


def test_a_session_ends_after_the_idle_time(engine, ann):
    session = sign_in(engine, ann, lifetime=LIFETIME)
    start = rows(engine)[0].created_at

    assert find_session(engine, session.token, LIFETIME, start + dt.timedelta(minutes=29))
    assert not find_session(engine, session.token, LIFETIME,
                            start + dt.timedelta(minutes=29 + 31))


def test_a_session_in_use_ends_after_the_longest_time(engine, ann):
    session = sign_in(engine, ann, lifetime=LIFETIME)
    start = rows(engine)[0].created_at
    uses = [start + dt.timedelta(minutes=20 * n) for n in range(1, 3 * 48)]

    assert all(find_session(engine, session.token, LIFETIME, at) for at in uses)
    assert not find_session(engine, session.token, LIFETIME, start + dt.timedelta(days=2))


def test_last_use_is_written_at_most_once_a_minute(engine, ann):
    session = sign_in(engine, ann, lifetime=LIFETIME)
    start = rows(engine)[0].last_seen_at

    find_session(engine, session.token, LIFETIME, start + dt.timedelta(seconds=59))
    assert rows(engine)[0].last_seen_at == start
    find_session(engine, session.token, LIFETIME, start + dt.timedelta(minutes=5))
    assert rows(engine)[0].last_seen_at == start + dt.timedelta(minutes=5)


def test_a_wrong_or_ended_token_finds_nobody(engine, ann):
    session = sign_in(engine, ann, lifetime=LIFETIME)

    assert find_session(engine, session.token + "x", LIFETIME) is None
    assert end_sessions(engine, ann.id, only=session.session_id) == 1
    assert find_session(engine, session.token, LIFETIME) is None
    assert end_sessions(engine, ann.id, only=session.session_id) == 0


def test_live_sessions_lists_the_users_own_most_recent_first(engine, pack, ann):
    bob = get_user(engine, add_user(engine, pack, "bob@example.com", "sales"))
    older, newer = sign_in(engine, ann, ip="a"), sign_in(engine, ann, ip="b")
    sign_in(engine, bob, ip="c")
    end_sessions(engine, ann.id, only=older.session_id)
    sign_in(engine, ann, ip="d")

    listed = live_sessions(engine, ann.id, LIFETIME)

    assert [s["ip"] for s in listed][-1] == "b" and {s["ip"] for s in listed} == {"b", "d"}
    assert "token_hash" not in listed[0]
    assert newer.session_id in [s["id"] for s in listed]


def test_ended_sessions_are_deleted_at_the_users_next_sign_in(engine, ann):
    ended = sign_in(engine, ann, lifetime=LIFETIME)
    end_sessions(engine, ann.id)

    kept = sign_in(engine, ann, lifetime=LIFETIME)

    assert [(row.id, row.revoked_at) for row in rows(engine)] == [(kept.session_id, None)]
    assert find_session(engine, ended.token, LIFETIME) is None
