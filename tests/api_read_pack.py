"""The small pack the API read tests share: customers of many field types, deals in a
workflow linking to them, quotes with lines, and a `sales` role that may not see a
customer's `secret` nor a line's `unit_cost`, and a `guest` role that reads products only."""

from __future__ import annotations

import datetime as dt
from typing import Any

CUSTOMER = {"name": "customer", "title_field": "name", "fields": {
    "name": {"type": "string", "required": True},
    "email": {"type": "email"},
    "phone": {"type": "phone"},
    "site": {"type": "url"},
    "revenue": {"type": "money"},
    "share": {"type": "percent"},
    "score": {"type": "integer"},
    "since": {"type": "date"},
    "last_contact": {"type": "datetime"},
    "tier": {"type": "enum", "options": [{"key": "bronze", "label": "Bronze"},
                                         {"key": "gold", "label": "Gold"}]},
    "tags": {"type": "multi_enum", "options": [{"key": "vip", "label": "VIP"},
                                               {"key": "new", "label": "New"}]},
    "active": {"type": "boolean"},
    "notes": {"type": "text"},
    "owner": {"type": "user"},
    "products": {"type": "links", "to": "product"},
    "double": {"type": "formula", "formula": "revenue * 2", "result": "money"},
    "secret": {"type": "string"}},
    "list": {"columns": ["name", "email", "revenue", "tier"], "sort": "name",
             "search": ["name", "email"], "filters": ["tier", "revenue"]}}
PRODUCT = {"name": "product", "fields": {"name": {"type": "string", "required": True},
                                         "price": {"type": "money"}}}
DEAL = {"name": "deal", "title_field": "title", "fields": {
    "title": {"type": "string", "required": True},
    "customer": {"type": "link", "to": "customer"},
    "amount": {"type": "money"}}}
QUOTE = {"name": "quote", "title_field": "title", "fields": {
    "title": {"type": "string", "required": True},
    "customer": {"type": "link", "to": "customer"},
    "lines": {"type": "lines", "of": "quote_line"}}}
QUOTE_LINE = {"name": "quote_line", "part_of": "quote", "title_field": "product", "fields": {
    "product": {"type": "link", "to": "product", "required": True},
    "quantity": {"type": "decimal", "required": True},
    "unit_price": {"type": "money"},
    "unit_cost": {"type": "money"},
    "amount": {"type": "formula", "formula": "quantity * unit_price", "result": "money"}}}
FLOW = {"name": "deal_flow", "entity": "deal", "field": "stage",
        "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}
ROLES = {"sales": {"*": {"read": "all", "create": True, "update": "all", "delete": False},
                   "customer": {"hidden": ["secret"]},
                   "quote_line": {"hidden": ["unit_cost"]}},
         "guest": {"*": {"read": False}, "product": {"read": "all"}}}


def make(make_app: Any, **config: Any) -> Any:
    return make_app({"customer": CUSTOMER, "product": PRODUCT, "deal": DEAL, "quote": QUOTE,
                     "quote_line": QUOTE_LINE}, {"deal_flow": FLOW},
                    {"name": "t", "roles": ROLES}, config or None)


def services(app: Any) -> tuple[Any, Any]:
    found = app.extensions["karte"]
    return found["records"], found["workflows"]


ACME = {"name": "Acme", "email": "Info@Acme.example", "phone": "+81 3-1234-5678",
        "site": "https://acme.example", "revenue": "1234.5", "share": "12.5", "score": 7,
        "since": "2026-12-01", "last_contact": dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
        "tier": "gold", "tags": ["new", "vip"], "active": True, "notes": "two\nlines",
        "secret": "hush"}
