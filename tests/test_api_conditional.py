"""Conditional reads (SPEC §11.1): a record's `ETag` is its version, and `If-None-Match`
with it answers 304 without a body until the record changes — on both databases."""

from __future__ import annotations

import pytest

from tests import api_read_pack as pack
from tests.api_live import api_client


@pytest.fixture
def app(make_app):
    return pack.make(make_app)


def test_the_etag_is_the_quoted_version_and_changes_with_it(app):
    records, _flows = pack.services(app)
    made = records.create("customer", {"name": "Acme"})
    client = api_client(app)
    first = client.get(f"/api/v1/customer/{made['id']}")
    assert first.headers["ETag"] == '"1"' and first.json["version"] == 1
    records.update("customer", made["id"], {"name": "Acme Ltd"}, 1)
    assert client.get(f"/api/v1/customer/{made['id']}").headers["ETag"] == '"2"'


def test_if_none_match_with_the_current_version_is_a_304_without_a_body(app):
    records, _flows = pack.services(app)
    made = records.create("customer", {"name": "Acme"})
    client = api_client(app)
    url = f"/api/v1/customer/{made['id']}"
    for tag in ('"1"', 'W/"1"', '"7", "1"', "*"):
        same = client.get(url, headers={"If-None-Match": tag})
        assert same.status_code == 304, tag
        assert same.get_data() == b"" and same.headers["ETag"] == '"1"'
    records.update("customer", made["id"], {"name": "Acme Ltd"}, 1)
    changed = client.get(url, headers={"If-None-Match": '"1"'})
    assert changed.status_code == 200 and changed.json["name"] == "Acme Ltd"
    assert changed.headers["ETag"] == '"2"'


def test_a_line_change_changes_the_parents_etag(app):
    records, _flows = pack.services(app)
    product = records.create("product", {"name": "Cement"})["id"]
    quote = records.create("quote", {"title": "Q", "lines": [
        {"product": product, "quantity": "1"}]})
    client = api_client(app)
    url = f"/api/v1/quote/{quote['id']}"
    tag = client.get(url).headers["ETag"]
    records.update("quote", quote["id"], {"lines": [
        {"id": quote["lines"][0]["id"], "product": product, "quantity": "2"}]},
        quote["version"])
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 200


def test_if_none_match_does_not_hide_a_record_the_caller_may_not_read(app):
    records, _flows = pack.services(app)
    made = records.create("customer", {"name": "Acme"})
    refused = api_client(app, "guest").get(f"/api/v1/customer/{made['id']}",
                                           headers={"If-None-Match": "*"})
    assert refused.status_code == 404       # as the card: the record is not revealed
