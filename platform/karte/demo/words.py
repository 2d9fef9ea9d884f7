"""Words for demo text that reads like a real company's (issue 12): product names,
deal names, to-dos, support subjects, activity subjects, next steps, departments and
notes, in English and Japanese, plus addresses made the way each country writes them.

Which list a field draws from is chosen by the field's name (`title`, `subject`,
`street`...) and by the kind of record its entity holds, told by its fields — never by the
entity's name: a money field makes deals, a `done` to-do makes tasks, a `sku` or a
`price` makes products, a `resolution` makes support issues (`record_kind`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from faker import Faker

from karte.meta.model import Entity

EN, JA = "en_US", "ja_JP"

PRODUCTS = {  # things with models: "Standing Desk Pro"
    EN: (
        "Ergonomic Office Chair",
        "Standing Desk",
        "Wireless Barcode Scanner",
        "Thermal Label Printer",
        "LED Desk Lamp",
        "27-inch Monitor",
        "Laptop Docking Station",
        "Network Switch 24-port",
        "Wi-Fi Access Point",
        "Security Camera Kit",
        "Conference Speakerphone",
        "Shredder",
        "Coffee Machine",
        "Water Cooler",
        "Filing Cabinet",
        "Whiteboard",
        "Safety Helmet",
        "Pallet Jack",
        "Storage Shelving Unit",
    ),
    JA: (
        "オフィスチェア",
        "昇降デスク",
        "ワイヤレスバーコードリーダー",
        "ラベルプリンター",
        "LEDデスクライト",
        "27インチモニター",
        "ドッキングステーション",
        "ネットワークスイッチ24ポート",
        "無線LANアクセスポイント",
        "防犯カメラセット",
        "会議用スピーカーフォン",
        "シュレッダー",
        "コーヒーマシン",
        "ウォーターサーバー",
        "書庫キャビネット",
        "ホワイトボード",
        "保護ヘルメット",
        "ハンドリフト",
        "スチール棚",
    ),
}
SUPPLIES = {  # services and consumables: no model
    EN: (
        "Cloud Backup Plan",
        "Accounting Software Licence",
        "Work Gloves (10 pairs)",
        "Hand Sanitiser 5 L",
        "Copy Paper A4 (box)",
        "Annual Maintenance Plan",
        "On-site Installation",
        "Training Day",
        "Extended Warranty (3 years)",
    ),
    JA: (
        "クラウドバックアップ",
        "会計ソフトライセンス",
        "作業用手袋（10双）",
        "手指消毒液5L",
        "コピー用紙A4（箱）",
        "年間保守サービス",
        "設置作業",
        "操作研修（1日）",
        "延長保証（3年）",
    ),
}
MODELS = ("", " Pro", " Plus", " Mini", " S", " X200", " 2", " Lite")

DEALS = {
    EN: (
        "{n} office chairs for the new branch",
        "Annual maintenance renewal",
        "Network upgrade, phase {p}",
        "Warehouse scanners ({n} units)",
        "Website redesign",
        "Accounting software roll-out",
        "Security cameras for {n} sites",
        "Meeting room equipment",
        "Cloud backup migration",
        "Printer fleet replacement",
        "Training programme {y}",
        "Support contract {y}",
        "Standing desks ({n})",
        "Safety equipment for the plant",
        "Coffee service for {n} floors",
    ),
    JA: (
        "新支店向けオフィスチェア{n}脚",
        "年間保守契約の更新",
        "社内ネットワーク刷新 第{p}期",
        "倉庫用スキャナー{n}台",
        "ウェブサイトリニューアル",
        "会計ソフト導入",
        "防犯カメラ設置（{n}拠点）",
        "会議室設備の入替",
        "クラウドバックアップ移行",
        "複合機の入替",
        "{y}年度 研修プログラム",
        "{y}年度 サポート契約",
        "昇降デスク{n}台",
        "工場向け安全用品",
        "オフィスコーヒーサービス",
    ),
}
TODOS = {
    EN: (
        "Call back about the quote",
        "Send the revised proposal",
        "Book a demo",
        "Check the delivery date",
        "Prepare the contract",
        "Follow up on the invoice",
        "Confirm the order quantities",
        "Schedule the installation",
        "Update the price list",
        "Send meeting notes",
        "Ask for references",
        "Review the renewal terms",
    ),
    JA: (
        "見積の件で折り返し電話",
        "修正版の提案書を送付",
        "デモの日程調整",
        "納期の確認",
        "契約書の準備",
        "請求書の入金確認",
        "発注数量の確認",
        "設置作業の日程調整",
        "価格表の更新",
        "議事録の送付",
        "導入事例の依頼",
        "更新条件の確認",
    ),
}
ISSUES = {
    EN: (
        "Printer shows error E-02",
        "Cannot log in to the portal",
        "Invoice amount is wrong",
        "Delivery arrived damaged",
        "Scanner does not connect",
        "Request for a manual",
        "Licence key not received",
        "Backup failed last night",
        "Noise from the unit",
        "Question about the warranty",
        "Missing items in the order",
        "Password reset",
    ),
    JA: (
        "プリンターにエラーE-02が表示される",
        "ポータルにログインできない",
        "請求金額が違う",
        "配送品が破損していた",
        "スキャナーが接続できない",
        "取扱説明書がほしい",
        "ライセンスキーが届かない",
        "昨夜のバックアップが失敗した",
        "本体から異音がする",
        "保証期間についての質問",
        "注文品が一部届いていない",
        "パスワードの再設定",
    ),
}
ACTIVITIES = {
    EN: (
        "Introductory call",
        "Pricing question",
        "Quarterly review",
        "Demo of the new range",
        "Site visit",
        "Renewal discussion",
        "Follow-up on the proposal",
        "Onboarding call",
        "Order confirmation",
        "Feedback on the installation",
        "Budget planning meeting",
    ),
    JA: (
        "初回ヒアリング",
        "価格についての問い合わせ",
        "四半期レビュー",
        "新製品のデモ",
        "現地訪問",
        "契約更新の打ち合わせ",
        "提案書のフォローアップ",
        "導入時の説明",
        "注文内容の確認",
        "設置後のご意見伺い",
        "予算計画の打ち合わせ",
    ),
}
STEPS = {
    EN: (
        "Send the revised quote",
        "Book a demo",
        "Meet the buyer",
        "Wait for the budget",
        "Prepare the contract",
        "Call the decision maker",
        "Site survey",
    ),
    JA: (
        "修正見積の送付",
        "デモの実施",
        "購買担当者と面談",
        "予算確定待ち",
        "契約書の準備",
        "決裁者へ連絡",
        "現地調査",
    ),
}
DEPARTMENTS = {
    EN: (
        "Sales",
        "Purchasing",
        "IT",
        "Finance",
        "Operations",
        "Facilities",
        "Marketing",
        "Human Resources",
        "Logistics",
    ),
    JA: (
        "営業部",
        "購買部",
        "情報システム部",
        "経理部",
        "総務部",
        "製造部",
        "マーケティング部",
        "人事部",
        "物流部",
    ),
}
NOTES = {
    EN: (
        "Prefers email over phone.",
        "Budget is approved for this quarter.",
        "Asked for volume pricing.",
        "Decision expected by the end of the month.",
        "Uses a competitor today; contract ends in spring.",
        "Happy with the last delivery.",
        "Needs delivery before the office move.",
        "Invoices go to the finance department.",
        "Met at the trade fair.",
        "Wants a trial before ordering.",
        "Two sites; the second opens next year.",
        "Pays within 30 days.",
    ),
    JA: (
        "電話よりメールでの連絡を希望。",
        "今期の予算は承認済み。",
        "数量割引について質問あり。",
        "月末までに決定の見込み。",
        "現在は他社製品を利用中、春に契約満了。",
        "前回の納品に満足している。",
        "事務所移転前の納品が必要。",
        "請求書は経理部宛て。",
        "展示会で名刺交換。",
        "発注前に試用を希望。",
        "拠点は2か所、来年もう1か所開設予定。",
        "支払いは30日以内。",
    ),
}
LOST = {
    EN: (
        "Price too high.",
        "Chose a competitor.",
        "Budget cut.",
        "Project postponed.",
        "No decision made.",
    ),
    JA: (
        "価格が合わなかった。",
        "他社に決定。",
        "予算削減。",
        "プロジェクト延期。",
        "意思決定に至らず。",
    ),
}
PRODUCT_NOTES = {
    EN: (
        "Includes a one-year warranty.",
        "Delivered assembled.",
        "Volume discounts from 10 units.",
        "Compatible with the previous model.",
        "Ships within three business days.",
        "Spare parts available for five years.",
    ),
    JA: (
        "1年間の製品保証付き。",
        "組み立て済みで納品。",
        "10台以上で数量割引あり。",
        "旧モデルと互換性あり。",
        "3営業日以内に出荷。",
        "補修部品は5年間供給。",
    ),
}
ISSUE_NOTES = {
    EN: (
        "The customer called twice about this.",
        "Started after the last update.",
        "Photos were sent by email.",
        "Affects two users in the accounts team.",
        "Restarting the device helps for a while.",
        "Urgent: their month-end closing is this week.",
    ),
    JA: (
        "この件で2回お電話あり。",
        "前回のアップデート後から発生。",
        "写真をメールで受領済み。",
        "経理部の2名に影響あり。",
        "再起動すると一時的に直る。",
        "今週が月末締めのため至急。",
    ),
}
COUNTRIES = {EN: "United States", JA: "日本"}


def record_kind(entity: Entity) -> str:
    """What the entity's records are, told by their fields: product, todo, issue, deal or
    activity (the default)."""
    fields = entity.fields
    if "sku" in fields or any(
        f.type == "money" and f.name in ("price", "unit_price") for f in fields.values()
    ):
        return "product"
    item = entity.timeline_item
    if (item is not None and getattr(item, "done", None)) or (
        "done" in fields and fields["done"].type == "boolean"
    ):
        return "todo"
    if "resolution" in fields:
        return "issue"
    if any(f.type == "money" for f in fields.values()):
        return "deal"
    return "activity"


def _locale(fake: Faker) -> str:
    return JA if fake.locales[0] == JA else EN


def _pick(fake: Faker, words: Mapping[str, Sequence[str]]) -> str:
    return fake.random_element(words[_locale(fake)])


def product(fake: Faker) -> str:
    if fake.random_int(1, 10) <= 3:
        return _pick(fake, SUPPLIES)
    return _pick(fake, PRODUCTS) + fake.random_element(MODELS)


def deal(fake: Faker) -> str:
    return _pick(fake, DEALS).format(
        n=fake.random_int(2, 60), p=fake.random_int(2, 3), y=fake.random_int(2025, 2027)
    )


def title(kind: str) -> Callable[[Faker], str]:
    """A record's title or subject, by the kind of record."""
    if kind == "product":
        return product
    if kind == "deal":
        return deal
    words = {"todo": TODOS, "issue": ISSUES}.get(kind, ACTIVITIES)
    return lambda fake: _pick(fake, words)


