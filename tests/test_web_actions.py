"""Record actions on the card (SPEC §3.7, §11): a button only for the actions the user may
run now, POST `/<entity>/<id>/action/<name>` with CSRF, landing per `open` with a flash,
a refusal re-rendering the card with every reason (422, nothing written), htmx alike."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.test_actions import CUSTOMER, FLOW, ORDER, ORDER_ACTION, ROLES, quote

NOTE = {"name": "mark", "label": {"en": "Mark seen", "ja": "確認済みにする"},
        "confirm": {"en": "Mark it?"}, "do": [{"set": {"note": "seen"}}]}


@pytest.fixture
def app(make_app):
    owned = quote(ORDER_ACTION, NOTE)    # with an owner: home shows others' runs on it
    owned["fields"]["owner"] = {"type": "user"}
    return make_app({"customer": CUSTOMER, "order": ORDER, "quote": owned},
                    {"quote_flow": FLOW}, pack={"roles": ROLES})


def records(app):
    return app.extensions["karte"]["records"]


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def buttons(response) -> dict[str, str]:
    """Action buttons on the card: {action name: label}."""
    return {b["data-action"]: b.get_text(strip=True)
            for b in soup_of(response).select("form.action-form button[data-action]")}


def add_quote(app, stage: str = "draft", customer: bool = True) -> dict:
    from karte.workflow import Workflows

    values = {"title": "Q-1", "amount": "100"}
    if customer:
        values["customer"] = records(app).create("customer", {"name": "Lyons"})["id"]
    made = records(app).create("quote", values)
    if stage != "draft":
        made = Workflows(records(app)).move("quote", made["id"], stage)
    return made


def test_the_card_shows_only_the_actions_that_may_run(app):
    draft, accepted = add_quote(app), add_quote(app, "accepted")
    sales, support = app.client("sales"), app.client("support")

    assert buttons(sales.get(f"/quote/{draft['id']}")) == {"mark": "Mark seen"}
    assert buttons(sales.get(f"/quote/{accepted['id']}")) == {
        "make_order": "Create order", "mark": "Mark seen"}
    assert buttons(support.get(f"/quote/{accepted['id']}")) == {}
    page = soup_of(sales.get(f"/quote/{accepted['id']}?lang=ja"))
    form = page.select_one("form.action-form:has(button[data-action=mark])")
    assert form["data-confirm"] == "Mark it?"
    assert form.select_one("input[name=csrf_token]")["value"]
    assert form.select_one("input[name=version]")["value"] == str(accepted["version"])
    assert buttons(sales.get(f"/quote/{accepted['id']}?lang=ja"))["make_order"] == "受注を作成"


def test_running_an_action_opens_the_created_record_with_a_flash(app):
    made = add_quote(app, "accepted")
    made = records(app).update("quote", made["id"], {"owner": app.user("admin")},
                               made["version"])
    client = app.client("sales")

    response = client.send(f"/quote/{made['id']}/action/make_order",
                           {"version": str(made["version"])})

    [order] = records(app).query("order")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/order/{order['id']}"
    page = soup_of(client.get(response.headers["Location"]))
    assert page.select_one(".flash").get_text(strip=True) == "Create order: created Order Q-1."
    assert records(app).get("quote", made["id"])["stage"] == "ordered"
    timeline = soup_of(client.get(f"/quote/{made['id']}")).select_one(".action-line")
    assert timeline.get_text(" ", strip=True) == "Create order run by Sales : created Order Q-1"
    assert timeline.select_one("a")["href"] == f"/order/{order['id']}"
    # the quote's owner finds the run among what others changed on their records
    recent = soup_of(app.client("admin").get("/")).select_one(".changed-group ol.recent li")
    assert "Sales ran “Create order” on" in " ".join(recent.get_text().split())
    history = soup_of(client.get(f"/quote/{made['id']}/history"))
    assert history.select_one(".action-run").get_text(" ", strip=True).startswith(
        "Create order : created Order Q-1")


def test_an_action_without_open_stays_on_the_record(app):
    made = add_quote(app)
    client = app.client("sales")

    response = client.send(f"/quote/{made['id']}/action/mark")

    assert (response.status_code, response.headers["Location"]) == (303, f"/quote/{made['id']}")
    assert records(app).get("quote", made["id"])["note"] == "seen"


def test_a_refusal_shows_the_card_with_every_reason_and_writes_nothing(app):
    made = add_quote(app, "accepted", customer=False)
    client = app.client("sales")

    response = client.send(f"/quote/{made['id']}/action/make_order")

    assert response.status_code == 422
    page = soup_of(response)
    assert page.select_one("#action-problems p").get_text(strip=True) == \
        "“Create order” cannot run:"
    assert [li.get_text(strip=True) for li in page.select("#action-problems li")] == [
        "Create order could not move this quote to Ordered: Fill in Customer to move to "
        "Ordered."]
    assert page.select_one("h1").get_text(strip=True) == "Q-1"
    assert records(app).query("order") == []
    assert records(app).get("quote", made["id"]) == made


def test_a_role_that_may_not_run_it_is_refused_with_the_reason(app):
    draft = add_quote(app)
    client = app.client("sales")

    response = client.send(f"/quote/{draft['id']}/action/make_order")

    assert response.status_code == 422
    assert [li.get_text(strip=True) for li in soup_of(response).select("#action-problems li")
            ] == ["The quote must be Accepted."]


def test_a_stale_version_is_a_conflict_on_the_card(app):
    made = add_quote(app)
    records(app).update("quote", made["id"], {"title": "Changed"}, made["version"])
    client = app.client("sales")

    response = client.send(f"/quote/{made['id']}/action/mark", {"version": str(made["version"])})

    assert response.status_code == 409
    assert soup_of(response).select("#action-problems li")
    assert records(app).get("quote", made["id"])["note"] is None


def test_htmx_gets_a_redirect_header(app):
    made = add_quote(app)
    client = app.client("sales")

    response = client.send(f"/quote/{made['id']}/action/mark", headers={"HX-Request": "true"})

    assert (response.status_code, response.headers["HX-Redirect"]) == (204, f"/quote/{made['id']}")


def test_csrf_and_unknown_actions(app):
    made = add_quote(app)
    client = app.client("sales")

    assert client.post(f"/quote/{made['id']}/action/mark").status_code == 400
    assert client.send(f"/quote/{made['id']}/action/nope").status_code == 404
    assert client.send(f"/customer/{made['customer']}/action/mark").status_code == 404
    assert client.get(f"/quote/{made['id']}/action/mark").status_code == 405
    assert records(app).get("quote", made["id"])["note"] is None


def test_a_refusal_speaks_the_users_language(app):
    draft = add_quote(app)
    client = app.client("sales")
    client.get("/?lang=ja")

    response = client.send(f"/quote/{draft['id']}/action/make_order")

    page = soup_of(response)
    heading = page.select_one("#action-problems p").get_text(strip=True)
    assert heading == "「受注を作成」を実行できません："
    assert [li.get_text(strip=True) for li in page.select("#action-problems li")] == [
        "Quoteが「Accepted」である必要があります"]
