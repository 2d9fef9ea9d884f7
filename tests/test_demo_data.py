"""`karte demo` reads as a plausible company (issue 12): Japanese records in Japanese with
real prefectures and NNN-NNNN postal codes, English ones in English with states and
ZIP codes, products that are products, deals, to-dos, support issues and activities
named as such — never a company name on a product nor a slogan on a deal."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from karte.cli import main
from karte.config import REPO_ROOT
from karte.demo import words
from karte.meta.load import load_pack
from karte.store import Records
from karte.store.db import make_engine

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
PREFECTURES = set(
    (
        "北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 "
        "栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 新潟県 富山県 "
        "石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 "
        "滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 鳥取県 島根県 "
        "岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 "
        "佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県 沖縄県 "
    ).split()
)
COMPANY_WORDS = re.compile(r"株式会社|有限会社|合同会社|\b(Inc|LLC|Ltd|PLC|Group|and Sons)\b")


def _pattern(template: str) -> str:
    """A DEALS template as a regular expression ({n}, {p}, {y} are numbers)."""
    return (
        re.escape(template)
        .replace(r"\{n\}", r"\d+")
        .replace(r"\{p\}", r"\d+")
        .replace(r"\{y\}", r"\d+")
    )


@pytest.fixture
def company(tmp_path_factory, db_url, monkeypatch):
    """The standard pack's demo, 300 records, seed 5: {entity: [records]}."""
    monkeypatch.setenv("KARTE_DATABASE_URL", db_url)
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path_factory.mktemp("instance")))
    result = CliRunner().invoke(
        main, ["demo", "--pack", str(REPO_ROOT), "--seed", "5", "--size", "300"]
    )
    assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    records = Records(engine, load_pack(REPO_ROOT))
    yield {
        name: records.query(name, limit=500)
        for name in ("customer", "contact", "deal", "product", "task", "ticket", "interaction")
    }
    engine.dispose()


def test_addresses_are_written_the_way_each_country_writes_them(company):
    japanese = [c for c in company["customer"] if JAPANESE.search(c["name"])]
    english = [c for c in company["customer"] if not JAPANESE.search(c["name"])]
    assert japanese and english, "both languages are in the demo"
    for c in japanese:
        assert c["region"] is None or c["region"] in PREFECTURES, c
        assert c["postal_code"] is None or re.fullmatch(r"\d{3}-\d{4}", c["postal_code"]), c
        assert c["country"] in (None, "日本"), c
        for name in ("city", "street"):
            assert c[name] is None or JAPANESE.search(c[name]), (name, c)
    for c in english:
        assert c["postal_code"] is None or re.fullmatch(r"\d{5}", c["postal_code"]), c
        assert c["country"] in (None, "United States"), c
        for name in ("city", "street", "region", "notes"):
            assert c[name] is None or not JAPANESE.search(c[name]), (name, c)
    assert any(c["street"] and re.search(r"\d+丁目\d+番\d+号$", c["street"]) for c in japanese)


def test_a_japanese_contact_is_japanese_throughout(company):
    for c in company["contact"]:
        if c["last_name"] and JAPANESE.search(c["last_name"]):
            assert c["first_name"] is None or JAPANESE.search(c["first_name"]), c
            assert c["department"] is None or c["department"] in words.DEPARTMENTS[words.JA]
        elif c["department"] is not None:
            assert c["department"] in words.DEPARTMENTS[words.EN], c


def test_products_are_products_not_companies(company):
    names = [p["name"] for p in company["product"] if p["name"]]
    assert names
    models = [re.escape(model) for model in words.MODELS if model]
    things = "|".join(re.escape(p) for p in words.PRODUCTS[words.EN] + words.PRODUCTS[words.JA])
    known = re.compile(f"({things})({'|'.join(models)})?")
    supplies = set(words.SUPPLIES[words.EN] + words.SUPPLIES[words.JA])
    for name in names:
        assert not COMPANY_WORDS.search(name), name
        assert name in supplies or known.fullmatch(name), name


def test_deals_tasks_tickets_and_activities_are_named_as_such(company):
    deals = [re.compile(_pattern(t)) for t in words.DEALS[words.EN] + words.DEALS[words.JA]]
    for d in company["deal"]:
        assert any(p.fullmatch(d["title"]) for p in deals), d["title"]
    todos = set(words.TODOS[words.EN] + words.TODOS[words.JA])
    actions = " ".join(
        p.read_text(encoding="utf-8") for p in (REPO_ROOT / "workflows").glob("*.json")
    )
    for t in company["task"]:  # else made by one of the pack's workflow actions
        assert t["title"] in todos or f'"{t["title"]}"' in actions, t["title"]
    issues = set(words.ISSUES[words.EN] + words.ISSUES[words.JA])
    assert all(t["subject"] in issues for t in company["ticket"])
    activities = set(words.ACTIVITIES[words.EN] + words.ACTIVITIES[words.JA])
    assert all(i["subject"] in activities for i in company["interaction"])


def test_notes_are_sentences_of_the_records_language(company):
    notes = [c["notes"] for c in company["customer"] if c["notes"]]
    assert notes
    sentences = set(words.NOTES[words.EN] + words.NOTES[words.JA])
    for text in notes:
        parts = (
            re.findall(r"[^。]+。", text) if JAPANESE.search(text) else re.findall(r"[^.]+\.", text)
        )
        assert parts and all(p.strip() in sentences for p in parts), text


def test_records_about_a_customer_are_in_the_customers_language(company):
    japanese = {c["id"] for c in company["customer"] if JAPANESE.search(c["name"])}
    deals = [d for d in company["deal"] if d["customer"] is not None]
    assert any(d["customer"] in japanese for d in deals)
    for d in deals:
        assert bool(JAPANESE.search(d["title"])) == (d["customer"] in japanese), d
    for c in company["contact"]:
        if c["customer"] is not None and c["last_name"]:
            assert bool(JAPANESE.search(c["last_name"])) == (c["customer"] in japanese), c


def test_a_product_costs_less_than_it_sells_for(company):
    priced = [p for p in company["product"] if p["price"] is not None and p["cost"] is not None]
    assert priced
    assert all(p["cost"] <= p["price"] for p in priced), priced
