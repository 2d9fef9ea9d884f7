"""Reading cells as people write them (karte.transfer.values): every field type, English
and Japanese, refusals with their codes, and NFKC full-width forms read as ASCII ones."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from karte.fields import normalise
from karte.meta.model import Field, Option, Text
from karte.transfer.values import CellProblem, Reading, Ref, importable, read_cell

TOKYO = Reading(ZoneInfo("Asia/Tokyo"))
DAY_FIRST = Reading(ZoneInfo("Europe/Berlin"), day_first=True)
OPTIONS = (Option("company", Text.of({"en": "Company", "ja": "法人"})),
           Option("person", Text.of({"en": "Person", "ja": "個人"})),
           Option("mid_market", Text.of({"en": "Mid-market", "ja": "中堅企業"})))


def field(kind: str, **keys) -> Field:
    if kind in ("enum", "multi_enum"):
        keys.setdefault("options", OPTIONS)
    if kind in ("link", "links"):
        keys.setdefault("to", "customer")
    return Field(f"a_{kind}", kind, Text.of({"en": kind.title(), "ja": "項目"}), **keys)


CASES = [
    # type, cell, value read
    ("string", "  Lyons Ltd ", "Lyons Ltd"),
    ("string", "㈱山田製作所", "㈱山田製作所"),            # text is kept as written
    ("string", 12000, "12000"),
    ("string", 1.5, "1.5"),
    ("string", dt.date(2026, 11, 30), "2026-11-30"),
    ("string", True, "TRUE"),
    ("string", '="00123"', "00123"),                        # a CSV export keeping zeros
    ("phone", '="0312345678"', "0312345678"),
    ("text", "one\r\ntwo\n", "one\ntwo"),
    ("integer", "1200", 1200),
    ("integer", "1,200", 1200),
    ("integer", "１，２００", 1200),
    ("integer", "-1,234", -1234),
    ("integer", "−5", -5),                                  # U+2212 minus
    ("integer", "▲300", -300),                              # Japanese accounts' minus
    ("integer", "(42)", -42),
    ("integer", "+7", 7),
    ("integer", 12.0, 12),
    ("integer", "3.00", 3),
    ("integer", "1 250", 1250),
    ("decimal", "-1,234.5", Decimal("-1234.5")),
    ("decimal", "０．２５", Decimal("0.25")),
    ("decimal", 0.1, Decimal("0.1")),
    ("decimal", ".5", Decimal("0.5")),
    ("decimal", "1e3", Decimal("1e3")),
    ("money", "¥1,200", Decimal("1200")),
    ("money", "￥１，２００", Decimal("1200")),
    ("money", "1,200円", Decimal("1200")),
    ("money", "\\1,200", Decimal("1200")),                  # Shift_JIS's yen byte
    ("money", "$1,234.56", Decimal("1234.56")),
    ("money", "-¥500", Decimal("-500")),
    ("money", "JPY 3,000", Decimal("3000")),
    ("money", "1,000 USD", Decimal("1000")),
    ("money", "usd 5", Decimal("5")),
    ("money", "€12.50", Decimal("12.50")),
    ("money", 250000.5, Decimal("250000.5")),
    ("percent", "12.5%", Decimal("12.5")),
    ("percent", "４０％", Decimal("40")),
    ("percent", "40", Decimal("40")),
    ("percent", 25, Decimal("25")),
    ("boolean", "yes", True), ("boolean", "No", False), ("boolean", "TRUE", True),
    ("boolean", "false", False), ("boolean", "1", True), ("boolean", "0", False),
    ("boolean", "Y", True), ("boolean", "n", False), ("boolean", "on", True),
    ("boolean", "はい", True), ("boolean", "いいえ", False), ("boolean", "○", True),
    ("boolean", "〇", True), ("boolean", "×", False), ("boolean", "✓", True),
    ("boolean", "有", True), ("boolean", "なし", False), ("boolean", "ｙｅｓ", True),
    ("boolean", "有効", True), ("boolean", "無効", False), ("boolean", "済み", True),
    ("boolean", True, True), ("boolean", 0, False),
    ("date", "2026-11-30", dt.date(2026, 11, 30)),
    ("date", "2026/11/30", dt.date(2026, 11, 30)),
    ("date", "2026/1/5", dt.date(2026, 1, 5)),
    ("date", "2026.11.30", dt.date(2026, 11, 30)),
    ("date", "11/30/2026", dt.date(2026, 11, 30)),        # month first unless day_first
    ("date", "20261130", dt.date(2026, 11, 30)),
    ("date", "２０２６／１１／３０", dt.date(2026, 11, 30)),
    ("date", "2026年11月30日", dt.date(2026, 11, 30)),
    ("date", "2026年1月5日(月)", dt.date(2026, 1, 5)),
    ("date", "令和8年11月30日", dt.date(2026, 11, 30)),
    ("date", "令和元年5月1日", dt.date(2019, 5, 1)),
    ("date", "平成31年4月30日", dt.date(2019, 4, 30)),
    ("date", "R8.11.30", dt.date(2026, 11, 30)),
    ("date", "2026/11/30 0:00", dt.date(2026, 11, 30)),   # Excel's CSV of a date cell
    ("date", "2026-11-30T00:00:00", dt.date(2026, 11, 30)),
    ("date", dt.date(2026, 11, 30), dt.date(2026, 11, 30)),
    ("date", dt.datetime(2026, 11, 30), dt.date(2026, 11, 30)),
    ("date", 46356, dt.date(2026, 11, 30)),                # an Excel serial
    ("date", 61, dt.date(1900, 3, 1)),
    ("date", 1, dt.date(1900, 1, 1)),                      # before Excel's 29 Feb 1900
    ("date", 59, dt.date(1900, 2, 28)),
    ("date", 46356.0, dt.date(2026, 11, 30)),
    ("datetime", "2026-11-30 14:05", dt.datetime(2026, 11, 30, 14, 5, tzinfo=TOKYO.zone)),
    ("datetime", "2026/11/30 9:05:30",
     dt.datetime(2026, 11, 30, 9, 5, 30, tzinfo=TOKYO.zone)),
    ("datetime", "2026-11-30T14:05:00+00:00", dt.datetime(2026, 11, 30, 14, 5, tzinfo=dt.UTC)),
    ("datetime", "2026-11-30", dt.datetime(2026, 11, 30, tzinfo=TOKYO.zone)),
    ("datetime", "2026年11月30日 午後2時5分",
     dt.datetime(2026, 11, 30, 14, 5, tzinfo=TOKYO.zone)),
    ("datetime", "11/30/2026 2:05 PM", dt.datetime(2026, 11, 30, 14, 5, tzinfo=TOKYO.zone)),
    ("datetime", "2026/11/30 12:00 AM", dt.datetime(2026, 11, 30, 0, 0, tzinfo=TOKYO.zone)),
    ("datetime", 46356.5, dt.datetime(2026, 11, 30, 12, 0, tzinfo=TOKYO.zone)),
    ("datetime", dt.datetime(2026, 11, 30, 9, 15),
     dt.datetime(2026, 11, 30, 9, 15, tzinfo=TOKYO.zone)),
    ("email", " Info@Example.COM ", "info@example.com"),
    ("email", "ｉｎｆｏ＠ｅｘａｍｐｌｅ．ｊｐ", "info@example.jp"),
    ("email", "mailto:a@example.com", "a@example.com"),
    ("phone", "０３－１２３４－５６７８", "03-1234-5678"),
    ("phone", " tel:+81 3 1234 5678", "+81 3 1234 5678"),
    ("phone", 312345678, "312345678"),
    ("url", "www.example.com", "https://www.example.com"),
    ("url", "example.co.jp/about", "https://example.co.jp/about"),
    ("url", "http://example.com/a?b=1", "http://example.com/a?b=1"),
    ("url", "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｊｐ", "https://example.jp"),
    ("enum", "company", "company"),
    ("enum", "Company", "company"),
    ("enum", "法人", "company"),
    ("enum", " COMPANY ", "company"),
    ("enum", "mid market", "mid_market"),
    ("enum", "Mid-Market", "mid_market"),
    ("enum", "中堅企業", "mid_market"),
    ("enum", "ｍｉｄ＿ｍａｒｋｅｔ", "mid_market"),
    ("multi_enum", "company;person", ["company", "person"]),
    ("multi_enum", "個人；法人", ["company", "person"]),      # in the options' order
    ("multi_enum", "Person; person ;", ["person"]),
    ("multi_enum", "Company, Person", ["company", "person"]),
    ("multi_enum", "法人、個人", ["company", "person"]),
    ("multi_enum", "company\nmid-market", ["company", "mid_market"]),
    ("link", "Lyons Ltd", Ref(("Lyons Ltd",))),
    ("link", 42, Ref(("42",))),
    ("links", "Lyons Ltd; 12 ;", Ref(("Lyons Ltd", "12"))),
    ("user", " ann@example.com ", Ref(("ann@example.com",))),
]


@pytest.mark.parametrize(("kind", "cell", "expected"), CASES,
                         ids=[f"{c[0]}-{c[1]!r}" for c in CASES])
def test_reads(kind, cell, expected):
    value = read_cell(field(kind), cell, TOKYO)
    assert value == expected and type(value) is type(expected)
    if not isinstance(value, Ref):           # the records service takes what was read
        assert normalise(field(kind), value, "JP") is not None


@pytest.mark.parametrize(("cell", "expected"), [
    ("30.11.2026", dt.date(2026, 11, 30)),
    ("30/11/2026", dt.date(2026, 11, 30)),
    ("01/12/2026", dt.date(2026, 12, 1)),
    ("1-12-2026", dt.date(2026, 12, 1)),
    ("2026-12-01", dt.date(2026, 12, 1)),      # year first is never day first
    ("2026/12/01", dt.date(2026, 12, 1)),
])
def test_day_first(cell, expected):
    assert read_cell(field("date"), cell, DAY_FIRST) == expected


def test_day_first_datetime_is_local_to_the_zone():
    assert read_cell(field("datetime"), "30.11.2026 14:05", DAY_FIRST) == dt.datetime(
        2026, 11, 30, 14, 5, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize("kind", [c for c in ("string", "text", "integer", "decimal",
                                               "money", "percent", "boolean", "date",
                                               "datetime", "email", "phone", "url", "enum",
                                               "link", "user")])
@pytest.mark.parametrize("cell", [None, "", "   ", "\u3000"])
def test_empty_is_none(kind, cell):
    assert read_cell(field(kind), cell, TOKYO) is None


@pytest.mark.parametrize("kind", ["multi_enum", "links"])
def test_empty_multi_is_empty_list(kind):
    assert read_cell(field(kind), " ", TOKYO) == []


PROBLEMS = [
    ("integer", "1.5", "import.integer",
     'Cannot read "1.5" as a whole number: write it with digits only, e.g. 1200 or 1,200.'),
    ("integer", "many", "import.number",
     'Cannot read "many" as a number: write 1200, 1,200 or -1,234.5.'),
    ("integer", "1,2,3", "import.number", None),
    ("decimal", "1,5", "import.number", None),           # a decimal comma is not guessed
    ("money", "¥", "import.number",
     'Cannot read "¥" as a number: write 1200, 1,200, ¥1,200 or 1,200円.'),
    ("money", "12-34", "import.number", None),
    ("money", "ABC123", "import.number", None),          # not a currency code
    ("integer", "EMP100", "import.number", None),
    ("percent", "abc%", "import.number",
     'Cannot read "abc%" as a number: write 12.5 or 12.5%.'),
    ("boolean", "maybe", "import.boolean",
     'Cannot read "maybe" as yes or no: write yes/no, true/false, 1/0 or はい/いいえ.'),
    ("boolean", 2, "import.boolean", None),
    ("date", "2026/13/01", "import.date",
     'Cannot read "2026/13/01" as a date: write 2026-11-30 or 2026/11/30.'),
    ("date", "30/11/2026", "import.date", None),          # day first, read month first
    ("date", "2026-02-30", "import.date", None),
    ("date", "next week", "import.date", None),
    ("date", "26/11/30", "import.date", None),            # a two-digit year is not guessed
    ("date", dt.datetime(2026, 11, 30, 9, 15), "import.date", None),
    ("date", 0, "import.date", None),
    ("date", 60, "import.date", None),                    # Excel's 29 February 1900
    ("date", 3_000_000, "import.date", None),
    ("date", "2026/11/30 9:15", "import.date", None),
    ("datetime", "2026-11-30 25:00", "import.datetime",
     'Cannot read "2026-11-30 25:00" as a date and time: write 2026-11-30 14:05 or '
     "2026/11/30 14:05."),
    ("datetime", "soon", "import.datetime", None),
    ("email", "batch11@@example", "import.email",
     'Cannot read "batch11@@example" as an email address: The part after the @-sign '
     "contains invalid characters: '@'."),
    ("url", "ftp://example.com", "import.url",
     'Cannot read "ftp://example.com" as a web address: Enter a web address starting with '
     "http:// or https://."),
    ("enum", "corporation", "import.enum",
     '"corporation" is not an option of "a_enum": write one of company (Company, 法人), '
     "person (Person, 個人), mid_market (Mid-market, 中堅企業)."),
    ("multi_enum", "company;vip;法人", "import.multi_enum",
     '"vip" is not an option of "a_multi_enum": write options separated by ";", among '
     "company (Company, 法人), person (Person, 個人), mid_market (Mid-market, 中堅企業)."),
]


@pytest.mark.parametrize(("kind", "cell", "code", "message"), PROBLEMS,
                         ids=[f"{p[0]}-{p[1]!r}" for p in PROBLEMS])
def test_problems(kind, cell, code, message):
    with pytest.raises(CellProblem) as caught:
        read_cell(field(kind), cell, TOKYO)
    problem = caught.value
    assert problem.code == code
    assert problem.message == str(problem) == problem.template % problem.details
    if message is not None:
        assert problem.message == message


def test_day_first_hint_in_the_date_example():
    with pytest.raises(CellProblem) as caught:
        read_cell(field("date"), "2026/13/01", DAY_FIRST)
    assert caught.value.details["example"] == "2026-11-30, 2026/11/30 or 30.11.2026"


def test_long_value_shortened_in_the_message():
    with pytest.raises(CellProblem) as caught:
        read_cell(field("integer"), "x" * 500, TOKYO)
    assert len(caught.value.details["value"]) == 60


def test_messages_quote_one_line_and_list_twenty_options():
    many = field("enum", options=tuple(Option(f"o{n}", Text.of(f"O{n}")) for n in range(25)))
    with pytest.raises(CellProblem) as caught:
        read_cell(many, "first\nsecond", TOKYO)
    assert caught.value.details["value"] == "first second"
    assert caught.value.details["allowed"].endswith("o19 (O19) and 5 more")


@pytest.mark.parametrize("kind", ["formula", "rollup", "file", "lines"])
def test_not_importable(kind):
    with pytest.raises(CellProblem) as caught:
        read_cell(field(kind), "1", TOKYO)
    assert caught.value.code == "import.not_importable"


def test_retired_and_renamed_options():
    stage = field("enum", retired={"old": "company"}, renamed_values={"individual": "person"})
    assert read_cell(stage, "old", TOKYO) == "company"
    assert read_cell(stage, "Individual", TOKYO) == "person"


# ------------------------------------------------------------------ NFKC property

def full_width(text: str) -> str:
    """ASCII digits, letters and signs as their full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@settings(max_examples=150, deadline=None)
