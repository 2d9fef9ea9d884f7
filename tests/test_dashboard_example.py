"""The dashboard example of the definition format, written exactly as a consultant would
copy it — widgets without labels included — loads, names its tiles after what they count in
English and Japanese, and every tile's page renders with figures from the records."""

from __future__ import annotations

from bs4 import BeautifulSoup

ORDER = {"label": {"en": "Order", "ja": "受注"}, "title_field": "number", "fields": {
    "number": {"type": "string"},
    "amount": {"type": "money", "label": {"en": "Amount", "ja": "金額"}},
    "margin": {"type": "money", "label": {"en": "Margin", "ja": "粗利"}},
    "ordered_on": {"type": "date", "label": {"en": "Ordered on", "ja": "受注日"}}}}
DEAL = {"label": {"en": "Deal", "ja": "商談"}, "title_field": "title",
        "fields": {"title": {"type": "string"}}}
TICKET = {"label": {"en": "Ticket"}, "title_field": "subject",
          "fields": {"subject": {"type": "string"}}}
DEAL_PIPELINE = {"entity": "deal", "field": "stage", "stages": [
    {"key": "new"}, {"key": "won", "final": "won"}, {"key": "lost", "final": "lost"}]}
TICKET_FLOW = {"entity": "ticket", "field": "status", "stages": [
    {"key": "open"}, {"key": "resolved", "final": "done"}]}
EXAMPLE = {"name": "sales", "label": {"en": "Sales", "ja": "営業ダッシュボード"},
           "roles": ["admin", "sales"], "widgets": [
    {"kind": "number", "label": {"en": "Sales this month"}, "entity": "order", "agg": "sum",
     "field": "amount", "date": "ordered_on", "range": "this_month",
     "compare": "previous_period"},
    {"kind": "ratio", "label": {"en": "Gross margin"}, "entity": "order", "format": "percent",
     "numerator": {"agg": "sum", "field": "margin"},
     "denominator": {"agg": "sum", "field": "amount"},
     "date": "ordered_on", "range": "this_month"},
    {"kind": "chart", "chart": "bar", "entity": "order", "agg": "sum", "field": "amount",
     "group_by": "ordered_on:month", "range": "last_12_months"},
    {"kind": "chart", "chart": "bar", "entity": "deal", "agg": "count", "group_by": "stage"},
    {"kind": "funnel", "workflow": "deal_pipeline", "range": "this_quarter"},
    {"kind": "list", "entity": "ticket",
     "where": {"field": "status", "op": "!=", "value": "resolved"},
     "sort": "-created_at", "limit": 10}]}


def app_of(make_app):
    app = make_app({"order": ORDER, "deal": DEAL, "ticket": TICKET},
                   {"deal_pipeline": DEAL_PIPELINE, "ticket_flow": TICKET_FLOW},
                   {"name": "t", "roles": {"sales": {"*": {"read": "all"}}}},
                   dashboards={"sales": EXAMPLE})
    records = app.extensions["karte"]["records"]
    today = records.store.context(None).today.isoformat()
    records.create("order", {"number": "A-1", "amount": "100", "margin": "25",
                             "ordered_on": today})
    records.create("deal", {"title": "Big"})
    records.create("ticket", {"subject": "Printer"})
    return app


def test_the_example_loads_with_tiles_named_after_what_they_count(make_app):
    board = app_of(make_app).extensions["karte"]["pack"].dashboards["sales"]
    labels = [(w.label.get("en"), w.label.get("ja")) for w in board.widgets]
    assert labels[:2] == [("Sales this month", "Sales this month"),
                          ("Gross margin", "Gross margin")]
    assert labels[2:] == [
        ("Total Amount by Ordered on (month)", "受注日 (月)別の金額の合計"),
        ("Number of Deals by Stage", "Stage別の商談の件数"),
        ("Deal pipeline", "Deal pipeline"),
        ("Tickets", "Tickets")]


def test_every_tile_of_the_example_shows_its_figures(make_app):
    client = app_of(make_app).client()
    page = BeautifulSoup(client.get("/dashboard/sales").get_data(as_text=True), "html.parser")
    tiles = page.select("article.widget")
    assert len(tiles) == 6
    text = " ".join(t.get_text(" ", strip=True) for t in tiles)
    assert "$100" in text and "25%" in text and "Printer" in text


def test_a_count_of_a_field_counts_the_records_where_it_has_a_value(make_app):
    board = dict(EXAMPLE, widgets=[
        {"kind": "number", "name": "priced", "entity": "order", "agg": "count",
         "field": "amount"}])
    app = make_app({"order": ORDER, "deal": DEAL, "ticket": TICKET},
                   {"deal_pipeline": DEAL_PIPELINE, "ticket_flow": TICKET_FLOW},
                   {"name": "t", "roles": {"sales": {"*": {"read": "all"}}}},
                   dashboards={"sales": board})
    records = app.extensions["karte"]["records"]
    for number, amount in (("A", "10"), ("B", None), ("C", "0")):
        records.create("order", {"number": number, "amount": amount})
    reports = app.extensions["karte"]["reports"]
    sales = reports.pack.dashboards["sales"]
    assert sales.widgets[0].label.get("en") == "Number of Orders"
    assert reports.run(sales, sales.widgets[0], None).value == 2
    found = reports.drill("sales", "priced", None)
    assert records.count("order", found.condition) == 2
