"""`/<entity>/<id>/move`: accepted moves, every reason for a refusal, asking for exactly the
missing fields and completing the move with them, roles, stale versions, CSRF, and the
htmx answers the board uses (SPEC §4, §11)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from tests.test_web_board import ENTITIES, PIPELINE, ROLES, add_deal, services


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, pack=ROLES)


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def reasons(response) -> list[str]:
    return [li.get_text(" ", strip=True) for li in soup_of(response).select(".problems li")]


def asked(response) -> list[str]:
    form = soup_of(response).select_one("form[data-prompt]")
    return None if form is None else [i["value"] for i in form.select("input[name=ask]")]


def deal(app, id: int) -> dict:
    return services(app)["records"].get("deal", id)


def audit_actions(app, id: int) -> list[str]:
    audit = services(app)["records"].store.audit
    with services(app)["engine"].connect() as conn:
        return list(conn.scalars(sa.select(audit.c.action).where(
            audit.c.record_id == id, audit.c.entity == "deal").order_by(audit.c.id)))


def test_an_accepted_move_saves_the_stage_and_goes_back(app):
    client = app.client()
    id = add_deal(app, "Alpha")

    response = client.send(f"/deal/{id}/move", {"to": "contacted", "version": "1"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/deal/{id}"
    assert deal(app, id)["stage"] == "contacted"
    assert audit_actions(app, id) == ["create", "move"]
    history = services(app)["workflows"].history("deal", id)
    assert [(m["from_stage"], m["to_stage"]) for m in history][0] == ("new", "contacted")


def test_back_must_be_a_path_of_this_site(app):
    client = app.client()
    id = add_deal(app, "Alpha")
    here = client.send(f"/deal/{id}/move", {"to": "contacted", "back": "/board/pipeline"})
    assert here.headers["Location"] == "/board/pipeline"
    away = client.send(f"/deal/{id}/move", {"to": "meeting_room", "back": "//evil.example"})
    assert away.status_code == 422
    elsewhere = client.send(f"/deal/{id}/move", {"to": "new", "back": "https://evil.example"})
    assert elsewhere.headers["Location"] == f"/deal/{id}"


def test_a_refused_move_lists_every_reason_and_writes_nothing(app):
    client = app.client()
    id = add_deal(app, "Alpha", amount="-5")

    response = client.send(f"/deal/{id}/move", {"to": "invoiced"})

    assert response.status_code == 409
    # every reason is a field of the record: asked in place (tests/test_move_fix.py)
    assert asked(response) == ["amount", "invoice_no"]
    assert [e.get_text(strip=True) for e in soup_of(response).select(".move-field .error")] \
        == ["An invoice needs a positive amount.", "Fill in Invoice no to move to Invoiced."]
    assert deal(app, id)["stage"] == "new" and deal(app, id)["version"] == 1
    assert audit_actions(app, id) == ["create"]


def test_only_missing_fields_are_asked_for_and_complete_the_move_in_one_step(app):
    client = app.client()
    id = add_deal(app, "Alpha")

    refused = client.send(f"/deal/{id}/move", {"to": "invoiced", "version": "1"})

    assert refused.status_code == 409
    assert asked(refused) == ["amount", "invoice_no"]
    form = soup_of(refused).select_one("form[data-prompt]")
    assert form.select_one("input[name=amount]")["type"] == "number"
    assert form.select_one("input[name=invoice_no]")["type"] == "text"
    assert deal(app, id)["stage"] == "new"

    sent = {i["name"]: i.get("value", "") for i in form.select("input")}
    done = client.post(form["action"], data={**sent, "amount": "1200", "invoice_no": "INV-7"})

    assert done.status_code == 303
    saved = deal(app, id)
    assert (saved["stage"], str(saved["amount"]), saved["invoice_no"]) == \
        ("invoiced", "1200.00", "INV-7")
    assert audit_actions(app, id) == ["create", "move"]


def test_a_typo_in_the_asked_fields_shows_the_form_again_with_the_text_kept(app):
    client = app.client()
    id = add_deal(app, "Alpha")

    again = client.send(f"/deal/{id}/move", {"to": "proposal", "ask": "amount",
                                             "amount": "twelve"})

    assert again.status_code == 409
    assert asked(again) == ["amount"]
    field = soup_of(again).select_one(".move-field")
    assert field.select_one("input")["value"] == "twelve"
    assert field.select_one(".error").get_text(strip=True) == "Enter a number."
    assert deal(app, id)["stage"] == "new"


def test_enum_and_user_fields_are_asked_with_their_options(make_app):
    entities = {"ticket": {"fields": {"title": {"type": "string"},
                                      "kind": {"type": "enum", "options": ["bug", "idea"]},
                                      "owner": {"type": "user"}}}}
    flow = {"name": "flow", "entity": "ticket", "field": "status",
            "stages": [{"key": "open"}, {"key": "doing", "requires": ["kind", "owner"]},
                       {"key": "done", "final": "done"}]}
    app = make_app(entities, {"flow": flow})
    client = app.client()
    id = services(app)["records"].create("ticket", {"title": "T"})["id"]

    form = soup_of(client.get(f"/ticket/{id}/move?to=doing")).select_one("form[data-prompt]")

    assert [o["value"] for o in form.select("select[name=kind] option")] == ["", "bug", "idea"]
    assert [o.get_text() for o in form.select("select[name=owner] option")] == ["", "Admin"]


def test_the_move_page_asks_before_trying(app):
    client = app.client()
    id = add_deal(app, "Alpha")

    ask = client.get(f"/deal/{id}/move?to=invoiced")
    assert ask.status_code == 200
    assert asked(ask) == ["amount", "invoice_no"]

    plain = client.get(f"/deal/{id}/move?to=contacted")
    assert plain.status_code == 200 and asked(plain) == []
    assert reasons(plain) == []

    blocked = client.get(f"/deal/{add_deal(app, 'Done', 'won')}/move?to=new")
    assert blocked.status_code == 409 and asked(blocked) is None
    assert len(reasons(blocked)) == 1


def test_an_unknown_stage_in_the_address_goes_back_to_the_card_saying_so(app):
    client = app.client()
    id = add_deal(app, "Alpha")

    stale = client.get(f"/deal/{id}/move?to=returned")

    assert stale.status_code == 303 and stale.headers["Location"].endswith(f"/deal/{id}")
    card = soup_of(client.get(f"/deal/{id}"))
    assert [p.get_text(strip=True) for p in card.select(".flash")] == [
        "There is no stage “returned”; choose one on the stage bar."]
    assert deal(app, id)["stage"] == "new"


def test_transitions_honour_roles(app):
    me, boss = app.user("sales"), app.user("manager")
    sales, manager = app.client("sales"), app.client("manager")
    mine = add_deal(app, "Mine", "invoiced", owner=me, amount="5", invoice_no="1")
    theirs = add_deal(app, "Theirs", owner=boss)

    refused = sales.send(f"/deal/{mine}/move", {"to": "won"})
    assert refused.status_code == 409
    assert reasons(refused) == ["Only admin, manager may move this deal from Invoiced "
                                "to Won."]
    assert sales.send(f"/deal/{theirs}/move", {"to": "contacted"}).status_code == 404
    assert app.client("viewer").send(f"/deal/{mine}/move", {"to": "won"}).status_code == 403
    assert deal(app, mine)["stage"] == "invoiced"

    assert manager.send(f"/deal/{mine}/move", {"to": "won"}).status_code == 303
    assert deal(app, mine)["stage"] == "won"


def test_a_stale_version_is_a_conflict_and_moves_nothing(app):
    client = app.client()
    id = add_deal(app, "Alpha")
    services(app)["records"].update("deal", id, {"title": "Alpha 2"}, 1)

    response = client.send(f"/deal/{id}/move", {"to": "contacted", "version": "1"})

    assert response.status_code == 409
    alert = soup_of(response).select_one(".problems[role=alert]").get_text(" ", strip=True)
    assert "changed by someone else" in alert
    assert deal(app, id)["stage"] == "new"


def test_a_move_without_the_csrf_token_is_refused(app):
    client = app.client()
    id = add_deal(app, "Alpha")

    response = client.post(f"/deal/{id}/move", data={"to": "contacted"})

    assert response.status_code == 400
    assert deal(app, id)["stage"] == "new"


def htmx(client, url: str, data: dict):
    return client.post(url, data=data, headers={"HX-Request": "true",
                                                "X-CSRFToken": client.token()})


def test_the_board_gets_the_card_and_every_column_head_back(app):
    client = app.client()
    id = add_deal(app, "Alpha", amount="7")
    add_deal(app, "Beta", amount="3")

    response = htmx(client, f"/deal/{id}/move?board=1",
                    {"to": "proposal", "workflow": "pipeline", "version": "1"})

    assert response.status_code == 200
    soup = soup_of(response)
    assert soup.find("html") is None
    card = soup.select_one(".board-card")
    assert card["id"] == f"card-deal-{id}" and card["data-version"] == "2"
    heads = {h["id"]: h.select_one(".col-count").get_text(strip=True)
             for h in soup.select("[hx-swap-oob]")}
    assert heads["head-pipeline-new"] == "1 card"
    assert heads["head-pipeline-proposal"] == "1 card"
    assert len(heads) == 6


def test_the_board_gets_a_prompt_for_missing_fields_and_reasons_otherwise(app):
    client = app.client()
    id = add_deal(app, "Alpha")
    done = add_deal(app, "Done", "won")

    prompt = htmx(client, f"/deal/{id}/move?board=1", {"to": "lost", "version": "1"})
    assert prompt.status_code == 409
    assert asked(prompt) == ["lost_reason"]
    assert soup_of(prompt).select_one("textarea[name=lost_reason]") is not None

    completed = htmx(client, f"/deal/{id}/move?board=1",
                     {"to": "lost", "ask": "lost_reason", "lost_reason": "Too dear"})
    assert completed.status_code == 200
    assert deal(app, id)["stage"] == "lost"

    refused = htmx(client, f"/deal/{done}/move?board=1", {"to": "new"})
    assert refused.status_code == 409 and asked(refused) is None
    assert "final stage" in reasons(refused)[0]


def test_other_htmx_callers_are_redirected_after_a_move(app):
    client = app.client()
    id = add_deal(app, "Alpha")
    response = htmx(client, f"/deal/{id}/move", {"to": "contacted",
                                                 "back": "/board/pipeline"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/board/pipeline"
