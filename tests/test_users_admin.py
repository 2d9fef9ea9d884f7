"""The admin's changes to users (users.py): add refuses a taken address, role/active/
password changes, and the rules that keep someone in charge."""

from __future__ import annotations

import pytest

from karte.auth.users import (
    UserRefused,
    add_user,
    create_user,
    get_user,
    session_user,
    update_user,
    verify_password,
)
from karte.store.migrate import migrate

ROLES = {"roles": {"sales": {"*": {"read": "all", "create": True, "update": "own",
                                   "delete": False}}}}
SECRET = "correct horse battery"


@pytest.fixture
def pack(engine, make_pack):
    built = make_pack({"note": {"name": "note", "fields": {"title": {"type": "string"}}}},
                      pack=ROLES)
    migrate(engine, built)
    return built


def refusal(call) -> UserRefused:
    with pytest.raises(UserRefused) as error:
        call()
    return error.value


def test_create_user_makes_an_active_user_who_can_sign_in(engine, pack):
    id = create_user(engine, pack, " Ann@Example.com ", "sales", SECRET, name=" Ann ")

    user = verify_password(engine, "ann@example.com", SECRET)
    assert user is not None and user.id == id
    assert (user.email, user.name, user.role, user.active) == (
        "ann@example.com", "Ann", "sales", True)


def test_create_user_refuses_a_taken_address_and_leaves_the_user_alone(engine, pack):
    id = create_user(engine, pack, "ann@example.com", "sales", SECRET, name="Ann")

    error = refusal(lambda: create_user(engine, pack, "ANN@example.com", "admin",
                                        "another password", name="Impostor"))

    assert (error.problems, error.status) == ({"email": "email_taken"}, 422)
    user = get_user(engine, id)
    assert (user.name, user.role) == ("Ann", "sales")
    assert verify_password(engine, "ann@example.com", SECRET) is not None


def test_create_user_reports_every_bad_input_at_once(engine, pack):
    error = refusal(lambda: create_user(engine, pack, "ann-at-example", "sale", "short",
                                        name="x" * 201))

    assert error.problems == {"email": "email_invalid", "role": "role_unknown",
                              "password": "password_short", "name": "name_long"}
    assert "a password needs at least 8 characters" in str(error)


def test_update_user_changes_role_and_active(engine, pack):
    admin = create_user(engine, pack, "root@example.com", "admin", SECRET)
    ann = create_user(engine, pack, "ann@example.com", "sales", SECRET)

    assert update_user(engine, pack, ann, by=admin, role="admin").role == "admin"
    assert update_user(engine, pack, ann, by=admin, active=False).active is False
    assert verify_password(engine, "ann@example.com", SECRET) is None
    assert update_user(engine, pack, ann, by=admin, active=True).active is True
    assert verify_password(engine, "ann@example.com", SECRET) is not None


def test_update_user_refuses_an_unknown_role_or_short_password(engine, pack):
    ann = create_user(engine, pack, "ann@example.com", "sales", SECRET)

    assert refusal(lambda: update_user(engine, pack, ann, role="boss")).problems == {
        "role": "role_unknown"}
    assert refusal(lambda: update_user(engine, pack, ann, password="short")).problems == {
        "password": "password_short"}
    assert get_user(engine, ann).role == "sales"
    with pytest.raises(LookupError):
        update_user(engine, pack, 999, role="sales")


def test_a_new_password_ends_the_sessions_signed_with_the_old_one(engine, pack):
    ann = create_user(engine, pack, "ann@example.com", "sales", SECRET)
    session_id = get_user(engine, ann).get_id()
    assert session_user(engine, session_id) is not None

    update_user(engine, pack, ann, password="a brand new secret")

    assert session_user(engine, session_id) is None
    assert session_user(engine, get_user(engine, ann).get_id()) is not None
    assert verify_password(engine, "ann@example.com", SECRET) is None
    assert verify_password(engine, "ann@example.com", "a brand new secret") is not None


def test_deactivation_ends_sessions_and_reactivation_lets_them_sign_in_again(engine, pack):
    ann = create_user(engine, pack, "ann@example.com", "sales", SECRET)
    session_id = get_user(engine, ann).get_id()

    update_user(engine, pack, ann, active=False)
    assert session_user(engine, session_id) is None
    update_user(engine, pack, ann, active=True)
    assert session_user(engine, session_id) is not None


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(engine, pack):
    root = create_user(engine, pack, "root@example.com", "admin", SECRET)
    other = create_user(engine, pack, "other@example.com", "admin", SECRET)
    update_user(engine, pack, other, by=root, active=False)  # an inactive admin does not count

    demote = refusal(lambda: update_user(engine, pack, root, by=other, role="sales"))
    stop = refusal(lambda: update_user(engine, pack, root, by=other, active=False))

    assert (demote.problems, demote.status) == ({"role": "last_admin"}, 409)
    assert (stop.problems, stop.status) == ({"active": "last_admin"}, 409)
    assert get_user(engine, root).role == "admin" and get_user(engine, root).active
    update_user(engine, pack, other, by=root, active=True)
    assert update_user(engine, pack, root, by=other, role="sales").role == "sales"


def test_nobody_deactivates_themselves_but_may_hand_over_the_admin_role(engine, pack):
    root = create_user(engine, pack, "root@example.com", "admin", SECRET)
    create_user(engine, pack, "other@example.com", "admin", SECRET)

    error = refusal(lambda: update_user(engine, pack, root, by=root, active=False))

    assert (error.problems, error.status) == ({"active": "self_deactivate"}, 409)
    assert update_user(engine, pack, root, by=root, role="sales").role == "sales"


def test_add_user_still_creates_or_updates_for_the_command_line(engine, pack):
    first = create_user(engine, pack, "ann@example.com", "sales", SECRET)

    assert add_user(engine, pack, "ann@example.com", "admin") == first
    assert get_user(engine, first).role == "admin"
