"""A bad query parameter of a list, its CSV export, a board, the quick search or a timeline
is explained in the UI language (`?lang=ja`): field and entity by their labels in that
language, the parameter itself as typed, no English sentence left over — and the English UI
still says it in English. Run on the standard pack, as an admin sees it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = re.compile(r"\b[A-Za-z]{2,} [A-Za-z]{2,}\b")
"""Two English words in a row: a sentence (names and keys are listed with commas)."""


def standard() -> tuple[dict, dict, dict, dict]:
    def read(folder: str) -> dict:
        return {path.stem: json.loads(path.read_text(encoding="utf-8"))
                for path in sorted((ROOT / folder).glob("*.json"))}

    pack = json.loads((ROOT / "pack.json").read_text(encoding="utf-8"))
    return read("entity_defs"), read("workflows"), pack, read("dashboards")


@pytest.fixture
def client(make_app):
    entities, workflows, pack, dashboards = standard()
    return make_app(entities, workflows, pack, dashboards=dashboards).client()


def shown(response) -> list[str]:
    """The messages of the list's problem box, or of the error page."""
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    items = page.select(".list-problems li") or page.select("ul.problems li")
    return [item.get_text(" ", strip=True) for item in items]


def ask(client, url: str, lang: str) -> str:
    response = client.get(f"{url}{'&' if '?' in url else '?'}lang={lang}")
    assert response.status_code == 400, (url, response.status_code)
    messages = shown(response)
    assert len(messages) == 1, messages
    return messages[0]


def japanese(message: str, param: str) -> str:
    """The sentence after the parameter, checked to have no English sentence in it."""
    said = re.sub(rf"^{re.escape(param)}\s*:\s*", "", message)
    assert said != message, f"{message!r} does not start with {param}"
    assert not ENGLISH.search(said), f"English left in {message!r}"
    return said


CASES = [
    ("/deal/?f.created_at.lte=10000-01-01", "f.created_at.lte",
     "「10000-01-01」は作成日時に指定できません。"
     "日時を YYYY-MM-DDTHH:MM の形式で入力してください。",
     'f.created_at.lte: "10000-01-01" does not fit created: Enter a date and time as '
     "YYYY-MM-DDTHH:MM."),
    ("/deal/?f.amount.gte=1e400", "f.amount.gte",
     "「1e400」は金額に指定できません。数値が大きすぎます（整数部は20桁まで）。",
     'f.amount.gte: "1e400" does not fit amount: This number is too large (20 digits at '
     "most before the decimal point)."),
    ("/deal/?f.amount.gte=abc", "f.amount.gte",
     "「abc」は金額に指定できません。数値を入力してください。",
     'f.amount.gte: "abc" does not fit amount: Enter a number.'),
    ("/deal/?f.customer=99999999999999999999", "f.customer",
     "「99999999999999999999」は顧客に指定できません。レコードIDは1以上の整数です。",
     'f.customer: "99999999999999999999" does not fit customer: A record id is a whole '
     "number above 0."),
    ("/deal/?sort=nosuch", "sort",
     "商談は「nosuch」で並べ替えられません。",
     'sort: deal cannot be sorted by "nosuch".'),
    ("/deal/?sort=-amout", "sort",
     "商談は「amout」で並べ替えられません（もしかして「amount」？）。",
     'sort: deal cannot be sorted by "amout" (did you mean "amount"?).'),
    ("/deal/?f.stage=nosuch", "f.stage",
     "「nosuch」はステージの選択肢にありません。選択肢：new（新規）, contacted（アプローチ済）, "
     "meeting（商談中）, proposal（提案・見積）, invoiced（請求済）, won（受注）, lost（失注）。",
     'f.stage: "nosuch" is not an option of stage; options: new, contacted, meeting, '
     "proposal, invoiced, won, lost."),
    ("/deal/?f.stage.in=won,wonn", "f.stage.in",
     "「wonn」はステージの選択肢にありません（もしかして「won」？）。",
     'f.stage.in: "wonn" is not an option of stage (did you mean "won"?); options:'),
    ("/deal/?f.nosuch=1", "f.nosuch",
     "「nosuch」は商談の項目ではありません。絞り込みに使える項目：title, customer,",
     "f.nosuch: “nosuch” is not a field of deal; fields that can be filtered: title,"),
    ("/deal/?f.amout=1", "f.amout",
     "「amout」は商談の項目ではありません（もしかして「amount」？）。",
     'f.amout: “amout” is not a field of deal (did you mean "amount"?); fields'),
    ("/deal/?f.amount.gtee=1", "f.amount.gtee",
     "「gtee」は絞り込みの演算子ではありません（もしかして「gte」？）。",
     'f.amount.gtee: “gtee” is not a filter operator (did you mean "gte"?); use one of'),
    ("/deal/?f.title.gte=a", "f.title.gte",
     "「gte」は商談名には使用できません。使用できる演算子：eq, ne, contains, in, empty。",
     "f.title.gte: “gte” does not fit deal name (string); operators that fit: eq, ne,"),
    ("/deal/?f.title=" + "x" * 201, "f.title",
     "は商談名に指定できません。200文字以内で入力してください（入力は201文字）。",
     "does not fit deal name: Use at most 200 characters (this has 201)."),
    ("/contact/?f.email=nobody", "f.email",
     "「nobody」はメールアドレスに指定できません。有効なメールアドレスではありません。",
     'f.email: "nobody" does not fit email: Not a valid email address:'),
    ("/deal/?f.owner=$today", "f.owner",
     "「$today」は営業担当には使用できません。",
     'f.owner: "$today" cannot be used with owner; it fits only date, datetime fields.'),
    ("/deal/?f.owner=$tday", "f.owner",
     "「$tday」は使用できるトークンではありません（もしかして「$today」？）。",
     'f.owner: "$tday" is not a known token (did you mean "$today"?); tokens:'),
    ("/deal/?page=0", "page",
     "「0」はページ番号ではありません。ページ番号は1から始まります。",
     "page: “0” is not a page number; pages are counted from 1."),
]
EXPORTS = [(url.replace("/deal/", "/deal/export.csv"), *rest) for url, *rest in CASES
           if url.startswith("/deal/?") and "page=" not in url]


