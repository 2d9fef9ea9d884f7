"""The admin's changes to users (users.py): add refuses a taken address, role/active/
password changes, the passwords refused everywhere, the sessions a change ends, and the
rules that keep someone in charge."""

from __future__ import annotations

import pytest

from karte.auth.users import (
    User,
    UserRefused,
    add_user,
    change_password,
    create_user,
    get_user,
    session_user,
    sign_in,
    update_user,
    verify_password,
)
from karte.store.migrate import migrate

ROLES = {"roles": {"sales": {"*": {"read": "all", "create": True, "update": "own",
                                   "delete": False}}}}
SECRET = "correct horse battery"
NEW = "a brand new secret"


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


def signed_in(engine, id: int) -> User:
    """A fresh session of this user, as a sign-in starts one."""
    return sign_in(engine, get_user(engine, id), user_agent="test", ip="127.0.0.1")


def still_in(engine, user: User) -> bool:
    return session_user(engine, user.token) is not None


def test_a_new_password_ends_every_session_of_that_user_only(engine, pack):
    ann = create_user(engine, pack, "ann@example.com", "sales", SECRET)
    bob = create_user(engine, pack, "bob@example.com", "sales", SECRET)
    phone, laptop, bobs = signed_in(engine, ann), signed_in(engine, ann), signed_in(engine, bob)

    update_user(engine, pack, ann, password="a brand new secret")

    assert not still_in(engine, phone) and not still_in(engine, laptop)
    assert still_in(engine, bobs)
    assert still_in(engine, signed_in(engine, ann))
    assert verify_password(engine, "ann@example.com", SECRET) is None
    assert verify_password(engine, "ann@example.com", "a brand new secret") is not None


def test_deactivation_ends_sessions_for_good_even_after_reactivation(engine, pack):
    ann = create_user(engine, pack, "ann@example.com", "sales", SECRET)
    before = signed_in(engine, ann)

    update_user(engine, pack, ann, active=False)
    assert not still_in(engine, before)
    update_user(engine, pack, ann, active=True)

    assert not still_in(engine, before)
    assert still_in(engine, signed_in(engine, ann))


def test_sign_out_everywhere_keeps_only_the_session_asked_to_keep(engine, pack):
    root = create_user(engine, pack, "root@example.com", "admin", SECRET)
    here, elsewhere = signed_in(engine, root), signed_in(engine, root)

    update_user(engine, pack, root, by=root, sign_out=True, keep_session=here.session_id)

    assert still_in(engine, here) and not still_in(engine, elsewhere)
    update_user(engine, pack, root, by=root, sign_out=True)
    assert not still_in(engine, here)


@pytest.mark.parametrize(("password", "code"), [
    ("          ", "password_blank"),
    ("ann@example.com", "password_email"),
    ("ANN@EXAMPLE.COM!", "password_email"),
    ("my name is ann, hi", "password_email"),
    ("password1", "password_common"),
    ("Sunshine", "password_common"),
    (" 1qaz2wsx ", "password_common"),
])
def test_passwords_people_guess_first_are_refused_when_adding_and_resetting(
        engine, pack, password, code):
    add = refusal(lambda: create_user(engine, pack, "ann@example.com", "sales", password))
    bob = create_user(engine, pack, "bob@example.com", "sales", SECRET)
    reset = refusal(lambda: update_user(engine, pack, bob, password=password.replace(
        "ann", "bob").replace("ANN", "BOB")))

    assert add.problems == {"password": code} and add.status == 422
    assert reset.problems == {"password": code}
    assert verify_password(engine, "bob@example.com", SECRET) is not None


def test_a_short_name_before_the_at_is_refused_only_as_the_whole_password(engine, pack):
    create_user(engine, pack, "al@example.com", "sales", "always blue skies")

    assert refusal(lambda: create_user(engine, pack, "ed@example.com", "sales",
                                       "ed")).problems == {"password": "password_short"}
    assert verify_password(engine, "al@example.com", "always blue skies") is not None


def test_change_password_needs_the_current_one_and_ends_the_other_sessions(engine, pack):
    ann = create_user(engine, pack, "ann@example.com", "sales", SECRET)
    here, elsewhere = signed_in(engine, ann), signed_in(engine, ann)

    wrong = refusal(lambda: change_password(engine, ann, current="guess", new="password",
                                            repeated="password"))
    typo = refusal(lambda: change_password(engine, ann, current=SECRET, new=NEW,
                                           repeated=NEW + "x"))
    assert wrong.problems == {"current": "password_wrong", "password": "password_common"}
    assert typo.problems == {"repeat": "password_mismatch"}
    assert still_in(engine, elsewhere)

    change_password(engine, ann, current=SECRET, new=NEW, repeated=NEW,
                    keep_session=here.session_id)

    assert still_in(engine, here) and not still_in(engine, elsewhere)
    assert verify_password(engine, "ann@example.com", NEW) is not None


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
