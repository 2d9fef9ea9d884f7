"""`karte check` on field-level permissions: the warning (DEF099) for a visible formula
computed from a hidden field. Refusals (DEF090–DEF096) are in tests/defs/invalid/."""

from __future__ import annotations

from click.testing import CliRunner

from karte.cli import main
from karte.meta.load import check_pack, load_pack
from tests.conftest import write_pack

PRODUCT = {"fields": {"name": {"type": "string"}, "price": {"type": "money"},
                      "unit_cost": {"type": "money"},
                      "margin": {"type": "formula", "formula": "price - unit_cost"}}}


def _pack(tmp_path, hidden):
    return write_pack(tmp_path, {"product": PRODUCT}, pack={"roles": {"sales": {
        "*": {"read": "all"}, "product": {"hidden": hidden}}}})


def test_a_visible_formula_reading_a_hidden_field_is_a_warning_not_a_refusal(tmp_path):
    pack, problems = check_pack(_pack(tmp_path, ["unit_cost"]))
    assert pack is not None
    assert [(p.code, p.where) for p in problems] == [
        ("DEF099", "pack.json: /roles/sales/product/hidden/0")]
    assert "product.margin is computed from product.unit_cost" in problems[0].message
    assert "add \"margin\" to sales's hidden fields of product" in problems[0].message
    assert load_pack(tmp_path).permission("sales", "product").hidden == ("unit_cost",)


def test_hiding_the_formula_too_silences_the_warning(tmp_path):
    pack, problems = check_pack(_pack(tmp_path, ["unit_cost", "margin"]))
    assert pack is not None and problems == []


def test_karte_check_prints_the_warning_and_succeeds(tmp_path):
    result = CliRunner().invoke(main, ["check", "--pack", str(_pack(tmp_path, ["unit_cost"]))])
    assert result.exit_code == 0, result.output
    assert "warning: pack.json: /roles/sales/product/hidden/0: product.margin" in result.output
    assert "OK" in result.output


def test_rollups_are_traced_to_the_fields_they_read(tmp_path):
    """A rollup reads its aggregated field and the fields of its `where`."""
    from karte.meta.validate.field_rights import _inputs

    product = {"fields": {**PRODUCT["fields"], "offered": {
        "type": "rollup", "of": "offer.product", "agg": "sum", "field": "cost",
        "where": {"field": "open", "op": "=", "value": True}}}}
    pack = load_pack(write_pack(tmp_path, {
        "product": product,
        "offer": {"fields": {"product": {"type": "link", "to": "product"},
                             "cost": {"type": "money"}, "open": {"type": "boolean"}}}}))
    entity = pack.entities["product"]
    assert _inputs(pack, entity, entity.fields["offered"]) == [("offer", "cost"),
                                                               ("offer", "open")]
    assert _inputs(pack, entity, entity.fields["margin"]) == [
        ("product", "price"), ("product", "unit_cost")]


def test_a_visible_fields_condition_on_a_hidden_field_is_a_warning(tmp_path):
    product = {"fields": {**PRODUCT["fields"], "reason": {
        "type": "text", "visible_if": {"field": "unit_cost", "op": ">", "value": 100}}}}
    root = write_pack(tmp_path, {"product": product}, pack={"roles": {"sales": {
        "*": {"read": "all"}, "product": {"hidden": ["unit_cost", "margin"]}}}})
    pack, problems = check_pack(root)
    assert pack is not None
    assert [(p.code, p.where) for p in problems] == [
        ("DEF098", "pack.json: /roles/sales/product/hidden/0")]
    assert "visible_if of product.reason reads unit_cost" in problems[0].message
