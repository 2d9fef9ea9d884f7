"""Fixing a refused move in place (issue 12): missing AND rule-violating fields asked in one
form that saves them and completes the move in one transaction, the later stages' rules
judging the values typed now, non-field reasons listed with a link to the record, rights,
stale versions, and a GET of the move address that never ends on raw keys."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.test_web_board import ENTITIES, ROLES, add_deal, services

PIPELINE = {
    "name": "pipeline", "entity": "deal", "field": "stage", "label": "Pipeline",
    "stages": [
        {"key": "new", "label": "New"},
        {"key": "proposal", "label": "Proposal", "requires": ["amount"]},
        {"key": "invoiced", "label": "Invoiced", "requires": ["amount", "invoice_no"],
         "rules": [{"when": {"field": "amount", "op": ">", "value": 0},
                    "message": "An invoice needs a positive amount."}]},
        {"key": "won", "label": "Won", "final": "won", "requires": ["amount"],
         "rules": [{"when": {"field": "amount", "op": ">=", "value": 10},
                    "message": "A won deal is worth at least 10."}]},
        {"key": "lost", "label": "Lost", "final": "lost", "requires": ["lost_reason"],
         "rules": [{"when": {"field": "amount", "op": "=", "value": 0},
                    "message": "Lost deals count nothing."}]},
    ],
    "transitions": [{"from": "invoiced", "to": "won", "roles": ["manager"]}],
}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def asked(response) -> list[str] | None:
    form = soup_of(response).select_one("form[data-prompt]")
    return None if form is None else [i["value"] for i in form.select("input[name=ask]")]


def field_text(response, name: str, kind: str) -> list[str]:
    """The errors (kind "error") or hints ("move-ahead") shown next to an asked field."""
    for box in soup_of(response).select(".move-field"):
        if box.select_one(f"[name={name}]") is not None:
            return [p.get_text(strip=True) for p in box.select(f"p.{kind}")]
    raise AssertionError(f"{name} is not asked")


def deal(app, id: int) -> dict:
    return services(app)["records"].get("deal", id)


def test_missing_and_violated_fields_are_asked_in_one_form_and_fixed_in_one_post(app):
    client = app.client()
    id = add_deal(app, "Alpha", amount="-5")

    refused = client.send(f"/deal/{id}/move", {"to": "invoiced", "version": "1"})

    assert refused.status_code == 409
    assert asked(refused) == ["amount", "invoice_no"]
    assert field_text(refused, "amount", "error") == ["An invoice needs a positive amount."]
    assert field_text(refused, "invoice_no", "error") == [
        "Fill in Invoice no to move to Invoiced."]
    form = soup_of(refused).select_one("form[data-prompt]")
    sent = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
    data = {**sent, "ask": ["amount", "invoice_no"], "amount": "250", "invoice_no": "INV-1"}

    done = client.post(form["action"], data=data)

    assert done.status_code == 303
    saved = deal(app, id)
    assert (saved["stage"], str(saved["amount"]), saved["invoice_no"]) == \
        ("invoiced", "250.00", "INV-1")
    assert saved["version"] == 2          # the values and the stage: one write


def test_an_empty_fields_rule_is_a_hint_not_a_second_error(app):
    id = add_deal(app, "Alpha")

    refused = app.client().send(f"/deal/{id}/move", {"to": "invoiced"})

    assert field_text(refused, "amount", "error") == ["Fill in Amount to move to Invoiced."]
    assert "An invoice needs a positive amount." in field_text(refused, "amount", "muted")


def test_later_stages_rules_are_announced_and_judge_the_typed_value(app):
    client = app.client()
    id = add_deal(app, "Alpha")

    refused = client.send(f"/deal/{id}/move", {"to": "proposal"})

    assert asked(refused) == ["amount"]
    assert field_text(refused, "amount", "move-ahead") == [
        "Invoiced will need this: An invoice needs a positive amount.",
        "Won will need this: A won deal is worth at least 10."]   # never Lost's rule

    zero = client.send(f"/deal/{id}/move", {"to": "proposal", "ask": "amount",
                                            "amount": "0"})

    assert zero.status_code == 409 and asked(zero) == ["amount"]
    assert field_text(zero, "amount", "error") == [
        "Invoiced will need this: An invoice needs a positive amount.",
        "Won will need this: A won deal is worth at least 10."]
    assert soup_of(zero).select_one("input[name=amount]")["value"] == "0"
    assert deal(app, id)["stage"] == "new" and deal(app, id)["amount"] is None

    five = client.send(f"/deal/{id}/move", {"to": "proposal", "ask": "amount",
                                            "amount": "5"})
    assert field_text(five, "amount", "error") == [
        "Won will need this: A won deal is worth at least 10."]

    fine = client.send(f"/deal/{id}/move", {"to": "proposal", "ask": "amount",
                                            "amount": "12"})
    assert fine.status_code == 303 and deal(app, id)["stage"] == "proposal"


def test_later_rules_judge_only_values_asked_for(app):
    """A move that asks nothing is not refused for what a later stage will want."""
    id = add_deal(app, "Alpha", amount="0")
    moved = app.client().send(f"/deal/{id}/move", {"to": "proposal"})
    assert moved.status_code == 303 and deal(app, id)["stage"] == "proposal"


def test_the_service_judges_ahead_in_the_same_transaction(app):
    from karte.workflow.errors import MoveRefused

    flows = services(app)["workflows"]
    id = add_deal(app, "Alpha")
    with pytest.raises(MoveRefused) as refused:
        flows.move("deal", id, "proposal", values={"amount": "3"}, ahead=["amount"])
    assert [(p.where, p.code) for p in refused.value.problems] == [("amount", "rule_ahead")]
    assert deal(app, id)["amount"] is None
    assert flows.move("deal", id, "proposal", values={"amount": "30"},
                      ahead=["amount"])["stage"] == "proposal"


def test_reasons_that_are_not_fields_are_listed_with_a_link_to_the_record(app):
    sales = app.client("sales")
    me = app.user("sales")
    id = add_deal(app, "Mine", "invoiced", owner=me, amount="50", invoice_no="1")

    refused = sales.send(f"/deal/{id}/move?board=1", {"to": "won", "back": "/board/pipeline"},
                         headers={"HX-Request": "true"})

    assert refused.status_code == 409
    assert asked(refused) is None
    soup = soup_of(refused)
    assert [li.get_text(" ", strip=True) for li in soup.select(".problems li")] == [
        "Only manager may move this deal from Invoiced to Won."]
    assert soup.select_one(f'a[href="/deal/{id}"]') is not None
    dragged = soup_of(sales.send(f"/deal/{id}/move?board=1", {"to": "won"},
                                 headers={"HX-Request": "true"}))   # the board sends no back
    assert dragged.select_one(f'a.primary[href="/deal/{id}"]') is not None
    assert deal(app, id)["stage"] == "invoiced"


def test_a_mix_of_field_and_other_reasons_is_listed_not_asked(app):
    sales, me = app.client("sales"), app.user("sales")
    id = add_deal(app, "Mine", "invoiced", owner=me, amount="5", invoice_no="1")
    refused = sales.send(f"/deal/{id}/move", {"to": "won"})
    assert refused.status_code == 409 and asked(refused) is None
    assert len(soup_of(refused).select(".problems li")) == 2


def test_rights_a_viewer_is_refused_and_nothing_is_asked(app):
    id = add_deal(app, "Alpha")
    viewer = app.client("viewer")
    refused = viewer.send(f"/deal/{id}/move", {"to": "proposal", "ask": "amount",
                                              "amount": "99"})
    assert refused.status_code in (403, 409)
    assert asked(refused) is None
    assert deal(app, id)["amount"] is None and deal(app, id)["stage"] == "new"


def test_a_stale_version_writes_nothing_and_says_reload(app):
    client = app.client()
    id = add_deal(app, "Alpha")
    services(app)["records"].update("deal", id, {"title": "Changed"}, 1)

    stale = client.send(f"/deal/{id}/move", {"to": "proposal", "version": "1",
                                             "ask": "amount", "amount": "20"})

    assert stale.status_code == 409 and asked(stale) is None
    assert "changed by someone else" in stale.get_data(as_text=True)
    assert deal(app, id)["amount"] is None and deal(app, id)["stage"] == "new"


def test_get_of_a_move_address_is_a_page_or_a_redirect_never_raw_keys(app):
    client = app.client()
    id = add_deal(app, "Alpha")

    bare = client.get(f"/deal/{id}/move")
    assert bare.status_code == 303 and bare.headers["Location"] == f"/deal/{id}"

    wrong_flow = client.get(f"/deal/{id}/move?to=won&workflow=nope")
    assert wrong_flow.status_code == 303 and wrong_flow.headers["Location"] == f"/deal/{id}"

    asking = client.get(f"/deal/{id}/move?to=won")
    assert asking.status_code == 200 and asked(asking) == ["amount"]
    for response in (asking, client.get(f"/deal/{id}", follow_redirects=True)):
        body = response.get_data(as_text=True)
        assert "rule_ahead" not in body and "not_allowed" not in body
