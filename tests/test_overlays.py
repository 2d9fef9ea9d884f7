"""Client packs tailoring a base pack (SPEC §7): patches, additions, removals, provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from karte.meta.load import check_pack, load_pack
from tests.conftest import write_pack

BASE_DEAL = {
    "label": "Deal",
    "fields": {"title": {"type": "string", "required": True},
               "amount": {"type": "money", "label": "Amount"},
               "notes": {"type": "string"}},
    "list": {"columns": ["title", "amount", "notes"], "sort": "-notes",
             "search": ["title", "notes"]},
    "card": {"sections": [{"label": "Deal", "fields": ["title", "amount", "notes"]}]},
    "duplicates": [{"fields": ["notes"]}, {"fields": ["title"]}],
    "unique": [["title", "notes"], ["title", "amount"]],
}
PIPELINE = {"entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}


@pytest.fixture
def base(tmp_path) -> Path:
    return write_pack(tmp_path / "base", {"deal": BASE_DEAL}, {"deal_pipeline": PIPELINE},
                      {"name": "standard", "currency": "EUR", "locale": "en",
                       "roles": {"sales": {"*": {"read": "all"}},
                                 "viewer": {"*": {"read": "all"}}}})


def client(tmp_path, entities=None, workflows=None, pack=None) -> Path:
    return write_pack(tmp_path / "client", entities or {}, workflows,
                      {"extends": "../base", **(pack or {})})


def test_a_client_pack_without_changes_is_the_base(tmp_path, base):
    pack = load_pack(client(tmp_path))
    assert set(pack.entities) == {"deal"} and set(pack.workflows) == {"deal_pipeline"}
    assert pack.currency == "EUR"
    assert pack.name == "client"          # a pack's name is never inherited


def test_add_a_field_and_an_entity(tmp_path, base):
    pack = load_pack(client(tmp_path, {
        "deal": {"extends": True, "fields": {"region": {"type": "string"}}},
        "supplier": {"fields": {"name": {"type": "string"}}}}))
    assert list(pack.entities["deal"].fields) == ["title", "amount", "notes", "region",
                                                  "stage"]
    assert "supplier" in pack.entities


def test_patch_a_field_label_keeps_its_other_keys(tmp_path, base):
    deal = load_pack(client(tmp_path, {"deal": {"extends": True, "fields": {
        "amount": {"label": {"en": "Value", "ja": "金額"}}}}})).entities["deal"]
    assert deal.fields["amount"].type == "money"
    assert deal.fields["amount"].label.get("ja") == "金額"
    assert deal.source == "entity_defs/deal.json"


def test_list_card_permissions_and_label_replace_the_base(tmp_path, base):
    deal = load_pack(client(tmp_path, {"deal": {
        "extends": True, "label": "Opportunity",
        "list": {"columns": ["amount"]},
        "card": {"sections": [{"fields": ["amount"]}]},
        "permissions": {"viewer": {"read": "own"}}}})).entities["deal"]
    assert str(deal.label) == "Opportunity"
    assert deal.list.columns == ("amount",)
    assert deal.list.sort == "-updated_at"        # the base's sort went with its list
    assert deal.card.sections[0].fields == ("amount",)
    assert deal.permissions["viewer"].read == "own"


def test_remove_hides_a_base_field_everywhere_the_base_showed_it(tmp_path, base):
    deal = load_pack(client(tmp_path, {"deal": {"extends": True,
                                                "remove": ["notes"]}})).entities["deal"]
    assert "notes" not in deal.fields
    assert deal.removed == ("notes",)
    assert deal.list.columns == ("title", "amount")
    assert deal.list.search == ("title",)
    assert deal.list.sort == "-updated_at"
    assert deal.card.sections[0].fields == ("title", "amount")
    assert deal.duplicates == (("title",),)
    assert deal.unique == (("title", "amount"),)


def test_a_removed_field_still_named_by_the_overlay_is_a_problem(tmp_path, base):
    _, problems = check_pack(client(tmp_path, {"deal": {
        "extends": True, "remove": ["notes"], "list": {"columns": ["title", "notes"]}}}))
    assert [str(p) for p in problems] == [
        "entity_defs/deal.json: /list/columns/1: field \"notes\" is removed by this client "
        "pack"]


def test_a_workflow_of_the_same_name_replaces_the_base_one(tmp_path, base):
    pack = load_pack(client(tmp_path, workflows={"deal_pipeline": {
        **PIPELINE, "stages": [{"key": "lead"}, {"key": "closed", "final": "closed"}]}}))
    assert pack.workflows["deal_pipeline"].stage_keys == ("lead", "closed")
    assert pack.workflows["deal_pipeline"].source == "workflows/deal_pipeline.json"


def test_client_settings_override_and_roles_merge_per_role(tmp_path, base):
    pack = load_pack(client(tmp_path, pack={
        "currency": "JPY", "roles": {"sales": {"*": {"read": "own"}},
                                     "support": {"*": {"read": "all"}}}}))
    assert pack.currency == "JPY" and pack.locale == "en"
    assert pack.roles["sales"]["*"].read == "own"
    assert set(pack.roles) == {"sales", "viewer", "support"}


def test_nested_extends(tmp_path, base):
    write_pack(tmp_path / "mid", {"deal": {"extends": True, "fields": {
        "region": {"type": "string"}, "amount": {"label": "Value"}}}},
        pack={"extends": "../base"})
    root = write_pack(tmp_path / "client", {"deal": {"extends": True, "fields": {
        "amount": {"help": "Before tax"}}}}, pack={"extends": "../mid"})
    amount = load_pack(root).entities["deal"].fields["amount"]
    assert (str(amount.label), str(amount.help), amount.type) == ("Value", "Before tax",
                                                                  "money")
    assert "region" in load_pack(root).entities["deal"].fields


def test_template_dirs_client_first_then_base(tmp_path, base):
    root = client(tmp_path)
    for pack_root in (root, base):
        (pack_root / "templates").mkdir()
    assert load_pack(root).template_dirs == (root / "templates", base / "templates")


def test_missing_base(tmp_path):
    root = write_pack(tmp_path / "client", {"deal": {"extends": True, "fields": {}}},
                      pack={"extends": "../nowhere"})
    _, problems = check_pack(root)
    assert [(p.code, p.where) for p in problems] == [
        ("DEF003", "pack.json: /extends"), ("DEF005", "entity_defs/deal.json: /extends")]


def test_extends_cycle(tmp_path):
    write_pack(tmp_path / "a", {"deal": BASE_DEAL}, pack={"extends": "../b"})
    write_pack(tmp_path / "b", {}, pack={"extends": "../a"})
    _, problems = check_pack(tmp_path / "a")
    assert [(p.code, p.where) for p in problems] == [("DEF004", "../b/pack.json: /extends")]
    assert "a → b → a" in problems[0].message


def test_a_pack_extending_itself(tmp_path):
    root = write_pack(tmp_path / "a", {"deal": BASE_DEAL}, pack={"extends": "."})
    _, problems = check_pack(root)
    assert [p.code for p in problems] == ["DEF004"]


def test_extends_true_on_an_entity_the_base_lacks(tmp_path, base):
    _, problems = check_pack(client(tmp_path, {"dael": {"extends": True, "fields": {}}}))
    assert [str(p) for p in problems] == [
        'entity_defs/dael.json: /extends: "extends": true, but the base pack has no entity '
        '"dael" (did you mean "deal"?)']


def test_problems_in_base_data_point_at_the_base_file(tmp_path):
    write_pack(tmp_path / "base", {"deal": {"fields": {
        "title": {"type": "string"}, "customer": {"type": "link", "to": "custmer"}}}},
        {"deal_pipeline": {**PIPELINE, "on_enter": {"won": [{"set": {"amount": 1}}]}}})
    root = client(tmp_path, {"deal": {"extends": True, "title_field": "titel",
                                      "fields": {"title": {"max_length": 50}}}})
    _, problems = check_pack(root)
    assert sorted(str(p) for p in problems) == [
        '../base/entity_defs/deal.json: /fields/customer/to: "to" names no entity: "custmer"',
        "../base/workflows/deal_pipeline.json: /on_enter/won/0/set/amount: deal has no field "
        '"amount"',
        'entity_defs/deal.json: /title_field: deal has no field "titel" (did you mean '
        '"title"?)',
    ]


def test_schema_problems_of_an_overlay_point_at_the_overlay(tmp_path, base):
    _, problems = check_pack(client(tmp_path, {"deal": {
        "extends": True, "fields": {"title": {"max_length": "x", "lable": "T"}}}}))
    assert [str(p) for p in problems] == [
        'entity_defs/deal.json: /fields/title/lable: unknown key "lable" (did you mean '
        '"label"?)',
        "entity_defs/deal.json: /fields/title/max_length: expected a whole number, got a "
        "string",
    ]


def test_meaning_problems_in_merged_data_point_at_their_own_file(tmp_path, base):
    _, problems = check_pack(client(tmp_path, {"deal": {
        "extends": True, "title_field": "titel",
        "fields": {"amount": {"max_length": 5}}}}))
    assert sorted(str(p) for p in problems) == [
        'entity_defs/deal.json: /fields/amount/max_length: "max_length" does not apply to a '
        "money field; it applies to string, text",
        'entity_defs/deal.json: /title_field: deal has no field "titel" (did you mean '
        '"title"?)',
    ]


def test_an_overlay_field_without_a_type_is_valid_only_as_a_patch(tmp_path, base):
    _, problems = check_pack(client(tmp_path, {"deal": {"extends": True, "fields": {
        "amount": {"label": "Value"}, "region": {"label": "Region"}}}}))
    assert [str(p) for p in problems] == [
        'entity_defs/deal.json: /fields/region: missing key "type"']


def test_a_same_named_file_without_extends_replaces_the_base_entity(tmp_path, base):
    deal = load_pack(client(tmp_path, {"deal": {"fields": {
        "name": {"type": "string"}}}})).entities["deal"]
    assert list(deal.fields) == ["name", "stage"]


def test_a_base_formula_broken_by_a_removal_points_at_the_base_file(tmp_path):
    write_pack(tmp_path / "base", {"product": {"fields": {
        "price": {"type": "money"}, "cost": {"type": "money"},
        "margin": {"type": "formula", "formula": "price - cost"}}}})
    _, problems = check_pack(client(tmp_path, {"product": {"extends": True,
                                                           "remove": ["cost"]}}))
    assert [(p.code, p.where) for p in problems] == [
        ("FORM004", "../base/entity_defs/product.json: /fields/margin/formula")]
