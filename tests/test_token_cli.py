"""`karte token add|list|revoke` (commands/tokens.py): the secret printed once on standard
output, lists without secrets, revocation by id, and refusals as messages, never
tracebacks."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from karte.auth import tokens
from karte.cli import main
from karte.store.db import make_engine
from tests.conftest import write_pack

PACK = {"name": "mini", "timezone": "Asia/Tokyo", "roles": {"sales": {"*": {"read": "all"}}}}


@pytest.fixture
def cli(tmp_path, db_url, monkeypatch):
    """invoke(*args) runs `karte ...` on a database of its own; `engine` reads it."""
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    pack = write_pack(tmp_path / "pack", {"note": {"fields": {"title": {"type": "string"}}}},
                      pack=PACK)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [*args, "--pack", str(pack)])

    assert invoke("user", "add", "ann@example.com", "--role", "sales").exit_code == 0
    engine = make_engine(db_url)
    yield invoke, engine
    engine.dispose()


def test_add_prints_the_secret_alone_on_stdout(cli):
    invoke, engine = cli
    result = invoke("token", "add", "--email", "ANN@example.com", "--name", "Shop")

    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert tokens.SHAPE.fullmatch(secret)
    user, reason = tokens.verify(engine, secret)
    assert reason == "" and user.email == "ann@example.com"
    assert "not shown again" in result.stderr and secret not in result.stderr
    assert "expires: never" in result.stderr


def test_add_with_a_last_day_ends_at_midnight_in_the_packs_timezone(cli):
    invoke, engine = cli
    day = dt.date.today() + dt.timedelta(days=30)
    result = invoke("token", "add", "--email", "ann@example.com", "--name", "Shop",
                    "--expires", day.isoformat())

    assert result.exit_code == 0, result.output
    assert tokens.list_tokens(engine)[0].expires_at == tokens.end_of_day(day, "Asia/Tokyo")


@pytest.mark.parametrize(("args", "message"), [
    (("--email", "nobody@example.com", "--name", "Shop"), "no active user"),
    (("--email", "ann@example.com", "--name", " "), "a token needs a name"),
    (("--email", "ann@example.com", "--name", "Shop", "--expires", "2020-01-01"),
     "the expiry must lie in the future"),
    (("--email", "ann@example.com", "--name", "Shop", "--expires", "31.12.2030"),
     "%Y-%m-%d")])
def test_add_refusals_are_messages(cli, args, message):
    invoke, engine = cli
    result = invoke("token", "add", *args)

    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output
    assert tokens.list_tokens(engine) == []


def test_a_second_live_token_of_the_same_name_is_refused(cli):
    invoke, _engine = cli
    invoke("token", "add", "--email", "ann@example.com", "--name", "Shop")
    result = invoke("token", "add", "--email", "ann@example.com", "--name", "Shop")
    assert result.exit_code == 1 and "revoke that token first" in result.output


def test_list_shows_tokens_without_secrets_and_revoke_stops_one(cli):
    invoke, engine = cli
    invoke("user", "add", "bob@example.com", "--role", "sales")
    first = invoke("token", "add", "--email", "ann@example.com", "--name", "Shop").stdout
    invoke("token", "add", "--email", "bob@example.com", "--name", "Mail")
    shop = next(t for t in tokens.list_tokens(engine) if t.name == "Shop")

    listed = invoke("token", "list")
    assert listed.exit_code == 0
    assert '"Shop"' in listed.stdout and '"Mail"' in listed.stdout
    assert first.strip() not in listed.stdout and shop.shown in listed.stdout
    only_bob = invoke("token", "list", "--email", "bob@example.com").stdout
    assert '"Mail"' in only_bob and '"Shop"' not in only_bob

    revoked = invoke("token", "revoke", str(shop.id))
    assert revoked.exit_code == 0 and "is revoked" in revoked.stdout
    assert tokens.verify(engine, first.strip()) == (None, "revoked")
    assert '"Shop"' not in invoke("token", "list").stdout
    assert "revoked" in invoke("token", "list", "--revoked").stdout


def test_revoke_and_list_refusals(cli):
    invoke, _engine = cli
    missing = invoke("token", "revoke", "999999")
    assert missing.exit_code == 1 and "no token #999999" in missing.output
    nobody = invoke("token", "list", "--email", "nobody@example.com")
    assert nobody.exit_code == 1 and "no user with the email" in nobody.output
    assert "No tokens." in invoke("token", "list").stderr
