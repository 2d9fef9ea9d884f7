"""Write the corpus of messy import files (issue 13) for the standard pack.

    .venv/bin/python tests/import_files/make_corpus.py

The files are committed; this script makes them again, byte for byte (XLSX aside: a
workbook holds its save time). README.md in this folder says what each file holds;
tests/test_import_read.py reads each one exactly and tests/test_import_corpus.py imports
them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXCEL_EPOCH = dt.date(1899, 12, 30)


def write_csv(name: str, rows: list[list[str]], encoding: str, delimiter: str = ",",
              newline: str = "\r\n") -> None:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator=newline)
    writer.writerows(rows)
    (HERE / name).write_bytes(text.getvalue().encode(encoding))


def customers_sjis() -> None:
    """What Excel in Japan saves: CP932 (㈱ is not in strict Shift_JIS), CRLF, a Japanese
    header, full-width digits, labels in Japanese, a quoted new line, tags with "；"."""
    write_csv("customers_sjis.csv", [
        ["顧客名", "区分", "業種", "従業員数", "メールアドレス", "電話番号", "市区町村",
         "都道府県・州", "タグ", "備考"],
        ["㈱山田製作所", "法人", "製造業", "１，２００",
         "ｉｎｆｏ＠ｙａｍａｄａ．ｅｘａｍｐｌｅ．ｊｐ",
         "０３－１２３４－５６７８", "大田区", "東京都", "VIP；パートナー", "工場見学済み"],
        ["佐藤商店", "法人", "小売業", "12", "sato@example.jp", "06-1234-5678", "大阪市",
         "大阪府", "", "本店：大阪\n支店：神戸"],
        ["鈴木 一郎", "個人", "", "", "ichiro@example.jp", "090-1111-2222", "札幌市",
         "北海道", "メルマガ購読", ""],
        ["株式会社テクノ①", "法人", "IT・ソフトウェア", "３５０", "", "", "横浜市",
         "神奈川県", "", ""],
        ["", "", "", "", "", "", "", "", "", ""],
        ["高橋建設", "法人", "建設業", "80", "contact@takahashi.example.jp", "",
         "名古屋市", "愛知県", "販売代理店；解約リスク", ""],
    ], "cp932")


def products_sjis() -> None:
    """Products with yen amounts written every way and yes/no in Japanese. Shift_JIS has
    no "¥" of its own: the byte 0x5C shows as ¥ in Japanese fonts but reads as a backslash,
    so "\\1,200" is how a half-width yen sign arrives."""
    write_csv("products_sjis.csv", [
        ["商品名", "品番", "カテゴリ", "単位", "単価", "原価", "販売中"],
        ["クラウド会計", "SKU-001", "サブスクリプション", "月", "\\1,200", "400円", "はい"],
        ["導入支援", "SKU-002", "サービス", "時間", "￥１５，０００", "8,000", "はい"],
        ["旧型ルーター", "SKU-003", "ハードウェア", "個", "9,800円", "6,500円", "いいえ"],
        ["操作研修", "SKU-004", "研修", "日", "50000", "", "○"],
        ["保守パック", "SKU-005", "保守・サポート", "年", "１２０，０００円", "30000", "×"],
    ], "cp932")


def customers_bom() -> None:
    """UTF-8 with a BOM (Excel's "CSV UTF-8"), English header, keys and labels mixed."""
    write_csv("customers_bom.csv", [
        ["Name", "Kind", "Industry", "Employees", "Email", "Phone", "Website", "Tags"],
        ["Lyons Ltd", "company", "Retail", "1,250", "Info@Lyons.example.com",
         "+44 20 7946 0000", "www.lyons.example.com", "vip;newsletter"],
        ["Müller GmbH", "Company", "manufacturing", "300", "kontakt@mueller.example.de",
         "", "https://mueller.example.de", "Partner"],
        ["Ana Souza", "Person", "", "", "ana@example.com", "(212) 555-0100", "", ""],
    ], "utf-8-sig")


def customers_utf16() -> None:
    """Excel's "Unicode text": UTF-16 with a BOM, tab-separated."""
    write_csv("customers_utf16.tsv", [
        ["Name", "Kind", "City"],
        ["北海物産", "法人", "函館市"],
        ["Blue Fin Inc", "company", "Boston"],
    ], "utf-16", delimiter="\t")


def tasks_semicolon() -> None:
    """Semicolons and dates day first (30.11.2026, 01/12/2026), as German or French
    spreadsheets write them; a quoted cell holding a semicolon."""
    write_csv("tasks_semicolon.csv", [
        ["Title", "Due on", "Priority", "Done"],
        ["Call back; about the renewal", "30.11.2026", "High", "Yes"],
        ["Send the quote", "01/12/2026", "normal", "no"],
        ["Visit the plant", "2026-12-15", "Low", "TRUE"],
        ["Close the year", "31.12.2026", "高", "はい"],
    ], "utf-8", delimiter=";", newline="\n")


def contacts_tsv() -> None:
    """Tab-separated UTF-8 without a BOM; customers named by their title."""
    write_csv("contacts.tsv", [
        ["last_name", "first_name", "customer", "email", "phone", "is_primary"],
        ["Lyons", "Mary", "Lyons Ltd", "mary@lyons.example.com", "020 7946 0001", "true"],
        ["Müller", "Jonas", "Müller GmbH", "jonas@mueller.example.de", "", "false"],
        ["山田", "花子", "㈱山田製作所", "hanako@yamada.example.jp", "03-1234-5679", "はい"],
    ], "utf-8", delimiter="\t", newline="\n")


def deals_xlsx() -> None:
    """XLSX: real date cells, one close date as a bare Excel serial (a number cell), money
    as numbers, a label for the source, a blank row in the middle."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Deals"
    sheet.append(["Title", "Customer", "Amount", "Probability", "Source", "Close on"])
    sheet.append(["Renewal 2027", "Lyons Ltd", 12000, 60, "Referral", dt.date(2026, 11, 30)])
    sheet.append(["Plant line", "Müller GmbH", 250000.5, 25, "event", dt.date(2027, 1, 15)])
    sheet.append([])
    serial = (dt.date(2026, 12, 24) - EXCEL_EPOCH).days
    sheet.append(["会計導入", "㈱山田製作所", "¥1,200,000", "40%", "紹介", serial])
    for row in (2, 3):
        sheet.cell(row=row, column=6).number_format = "yyyy-mm-dd"
    book.save(HERE / "deals.xlsx")


def customers_bad() -> None:
    """40 customers, 2 of them bad (5%): an email that is not one, an unknown kind."""
    rows = [["Name", "Kind", "Email", "Employees"]]
    for n in range(1, 41):
        rows.append([f"Batch Customer {n:02d}", "company" if n % 2 else "person",
                     f"batch{n:02d}@example.com", str(n * 10)])
    rows[11][2] = "batch11@@example"         # line 12
    rows[31][1] = "corporation"              # line 32
    write_csv("customers_bad.csv", rows, "utf-8", newline="\n")


def tasks_bad() -> None:
    """40 tasks, 2 of them bad (5%): a 13th month, an unknown priority."""
    rows = [["Title", "Due on", "Priority", "Done"]]
    start = dt.date(2026, 11, 1)
    for n in range(1, 41):
        rows.append([f"Batch task {n:02d}", (start + dt.timedelta(days=n)).strftime("%Y/%m/%d"),
                     ("low", "normal", "high")[n % 3], "no"])
    rows[8][1] = "2026/13/01"                # line 9
    rows[27][2] = "urgent"                   # line 28
    write_csv("tasks_bad.csv", rows, "utf-8", newline="\n")


def quotes_lines() -> None:
    """A document with lines: one row per line, carrying its quote's number (the key)."""
    write_csv("quotes_lines.csv", [
        ["Quote number", "Customer", "Valid until", "Product", "Quantity", "Unit price"],
        ["Q-2026-9001", "Lyons Ltd", "2026-12-31", "SKU-001", "10", "1,200"],
        ["Q-2026-9001", "Lyons Ltd", "2026-12-31", "SKU-002", "4", "15,000"],
        ["Q-2026-9002", "㈱山田製作所", "2027/01/31", "SKU-004", "1", "¥50,000"],
        ["Q-2026-9002", "㈱山田製作所", "2027/01/31", "SKU-005", "2", "120,000円"],
        ["Q-2026-9002", "㈱山田製作所", "2027/01/31", "SKU-001", "３", ""],
    ], "utf-8-sig")


def main() -> None:
    for make in (customers_sjis, products_sjis, customers_bom, customers_utf16,
                 tasks_semicolon, contacts_tsv, deals_xlsx, customers_bad, tasks_bad,
                 quotes_lines):
        make()


if __name__ == "__main__":
    main()
