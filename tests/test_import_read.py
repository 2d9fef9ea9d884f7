"""Reading import files (karte.transfer.read): the corpus exactly, encodings, delimiters,
XLSX with both engines, streaming, and every refusal with its message."""

from __future__ import annotations

import datetime as dt
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from karte.transfer import read
from karte.transfer.read import ReadError, open_sheet

CORPUS = Path(__file__).parent / "import_files"


def rows(name: str, **kwargs) -> list[tuple[int, list]]:
    return list(open_sheet(CORPUS / name, **kwargs).numbered())


# ------------------------------------------------------------------ the corpus, exactly

@pytest.mark.parametrize(("name", "format", "encoding", "delimiter", "columns"), [
    ("customers_sjis.csv", "csv", "cp932", ",",
     ["顧客名", "区分", "業種", "従業員数", "メールアドレス", "電話番号", "市区町村",
      "都道府県・州", "タグ", "備考"]),
    ("products_sjis.csv", "csv", "cp932", ",",
     ["商品名", "品番", "カテゴリ", "単位", "単価", "原価", "販売中"]),
    ("customers_bom.csv", "csv", "utf-8-sig", ",",
     ["Name", "Kind", "Industry", "Employees", "Email", "Phone", "Website", "Tags"]),
    ("customers_utf16.tsv", "tsv", "utf-16", "\t", ["Name", "Kind", "City"]),
    ("tasks_semicolon.csv", "csv", "utf-8", ";", ["Title", "Due on", "Priority", "Done"]),
    ("contacts.tsv", "tsv", "utf-8", "\t",
     ["last_name", "first_name", "customer", "email", "phone", "is_primary"]),
    ("deals.xlsx", "xlsx", None, None,
     ["Title", "Customer", "Amount", "Probability", "Source", "Close on"]),
    ("customers_bad.csv", "csv", "utf-8", ",", ["Name", "Kind", "Email", "Employees"]),
    ("tasks_bad.csv", "csv", "utf-8", ",", ["Title", "Due on", "Priority", "Done"]),
    ("quotes_lines.csv", "csv", "utf-8-sig", ",",
     ["Quote number", "Customer", "Valid until", "Product", "Quantity", "Unit price"]),
])
def test_corpus_headers(name, format, encoding, delimiter, columns):
    sheet = open_sheet(CORPUS / name)
    assert (sheet.format, sheet.encoding, sheet.delimiter, sheet.columns) == (
        format, encoding, delimiter, columns)
    assert all(len(cells) == len(columns) for cells in sheet.rows())


def test_shift_jis_rows_as_written():
    found = rows("customers_sjis.csv")
    assert [line for line, _ in found] == [2, 3, 4, 5, 7]     # line 6 is blank
    assert found[0][1] == ["㈱山田製作所", "法人", "製造業", "１，２００",
                           "ｉｎｆｏ＠ｙａｍａｄａ．ｅｘａｍｐｌｅ．ｊｐ",
                           "０３－１２３４－５６７８",
                           "大田区", "東京都", "VIP；パートナー", "工場見学済み"]
    assert found[1][1][9] == "本店：大阪\n支店：神戸"          # a quoted new line
    assert found[3][1][0] == "株式会社テクノ①"


def test_shift_jis_yen_arrives_as_backslash():
    prices = [cells[4] for _, cells in rows("products_sjis.csv")]
    assert prices == ["\\1,200", "￥１５，０００", "9,800円", "50000", "１２０，０００円"]


def test_semicolons_with_a_quoted_semicolon():
    assert rows("tasks_semicolon.csv")[0] == (
        2, ["Call back; about the renewal", "30.11.2026", "High", "Yes"])


def test_utf16_and_tsv():
    assert rows("customers_utf16.tsv") == [(2, ["北海物産", "法人", "函館市"]),
                                           (3, ["Blue Fin Inc", "company", "Boston"])]
    assert rows("contacts.tsv")[2] == (4, ["山田", "花子", "㈱山田製作所",
                                          "hanako@yamada.example.jp", "03-1234-5679", "はい"])


def test_xlsx_cells_keep_their_types():
    assert rows("deals.xlsx") == [
        (2, ["Renewal 2027", "Lyons Ltd", 12000, 60, "Referral", dt.date(2026, 11, 30)]),
        (3, ["Plant line", "Müller GmbH", 250000.5, 25, "event", dt.date(2027, 1, 15)]),
        (5, ["会計導入", "㈱山田製作所", "¥1,200,000", "40%", "紹介", 46380]),  # row 4 blank
    ]


def test_xlsx_streaming_engine_reads_the_same(monkeypatch):
    monkeypatch.setattr(read, "XLSX_STREAM_ABOVE", 0)       # every workbook "large"
    sheet = open_sheet(CORPUS / "deals.xlsx")
    assert sheet._engine == "openpyxl"
    found = list(sheet.numbered())
    assert [line for line, _ in found] == [2, 3, 5]
    assert found[0][1] == ["Renewal 2027", "Lyons Ltd", 12000, 60, "Referral",
                           dt.datetime(2026, 11, 30)]   # openpyxl: a date cell at midnight
    assert found[2][1][5] == 46380


