"""Matching a file's columns to fields (karte.transfer.mapping.match_columns)."""

from __future__ import annotations

import pytest

from karte.transfer.mapping import match_columns, targets

CUSTOMER = {
    "name": "customer",
    "label": {"en": "Customer", "ja": "顧客"},
    "fields": {
        "name": {"type": "string", "label": {"en": "Name", "ja": "顧客名"}},
        "email": {"type": "email", "label": {"en": "E-mail", "ja": "メールアドレス"}},
        "postal_code": {"type": "string", "label": {"en": "Postal code", "ja": "郵便番号"}},
        "kind": {"type": "enum", "options": ["company", "person"],
                 "label": {"en": "Kind", "ja": "区分"}},
        "total": {"type": "formula", "formula": "1 + 1", "label": {"en": "Total"}},
        "since": {"type": "date", "read_only": True, "label": {"en": "Customer since"}},
    },
}
QUOTE = {
    "name": "quote",
    "fields": {
        "number": {"type": "string", "label": {"en": "Quote number", "ja": "見積番号"}},
        "customer": {"type": "string", "label": {"en": "Customer", "ja": "顧客"}},
        "lines": {"type": "lines", "of": "quote_line", "label": {"en": "Lines", "ja": "明細"}},
        "notes": {"type": "text", "label": {"en": "Notes"}},
    },
}
QUOTE_LINE = {
    "name": "quote_line", "part_of": "quote",
    "fields": {
        "product": {"type": "string", "label": {"en": "Product", "ja": "商品"}},
        "quantity": {"type": "decimal", "label": {"en": "Quantity", "ja": "数量"}},
        "notes": {"type": "text", "label": {"en": "Notes"}},
    },
}


@pytest.fixture
def pack(make_pack):
    return make_pack({"customer": CUSTOMER, "quote": QUOTE, "quote_line": QUOTE_LINE})


@pytest.mark.parametrize(("column", "target"), [
    ("name", "name"), ("Name", "name"), ("NAME ", "name"), ("顧客名", "name"),
    ("ｎａｍｅ", "name"),                                 # full-width
    ("E-mail", "email"), ("email", "email"), ("Email", "email"), ("e mail", "email"),
    ("メールアドレス", "email"), ("メール アドレス", "email"),
    ("postal_code", "postal_code"), ("Postal code", "postal_code"),
    ("postal-code", "postal_code"), ("PostalCode", "postal_code"), ("郵便番号", "postal_code"),
    ("区分", "kind"), ("id", "id"), ("ID", "id"),
    ("Total", None),                                        # a formula is never input
    ("Customer since", "since"),                            # read_only: SPEC lets imports
    ("Fax", None), ("", None),
])
def test_matches_by_name_and_label_in_every_locale(pack, column, target):
    assert match_columns(pack.entity("customer"), [column]) == {column: target}


def test_each_field_taken_once_first_column_wins(pack):
    assert match_columns(pack.entity("customer"), ["Name", "顧客名", "Email"]) == {
        "Name": "name", "顧客名": None, "Email": "email"}


def test_remembered_choices_first(pack):
    remembered = {"Firma": "name", "Name": None, "Mail": "email", "Old": "gone_field"}
    assert match_columns(pack.entity("customer"), ["Firma", "Name", "Mail", "Old", "Kind"],
                         remembered) == {
        "Firma": "name", "Name": None, "Mail": "email", "Old": None, "Kind": "kind"}


def test_lines_fields_with_the_pack(pack):
    quote = pack.entity("quote")
    columns = ["見積番号", "Customer", "Product", "数量", "Notes", "Lines notes"]
    assert match_columns(quote, columns, pack=pack) == {
        "見積番号": "number", "Customer": "customer", "Product": "lines.product",
        "数量": "lines.quantity", "Notes": "notes",         # the quote's own first
        "Lines notes": "lines.notes"}
    assert match_columns(quote, ["lines.quantity", "明細 数量"], pack=pack) == {
        "lines.quantity": "lines.quantity", "明細 数量": None}
    assert match_columns(quote, ["Product"]) == {"Product": None}   # no pack: no lines


def test_targets(pack):
    names = [name for name, _ in targets(pack.entity("quote"), pack)]
    assert names == ["id", "number", "customer", "notes", "lines.product",
                     "lines.quantity", "lines.notes"]
    assert "since" not in [n for n, _ in targets(pack.entity("customer"), read_only=False)]