@given(st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False),
       st.booleans())
def test_full_width_numbers_read_as_ascii(number, grouped):
    text = f"{number:,.2f}" if grouped else f"{number:.2f}"
    wide = full_width(text)
    assert unicodedata.normalize("NFKC", wide) == text
    for kind in ("decimal", "money"):
        assert read_cell(field(kind), wide, TOKYO) == read_cell(field(kind), text, TOKYO)
    assert read_cell(field("money"), full_width("¥") + wide, TOKYO) == number


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
       st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%m/%d/%Y", "%Y年%m月%d日"]))
def test_full_width_dates_read_as_ascii(day, pattern):
    text = f"{day.year:04d}" + day.strftime(pattern.replace("%Y", "", 1)) \
        if pattern.startswith("%Y") else day.strftime(pattern.replace("%Y", "")) + \
        f"{day.year:04d}"
    assert read_cell(field("date"), full_width(text), TOKYO) == day
    assert read_cell(field("date"), text, TOKYO) == day


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_full_width_integers(number):
    assert read_cell(field("integer"), full_width(f"{number:,}"), TOKYO) == number


# ------------------------------------------------------------------ with a pack

def test_reading_of_a_pack(make_pack):
    entity = {"name": "thing", "fields": {"name": {"type": "string"}}}
    for locale, country, timezone, day_first in (
            ("en", "US", "America/New_York", False), ("en", "GB", "Europe/London", True),
            ("de", None, "Europe/Berlin", True), ("ja", "JP", "Asia/Tokyo", False),
            ("fr", "FR", "Europe/Paris", True)):
        pack = make_pack({"thing": entity}, pack={
            "name": "p", "locale": locale, "timezone": timezone,
            **({"country": country} if country else {})})
        reading = Reading.of(pack)
        assert (reading.zone.key, reading.day_first) == (timezone, day_first), locale
        assert Reading.of(pack, day_first=not day_first).day_first is not day_first


