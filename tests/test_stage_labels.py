"""A workflow's stage field is labelled in the pack's languages (SPEC §4): the workflow's
`field_label`, else its `label` — never the field name in English on a Japanese page."""

from __future__ import annotations

from bs4 import BeautifulSoup

DEAL = {"label": {"en": "Deal", "ja": "商談"}, "plural": {"en": "Deals", "ja": "商談"},
        "fields": {"title": {"type": "string", "label": {"en": "Title", "ja": "件名"}}},
        "list": {"columns": ["title", "stage"], "filters": ["stage"]}}
STAGES = [{"key": "new", "label": {"en": "New", "ja": "新規"}},
          {"key": "won", "label": {"en": "Won", "ja": "受注"}, "final": "won"}]
PIPELINE = {"entity": "deal", "field": "stage", "stages": STAGES,
            "label": {"en": "Sales pipeline", "ja": "営業パイプライン"}}


def test_field_label_names_the_stage_field_in_each_language(make_pack):
    pack = make_pack({"deal": DEAL}, {"pipeline": {
        **PIPELINE, "field_label": {"en": "Stage", "ja": "ステージ"}}})
    label = pack.entities["deal"].fields["stage"].label
    assert (label.get("en"), label.get("ja")) == ("Stage", "ステージ")


def test_without_field_label_the_workflows_label_is_used(make_pack):
    label = make_pack({"deal": DEAL}, {"pipeline": PIPELINE}).entities["deal"].fields[
        "stage"].label
    assert (label.get("en"), label.get("ja")) == ("Sales pipeline", "営業パイプライン")


def test_a_label_the_entity_gives_its_stage_field_wins(make_pack):
    declared = {**DEAL, "fields": {**DEAL["fields"], "stage": {
        "type": "enum", "label": {"en": "Phase", "ja": "フェーズ"}}}}
    pack = make_pack({"deal": declared}, {"pipeline": {**PIPELINE, "field_label": "Stage"}})
    assert pack.entities["deal"].fields["stage"].label.get("ja") == "フェーズ"


def test_the_japanese_list_heads_the_stage_column_in_japanese(make_app):
    app = make_app({"deal": DEAL}, {"pipeline": {
        **PIPELINE, "field_label": {"en": "Stage", "ja": "ステージ"}}}, {"locale": "ja"})
    app.extensions["karte"]["records"].create("deal", {"title": "A"})

    soup = BeautifulSoup(app.client().get("/deal/").get_data(as_text=True), "html.parser")

    headers = [th.get_text(" ", strip=True) for th in soup.select("table thead th")]
    assert any(h.startswith("ステージ") for h in headers), headers
    assert not any("Stage" in h for h in headers)