@pytest.mark.parametrize(("url", "param", "ja", "en"), CASES + EXPORTS,
                         ids=[case[0][:40] for case in CASES + EXPORTS])
def test_a_bad_parameter_is_explained_in_the_ui_language(client, url, param, ja, en):
    assert ja in japanese(ask(client, url, "ja"), param)
    assert en in ask(client, url, "en")


def test_the_list_keeps_its_toolbar_and_htmx_gets_the_same_words(client):
    response = client.get("/deal/?sort=nosuch&lang=ja", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert shown(response) == ["sort: 商談は「nosuch」で並べ替えられません。"]


def test_every_bad_filter_is_listed_in_japanese_at_once(client):
    page = client.get("/deal/?f.amount.gte=abc&f.stage=nosuch&f.customer=x&lang=ja")
    messages = shown(page)
    assert [m.split(":")[0] for m in messages] == ["f.amount.gte", "f.stage", "f.customer"]
    for message in messages:
        japanese(message, message.split(":")[0])


def test_board_and_quick_search_refuse_a_nul_in_japanese(client):
    for url in ("/board/deal_pipeline?q=a%00b", "/search?q=a%00b"):
        message = ask(client, url, "ja")
        assert "このパラメータから NUL 文字（\\0）を取り除いてください。" in message
        assert "Remove the NUL character" in ask(client, url, "en")


def test_board_filters_that_do_not_fit_are_ignored_not_refused(client):
    for url in ("/board/deal_pipeline?owner=abc&lang=ja",
                "/board/deal_pipeline?owner=99999999999999999999999&lang=ja",
                "/board/deal_pipeline/new?offset=abc&lang=ja"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert shown(response) == []


def test_a_timeline_cursor_outside_the_calendar_is_refused_in_japanese(client):
    made = client.application.extensions["karte"]["records"].create(
        "customer", {"name": "Acme"})
    url = f"/customer/{made['id']}/timeline?before=0001-01-01T00:00%2B14:00"
    assert "「0001-01-01T00:00+14:00」は暦の範囲外です。" in japanese(
        ask(client, url, "ja"), "before")
    assert "is outside the calendar" in ask(client, url, "en")
