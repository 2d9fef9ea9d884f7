"""List URLs (SPEC §11) → conditions (SPEC §5): every operator, the "me" token, empty
values ignored, and every unknown name refused with a message naming the parameter."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from karte.store.errors import InvalidQuery
from karte.web.list_params import parse

ENTITIES = {
    "customer": {"fields": {"name": {"type": "string"}}},
    "deal": {"fields": {"title": {"type": "string"},
                        "customer": {"type": "link", "to": "customer"},
                        "amount": {"type": "money"},
                        "source": {"type": "enum", "options": ["web", "call"]},
                        "tags": {"type": "multi_enum", "options": ["a", "b"]},
                        "products": {"type": "links", "to": "customer"},
                        "hot": {"type": "boolean"},
                        "owner": {"type": "user"},
                        "close_on": {"type": "date"},
                        "met_at": {"type": "datetime"}}},
}


@pytest.fixture
def deal(make_app):
    app = make_app(ENTITIES)
    with app.test_request_context("/deal/"):
        yield app.extensions["karte"]["pack"].entities["deal"]


def where(entity, **args):
    query = parse(entity, MultiDict(args))
    return query.where()["all"] if query.where() else []


def test_equals_and_each_operator_become_conditions(deal):
    assert where(deal, **{"f.source": "web"}) == [
        {"field": "source", "op": "=", "value": "web"}]
    assert where(deal, **{"f.amount.gte": "100", "f.amount.lte": "500"}) == [
        {"field": "amount", "op": ">=", "value": "100"},
        {"field": "amount", "op": "<=", "value": "500"}]
    assert where(deal, **{"f.amount.gt": "1", "f.amount.lt": "9", "f.source.ne": "web"}) == [
        {"field": "amount", "op": ">", "value": "1"},
        {"field": "amount", "op": "<", "value": "9"},
        {"field": "source", "op": "!=", "value": "web"}]
    assert where(deal, **{"f.source.in": "web, call,"}) == [
        {"field": "source", "op": "in", "value": ["web", "call"]}]
    assert where(deal, **{"f.title.contains": "acme"}) == [
        {"field": "title", "op": "contains", "value": "acme"}]
    assert where(deal, **{"f.close_on.empty": "1", "f.customer.empty": "0"}) == [
        {"field": "close_on", "op": "empty", "value": None},
        {"field": "customer", "op": "not_empty", "value": None}]


def test_sets_mean_has_this_one_and_me_is_the_signed_in_user(deal):
    assert where(deal, **{"f.tags": "a", "f.products": "3"}) == [
        {"field": "tags", "op": "contains", "value": "a"},
        {"field": "products", "op": "contains", "value": "3"}]
    assert where(deal, **{"f.owner": "me"}) == [{"field": "owner", "op": "=", "value": "$me"}]
    assert where(deal, **{"f.owner.in": "me,7"}) == [
        {"field": "owner", "op": "in", "value": ["$me", "7"]}]


def test_a_day_asked_of_a_datetime_covers_the_whole_day(deal):
    assert where(deal, **{"f.met_at.lte": "2025-03-01", "f.met_at.gte": "2025-02-01"}) == [
        {"field": "met_at", "op": "<", "value": "2025-03-02"},
        {"field": "met_at", "op": ">=", "value": "2025-02-01"}]


def test_empty_values_and_other_parameters_are_no_filter(deal):
    query = parse(deal, MultiDict({"f.amount.gte": "", "f.amount.lte": " ", "lang": "ja",
                                   "q": "  acme ", "sort": "-amount", "page": "2"}))
    assert (query.where(), query.q, query.sort, query.page) == (None, "acme", "-amount", 2)
    assert query.args(page=None) == [("q", "acme"), ("sort", "-amount")]


@pytest.mark.parametrize(("args", "says"), [
    ({"f.amout": "1"}, ["f.amout", '"amount"', "title, customer, amount"]),
    ({"f.amount.approx": "1"}, ["f.amount.approx", "approx", "gte"]),
    ({"f.title.gte": "a"}, ["f.title.gte", "does not fit title", "contains"]),
    ({"f.amount.gte": "abc"}, ["f.amount.gte", '"abc"', "Enter a number"]),
    ({"f.source": "fax"}, ["f.source", '"fax"', "web, call"]),
    ({"f.close_on.lte": "tomorrow"}, ["f.close_on.lte", "YYYY-MM-DD"]),
    ({"f.customer": "acme"}, ["f.customer", "record id"]),
    ({"f.close_on.empty": "maybe"}, ["f.close_on.empty", "1 for empty"]),
    ({"page": "0"}, ["page", "counted from 1"]),
    ({"page": "two"}, ["page"]),
])
def test_bad_parameters_are_refused_naming_the_parameter(deal, args, says):
    with pytest.raises(InvalidQuery) as refused:
        parse(deal, MultiDict(args))
    message = " ".join(p.message for p in refused.value.problems)
    assert refused.value.status == 400
    for words in says:
        assert words in message


def test_every_bad_parameter_is_reported_at_once(deal):
    with pytest.raises(InvalidQuery) as refused:
        parse(deal, MultiDict({"f.nope": "1", "f.amount.approx": "2", "page": "x"}))
    assert [p.where for p in refused.value.problems] == ["f.nope", "f.amount.approx", "page"]
