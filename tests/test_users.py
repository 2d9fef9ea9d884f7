"""Users: create or update, roles checked against the pack, passwords verified and
checked, sessions ended by the command line's changes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from karte.auth.users import (
    add_user,
    deactivate_user,
    get_user,
    session_user,
    sign_in,
    verify_password,
)
from karte.cli import main
from karte.store.migrate import migrate
from tests.conftest import write_pack

ROLES = {"roles": {"sales": {"*": {"read": "all", "create": True, "update": "own",
                                   "delete": False}}}}


@pytest.fixture
def pack(engine, make_pack):
    built = make_pack({"note": {"name": "note", "fields": {"title": {"type": "string"}}}},
                      pack=ROLES)
    migrate(engine, built)
    return built


def test_add_user_creates_then_updates_by_email(engine, pack):
    first = add_user(engine, pack, " Ann@Example.com ", "sales", name="Ann")
    again = add_user(engine, pack, "ann@example.com", "admin")

    user = get_user(engine, first)
    assert again == first
    assert (user.email, user.name, user.role, user.active) == (
        "ann@example.com", "Ann", "admin", True)
    assert get_user(engine, first + 1) is None


def test_a_role_the_pack_does_not_have_is_refused_with_the_list(engine, pack):
    with pytest.raises(ValueError) as error:
        add_user(engine, pack, "ann@example.com", "sale")

    assert str(error.value) == ('unknown role "sale" (did you mean "sales"?); roles of this '
                                "pack: admin, sales")


def test_bad_email_and_short_password_are_refused(engine, pack):
    with pytest.raises(ValueError, match="not a valid email address"):
        add_user(engine, pack, "ann-at-example", "admin")
    with pytest.raises(ValueError, match="at least 8 characters"):
        add_user(engine, pack, "ann@example.com", "admin", password="short")


def test_verify_password(engine, pack):
    id = add_user(engine, pack, "ann@example.com", "sales", password="correct horse")

    user = verify_password(engine, "ANN@example.com", "correct horse")

    assert user is not None and user.id == id and user.role == "sales"
    assert verify_password(engine, "ann@example.com", "wrong horse") is None
    assert verify_password(engine, "bob@example.com", "correct horse") is None
    assert verify_password(engine, "not an email", "correct horse") is None


def test_a_user_without_a_password_cannot_sign_in(engine, pack):
    add_user(engine, pack, "ann@example.com", "sales")

    assert verify_password(engine, "ann@example.com", "") is None


def test_an_inactive_user_cannot_sign_in_until_added_again(engine, pack):
    id = add_user(engine, pack, "ann@example.com", "sales", password="correct horse")

    deactivate_user(engine, "ann@example.com")

    assert verify_password(engine, "ann@example.com", "correct horse") is None
    assert get_user(engine, id).active is False
    add_user(engine, pack, "ann@example.com", "sales")
    assert verify_password(engine, "ann@example.com", "correct horse") is not None
    with pytest.raises(LookupError):
        deactivate_user(engine, 999)


def test_the_command_line_refuses_a_common_password_and_says_why(tmp_path, db_url,
                                                                    monkeypatch):
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    folder = write_pack(tmp_path / "pack", {"note": {"fields": {"title": {"type": "string"}}}},
                        pack={"name": "mini", **ROLES})

    def add(password: str):
        return CliRunner().invoke(main, ["user", "add", "ann@example.com", "--role", "sales",
                                         "--password-stdin", "--pack", str(folder)],
                                  input=password + "\n")

    common, own, fine = add("iloveyou"), add("ann@example.com"), add("plum tree in may")

    assert common.exit_code == 1 and "Traceback" not in common.output
    assert "one of the most common passwords" in common.output
    assert own.exit_code == 1 and "must not contain the email address" in own.output
    assert fine.exit_code == 0, fine.output


def test_a_whitespace_only_password_is_refused(engine, pack):
    with pytest.raises(ValueError, match="cannot be only spaces"):
        add_user(engine, pack, "ann@example.com", "admin", password=" \t" * 5)


def test_a_new_password_from_the_command_line_ends_the_users_sessions(engine, pack):
    id = add_user(engine, pack, "ann@example.com", "sales", password="correct horse")
    session = sign_in(engine, get_user(engine, id))

    add_user(engine, pack, "ann@example.com", "sales", name="Ann")
    assert session_user(engine, session.token) is not None
    add_user(engine, pack, "ann@example.com", "sales", password="another horse")

    assert session_user(engine, session.token) is None


def test_deactivate_user_ends_the_users_sessions(engine, pack):
    id = add_user(engine, pack, "ann@example.com", "sales", password="correct horse")
    session = sign_in(engine, get_user(engine, id))

    deactivate_user(engine, id)

    assert session_user(engine, session.token) is None
