"""Personal API tokens in the database (auth/tokens.py): shown once, stored hashed, found by
their public prefix, refused when malformed, unknown, tampered with, revoked, expired or
of a deactivated user; last use written at most once a minute; names unique among live
tokens."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from karte.auth import tokens
from karte.auth.users import add_user, deactivate_user
from karte.store.migrate import migrate
from karte.store.tables import engine_table

ROLES = {"roles": {"sales": {"*": {"read": "all"}}}}
DAY = dt.timedelta(days=1)


@pytest.fixture
def pack(engine, make_pack):
    built = make_pack({"note": {"fields": {"title": {"type": "string"}}}}, pack=ROLES)
    migrate(engine, built)
    return built


@pytest.fixture
def ann(engine, pack) -> int:
    return add_user(engine, pack, "ann@example.com", "sales", name="Ann")


@pytest.fixture
def bob(engine, pack) -> int:
    return add_user(engine, pack, "bob@example.com", "sales", name="Bob")


def stored(engine) -> list:
    table = engine_table("karte_api_token")
    with engine.connect() as conn:
        return conn.execute(sa.select(table).order_by(table.c.id)).all()


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(engine, ann):
    secret, info = tokens.add(engine, ann, "  Shop  ")

    assert tokens.SHAPE.fullmatch(secret) and secret.startswith(f"karte_{info.prefix}_")
    assert (info.name, info.user_id, info.expires_at, info.state()) == ("Shop", ann, None,
                                                                        "live")
    row = stored(engine)[0]
    assert secret not in str(tuple(row)) and secret.split("_")[2] not in str(tuple(row))
    assert row.prefix == info.prefix and len(row.secret_hash) == 64
    assert info.shown == f"karte_{info.prefix}_…"


def test_verify_finds_the_user_and_touches_last_used_at_most_once_a_minute(engine, ann):
    secret, _info = tokens.add(engine, ann, "Shop")
    start = tokens.now()

    user, reason = tokens.verify(engine, secret, start)
    assert (reason, user.id, user.email, user.role, user.name) == (
        "", ann, "ann@example.com", "sales", "Ann")
    assert stored(engine)[0].last_used_at == start
    tokens.verify(engine, secret, start + dt.timedelta(seconds=30))
    assert stored(engine)[0].last_used_at == start
    later = start + dt.timedelta(seconds=61)
    tokens.verify(engine, secret, later)
    assert stored(engine)[0].last_used_at == later


@pytest.mark.parametrize("presented", [
    "", "karte", "karte_abc_def", "Bearer karte_x", "karte_ABCDEFGH_" + "a" * 40,
    "karte_abcdefgh_" + "a" * 39, "karte_abcdefgh_" + "a" * 41, "karte_abcdefgh_" + "-" * 40,
    "xkarte_abcdefgh_" + "a" * 40, "karte_abcdefgh_" + "a" * 40 + "\n"])
def test_a_malformed_token_is_refused_without_a_query(engine, ann, presented):
    assert tokens.verify(engine, presented) == (None, "malformed")


def test_an_unknown_prefix_or_a_tampered_secret_is_unknown(engine, ann):
    secret, info = tokens.add(engine, ann, "Shop")
    other = "a" if secret[-1] != "a" else "b"

    assert tokens.verify(engine, secret[:-1] + other) == (None, "unknown")
    wrong_prefix = "karte_" + ("0" * 8 if info.prefix != "0" * 8 else "1" * 8) + secret[14:]
    assert tokens.verify(engine, wrong_prefix) == (None, "unknown")
    assert stored(engine)[0].last_used_at is None


def test_a_revoked_token_is_refused_and_says_so(engine, ann):
    secret, info = tokens.add(engine, ann, "Shop")

    revoked = tokens.revoke(engine, info.id)
    assert revoked.state() == "revoked" and revoked.revoked_at is not None
    assert tokens.verify(engine, secret) == (None, "revoked")
    assert tokens.revoke(engine, info.id).revoked_at == revoked.revoked_at  # once only


def test_an_expired_token_is_refused(engine, ann):
    soon = tokens.now() + dt.timedelta(hours=1)
    secret, info = tokens.add(engine, ann, "Shop", expires_at=soon)

    assert tokens.verify(engine, secret, soon - dt.timedelta(seconds=1))[1] == ""
    assert tokens.verify(engine, secret, soon) == (None, "expired")
    assert info.state(soon) == "expired" and info.state() == "live"


def test_a_deactivated_users_tokens_stop_working_until_reactivated(engine, pack, ann):
    secret, _info = tokens.add(engine, ann, "Shop")

    deactivate_user(engine, ann)
    assert tokens.verify(engine, secret) == (None, "inactive")
    add_user(engine, pack, "ann@example.com", "sales")
    assert tokens.verify(engine, secret)[1] == ""


def test_the_secret_of_a_token_does_not_open_another(engine, ann, bob):
    first, _a = tokens.add(engine, ann, "Shop")
    second, b = tokens.add(engine, bob, "Shop")

    forged = f"karte_{b.prefix}_{first.split('_')[2]}"
    assert tokens.verify(engine, forged) == (None, "unknown")
    assert tokens.verify(engine, second)[0].id == bob


def test_names_are_checked_and_unique_among_a_users_live_tokens(engine, ann, bob):
    with pytest.raises(tokens.TokenRefused) as blank:
        tokens.add(engine, ann, "   ")
    assert blank.value.problems == {"name": "name_blank"} and blank.value.status == 422
    with pytest.raises(tokens.TokenRefused) as long:
        tokens.add(engine, ann, "x" * 81)
    assert long.value.problems == {"name": "name_long"}
    assert tokens.add(engine, ann, "x" * 80)[1].name == "x" * 80

    _secret, shop = tokens.add(engine, ann, "Shop")
    with pytest.raises(tokens.TokenRefused) as taken:
        tokens.add(engine, ann, "Shop")
    assert taken.value.problems == {"name": "name_taken"} and taken.value.status == 409
    assert "revoke that token first" in str(taken.value)
    tokens.add(engine, bob, "Shop")                  # another user's name
    tokens.revoke(engine, shop.id)
    tokens.add(engine, ann, "Shop")                  # the old one is revoked


def test_an_expiry_in_the_past_and_an_unknown_user_are_refused(engine, ann):
    with pytest.raises(tokens.TokenRefused) as past:
        tokens.add(engine, ann, "Shop", expires_at=tokens.now() - DAY)
    assert past.value.problems == {"expires_at": "expiry_past"}
    with pytest.raises(tokens.TokenRefused) as nobody:
        tokens.add(engine, 999_999, "Shop")
    assert nobody.value.problems == {"user": "user_unknown"} and nobody.value.status == 404
    assert stored(engine) == []


def test_list_and_revoke_own_or_everyones(engine, ann, bob):
    _s, a1 = tokens.add(engine, ann, "One")
    _s, a2 = tokens.add(engine, ann, "Two", expires_at=tokens.now() + DAY)
    _s, b1 = tokens.add(engine, bob, "Bob's")

    assert [t.id for t in tokens.list_tokens(engine, ann)] == [a2.id, a1.id]
    everyone = tokens.list_tokens(engine)
    assert [t.id for t in everyone] == [b1.id, a2.id, a1.id]
    assert (everyone[0].user_email, everyone[0].user_name) == ("bob@example.com", "Bob")
    with pytest.raises(LookupError):
        tokens.revoke(engine, b1.id, user_id=ann)   # not hers
    assert tokens.get_token(engine, b1.id).revoked_at is None
    tokens.revoke(engine, a1.id, user_id=ann)
    assert [t.id for t in tokens.list_tokens(engine, ann)] == [a2.id]
    assert [t.id for t in tokens.list_tokens(engine, ann, revoked=True)] == [a2.id, a1.id]
    with pytest.raises(LookupError):
        tokens.revoke(engine, 999_999)
    assert tokens.get_token(engine, 999_999) is None


def test_deleting_a_user_deletes_their_tokens(engine, ann):
    tokens.add(engine, ann, "Shop")
    users = engine_table("karte_user")
    with engine.begin() as conn:
        conn.execute(users.delete().where(users.c.id == ann))
    assert stored(engine) == []


def test_expiry_of_a_day_is_the_midnight_after_it():
    day = dt.date(2026, 12, 1)
    assert tokens.end_of_day(day) == dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    assert tokens.end_of_day(day, "Asia/Tokyo") == dt.datetime(2026, 12, 1, 15,
                                                               tzinfo=dt.UTC)


def test_reasons_are_worded_in_english_outside_a_request():
    assert "revoked" in tokens.reason_text("revoked")
    assert tokens.reason_text("nonsense") == tokens.reason_text("unknown")
    assert set(tokens.REASONS) == {"malformed", "unknown", "revoked", "expired", "inactive"}