def test_importable_fields(make_pack):
    pack = make_pack({
        "doc": {"name": "doc", "fields": {
            "title": {"type": "string"},
            "stamp": {"type": "date", "read_only": True},
            "n": {"type": "integer"},
            "twice": {"type": "formula", "formula": "n * 2"},
            "scan": {"type": "file"},
            "items": {"type": "lines", "of": "doc_item"},
            "count": {"type": "rollup", "of": "items", "agg": "count", "result": "integer"},
        }},
        "doc_item": {"name": "doc_item", "part_of": "doc", "fields": {
            "label": {"type": "string"}}},
    })
    names = [f.name for f in importable(pack.entity("doc"))]
    assert names == ["title", "n"]
    assert [f.name for f in importable(pack.entity("doc"), read_only=True)] == [
        "title", "stamp", "n"]
    assert [f.name for f in importable(pack.entity("doc_item"), read_only=True)] == ["label"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["integer", "decimal", "money", "percent", "boolean", "date",
                        "datetime", "email", "url", "phone", "enum", "multi_enum", "string",
                        "links"]),
       st.one_of(st.text(max_size=40),
                 st.text(alphabet="0123456789０１２３,.-/:年月日時分 ¥円%+()▲令和元AMP",
                         max_size=25),
                 st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                 st.datetimes(), st.dates(), st.booleans()))
def test_any_cell_is_read_or_refused_with_a_cell_problem(kind, cell):
    try:
        read_cell(field(kind), cell, TOKYO)
    except CellProblem as problem:
        assert problem.code.startswith("import.") and problem.message
