"""Moments are shown to the minute, in the user's timezone and language — on cards,
lists, timelines, history and boards — while <time datetime> keeps the exact instant."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

ENTITIES = {"deal": {"title_field": "title", "fields": {
    "title": {"type": "string"}, "meet_at": {"type": "datetime", "label": "Meeting"}},
    "list": {"columns": ["title", "meet_at"]}}}
PIPELINE = {"entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}
AT = dt.datetime(2026, 11, 25, 7, 29, 45, tzinfo=dt.UTC)     # 16:29:45 in Tokyo


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"pipeline": PIPELINE}, {"timezone": "Asia/Tokyo"})


def times(response) -> list[tuple[str, str]]:
    """(datetime attribute, text) of every <time> on the page, whitespace collapsed."""
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return [(t.get("datetime", ""), " ".join(t.get_text().split()))
            for t in soup.find_all("time")]


@pytest.mark.parametrize("path", ["/deal/{id}", "/deal/", "/deal/{id}/history",
                                  "/board/pipeline", "/account", "/admin/users"])
def test_moments_show_minutes_not_seconds(app, path):
    deal = app.extensions["karte"]["records"].create("deal", {"title": "A", "meet_at": AT})

    shown = times(app.client().get(path.format(id=deal["id"])))

    assert shown, "no <time> on the page"
    assert all(len(text.split(":")) == 2 for _, text in shown if ":" in text), shown
    if path not in ("/board/pipeline", "/account", "/admin/users"):
        assert ("2026-11-25T07:29:45+00:00", "Nov 25, 2026, 4:29 PM") in shown


def test_the_japanese_ui_writes_them_its_way(app):
    deal = app.extensions["karte"]["records"].create("deal", {"title": "A", "meet_at": AT})
    client = app.client()
    client.get("/?lang=ja")

    shown = times(client.get(f"/deal/{deal['id']}"))

    assert ("2026-11-25T07:29:45+00:00", "2026/11/25 16:29") in shown


def test_the_users_page_shows_last_sign_in_to_the_minute(app):
    shown = times(app.client().get("/admin/users"))     # signing in stamps last_login_at

    assert any("T" in instant and ":" in text for instant, text in shown), shown
    assert all(len(text.split(":")) <= 2 for _, text in shown), shown