def street(fake: Faker) -> str:
    """A street address as the country writes it: Japanese 町名 + 丁目・番・号, else the
    number first."""
    if _locale(fake) == JA:
        return (
            f"{fake.town()}{fake.random_int(1, 9)}丁目{fake.random_int(1, 30)}番"
            f"{fake.random_int(1, 20)}号"
        )
    return fake.street_address()


def region(fake: Faker) -> str:
    return fake.prefecture() if _locale(fake) == JA else fake.state()


def country(fake: Faker) -> str:
    return COUNTRIES[_locale(fake)]


def department(fake: Faker) -> str:
    return _pick(fake, DEPARTMENTS)


def step(fake: Faker) -> str:
    return _pick(fake, STEPS)


def notes(kind: str) -> Callable[[Faker], str]:
    """One to three sentences of notes, by the kind of record."""
    pool: Mapping[str, Sequence[str]] = {"product": PRODUCT_NOTES, "issue": ISSUE_NOTES}.get(
        kind, NOTES
    )

    def make(fake: Faker) -> str:
        sentences = fake.random_elements(
            pool[_locale(fake)], length=fake.random_int(1, 3), unique=True
        )
        return ("" if _locale(fake) == JA else " ").join(sentences)

    return make


def lost(fake: Faker) -> str:
    return _pick(fake, LOST)