def test_bad_rows_file_has_its_lines():
    found = dict(rows("customers_bad.csv"))
    assert len(found) == 40
    assert found[12][2] == "batch11@@example" and found[32][1] == "corporation"
    tasks = dict(rows("tasks_bad.csv"))
    assert tasks[9][1] == "2026/13/01" and tasks[28][2] == "urgent"


def test_rows_read_again_from_the_start():
    sheet = open_sheet(CORPUS / "quotes_lines.csv")
    assert list(sheet.rows()) == list(sheet.rows())
    assert len(list(sheet.rows())) == 5


# ------------------------------------------------------------------ shapes of CSV

def write(tmp_path: Path, data: bytes | str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_ragged_rows_are_padded_and_cut(tmp_path):
    sheet = open_sheet(write(tmp_path, "a,b,c\n1\n1,2,3,4\n"))
    assert list(sheet.rows()) == [["1", "", ""], ["1", "2", "3"]]


def test_blank_and_repeated_headers_made_unique(tmp_path):
    sheet = open_sheet(write(tmp_path, " Name ,,name,Email\nA,B,C,D\n"))
    assert sheet.columns == ["Name", "Column 2", "name (2)", "Email"]


def test_header_after_blank_lines_and_quoted_new_lines_count_as_one_row(tmp_path):
    sheet = open_sheet(write(tmp_path, '\n\nName,Notes\nA,"one\ntwo"\n,\nB,x\n'))
    assert sheet.header_line == 3
    assert list(sheet.numbered()) == [(4, ["A", "one\ntwo"]), (6, ["B", "x"])]


@pytest.mark.parametrize(("text", "delimiter"), [
    ("a;b;c\n1,5;2;3\n", ";"),             # decimal commas inside a semicolon file
    ("a,b\n\"x;y\",2\n", ","),
    ("a\tb\n1,2\t3\n", "\t"),
    ("name\nAlice\n", ","),                 # one column: the comma by default
])
def test_delimiter_sniffed(tmp_path, text, delimiter):
    assert open_sheet(write(tmp_path, text)).delimiter == delimiter


def test_tsv_name_prefers_tab_when_in_doubt(tmp_path):
    sheet = open_sheet(write(tmp_path, "name\nAlice\n", "list.tsv"))
    assert (sheet.format, sheet.delimiter) == ("tsv", "\t")


def test_given_encoding_wins(tmp_path):
    path = write(tmp_path, "名前\nテスト\n".encode("cp932"))
    assert open_sheet(path, encoding="Shift_JIS").encoding == "cp932"
    assert list(open_sheet(path, encoding="sjis").rows()) == [["テスト"]]
    assert open_sheet(write(tmp_path, "\ufeffName\nA\n"), encoding="UTF-8").columns == ["Name"]


def test_wrong_encoding_chosen_says_so(tmp_path):
    path = write(tmp_path, "名前\nテスト\n".encode("cp932"))
    with pytest.raises(ReadError, match=r"cannot be read as UTF-8 \(the encoding you chose\)"
                                        r".*Choose the file's encoding"):
        open_sheet(path, encoding="utf-8")


def test_unknown_encoding_name(tmp_path):
    with pytest.raises(ReadError, match='"klingon" is not an encoding'):
        open_sheet(write(tmp_path, "a\n1\n"), encoding="klingon")


def test_bytes_undecodable_after_the_sample_name_their_row(tmp_path):
    head = "name\n" + "x" * 70 + "\n"
    data = head.encode() * 1000 + "名前\n".encode("cp932")
    sheet = open_sheet(write(tmp_path, data))
    assert sheet.encoding == "utf-8"
    with pytest.raises(ReadError, match=r"Row 2001 cannot be read as UTF-8.*Shift_JIS"):
        list(sheet.rows())


def test_rows_stream(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("name,city,amount\n")
        for n in range(100_000):
            out.write(f"Customer {n},Tokyo,{n}\n")
    sheet = open_sheet(path)
    tracemalloc.start()
    count = sum(1 for _ in sheet.rows())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 100_000
    assert peak < 2_000_000, f"reading held {peak:,} bytes: not streaming"


# ------------------------------------------------------------------ refusals

@pytest.mark.parametrize(("data", "name", "message"), [
    (b"", "a.csv", "The file is empty"),
    (b"\xef\xbb\xbf\r\n  \r\n", "a.csv", "The file is empty"),
    (b"\n,,\n  \n\t\n", "a.csv", "no header row"),
    (b"%PDF-1.7\n...", "customers.csv", "PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", r"old Excel file \(.xls\)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "secret.xlsx", "protected by a password"),
    (b"\x89PNG\r\n\x1a\n", "a.png", "image"),
    (b"\x1f\x8b\x08\x00", "a.csv.gz", "compressed"),
    (b"name\nA\n", "book.xls", "not a CSV, TSV or XLSX"),
    (b"\xef\xbb\xbf\n <HTML><body><table>", "export.xls", "web page"),
    (b"<!DOCTYPE html>\n<html>", "export.csv", "web page"),
    (b'<?xml version="1.0"?>\n<Workbook>', "book.xml", "Excel 2003 XML"),
])
def test_refusals(tmp_path, data, name, message):
    with pytest.raises(ReadError, match=message):
        open_sheet(write(tmp_path, data, name), filename=name)


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<x/>")
    with pytest.raises(ReadError, match="not an XLSX workbook"):
        open_sheet(path)


def test_damaged_workbook(tmp_path):
    path = write(tmp_path, b"PK\x03\x04" + b"\x00" * 50, "broken.xlsx")
    with pytest.raises(ReadError, match="damaged"):
        open_sheet(path)


def test_empty_workbook(tmp_path):
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(ReadError, match="first sheet is empty"):
        open_sheet(path)


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_workbook_header_below_blank_rows(tmp_path, engine):
    path = tmp_path / "low.xlsx"
    book = openpyxl.Workbook()
    book.active.cell(row=3, column=2, value="Name")
    book.active.cell(row=3, column=3, value="Since")
    book.active.cell(row=4, column=2, value="A")
    book.active.cell(row=4, column=3, value=dt.datetime(2026, 11, 30, 9, 15))
    book.active.cell(row=6, column=2, value=7)
    book.create_sheet("second").append(["ignored"])
    book.save(path)
    sheet = read._open_xlsx(path, engine=engine)
    rows_read = list(sheet.numbered())
    assert sheet.header_line == 3
    names = [cells[sheet.columns.index("Name")] for _, cells in rows_read]
    assert [line for line, _ in rows_read] == [4, 6] and names == ["A", 7]
    assert dt.datetime(2026, 11, 30, 9, 15) in rows_read[0][1]


def test_text_that_is_not_a_table_in_any_encoding(tmp_path):
    data = bytes(range(128, 256)) * 4
    with pytest.raises(ReadError, match="cannot be read in any encoding|cannot be read as"):
        open_sheet(write(tmp_path, b"a,b\n" + data))


@pytest.mark.parametrize(("text", "encoding", "found"), [
    ("名前,市\n山田,東京\n", "cp932", "cp932"),
    ("氏名,住所\n" + "山田太郎,東京都千代田区\n" * 200, "cp932", "cp932"),
    ("名前,市\n山田,東京\n", "euc_jp", "euc_jis_2004"),     # not Korean, though it reads as it
    ("Name,City\nMüller GmbH,Köln\nCafé Crème,Paris\n", "cp1252", "cp1252"),
    ("Name;Stadt\n" + "Müller;Köln\n" * 50, "cp1252", "cp1252"),
    ("Name\tCity\nA\tB\n", "utf-16", "utf-16"),
    ("Name,City\nMüller,Köln\n", "utf-8", "utf-8"),
])
def test_encodings_detected(tmp_path, text, encoding, found):
    sheet = open_sheet(write(tmp_path, text.encode(encoding)))
    assert sheet.encoding == found
    assert [sheet.columns, *sheet.rows()] == [
        line.split(sheet.delimiter) for line in text.splitlines()]


def test_title_rows_above_the_header_are_passed_over(tmp_path):
    text = "顧客一覧\n出力日: 2026/11/30\n\n顧客名,区分\n山田,法人\n"
    sheet = open_sheet(write(tmp_path, text.encode("cp932")))
    assert (sheet.columns, sheet.header_line) == (["顧客名", "区分"], 4)
    assert list(sheet.numbered()) == [(5, ["山田", "法人"])]


@pytest.mark.parametrize("lines", [2, 5, 9])
def test_one_column_files_keep_their_first_row_as_header(tmp_path, lines):
    text = "name\n" + "".join(f"Person {n}\n" for n in range(lines))
    sheet = open_sheet(write(tmp_path, text))
    assert (sheet.columns, sheet.header_line) == (["name"], 1)
    assert len(list(sheet.rows())) == lines


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_workbook_title_row(tmp_path, engine):
    path = tmp_path / "titled.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Customers, 30 November 2026"])
    book.active.append(["Name", "City"])
    book.active.append(["Lyons Ltd", "London"])
    book.save(path)
    sheet = read._open_xlsx(path, engine=engine)
    assert (sheet.columns, sheet.header_line) == (["Name", "City"], 2)
    assert list(sheet.numbered()) == [(3, ["Lyons Ltd", "London"])]
    assert list(sheet.numbered()) == [(3, ["Lyons Ltd", "London"])]   # read again


def test_empty_workbook_streaming_engine(tmp_path):
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(ReadError, match="first sheet is empty"):
        read._open_xlsx(path, engine="openpyxl")
