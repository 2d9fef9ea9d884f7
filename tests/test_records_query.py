"""Records service: lists — conditions, search, sort, paging, counts — and duplicates."""

from __future__ import annotations

import pytest

from karte.meta import conditions
from karte.store import Records
from karte.store.errors import InvalidQuery
from karte.store.migrate import migrate

ENTITIES = {
    "customer": {"name": "customer", "fields": {
        "name": {"type": "string"},
        "email": {"type": "email"},
        "phone": {"type": "phone"},
        "segment": {"type": "enum", "options": ["smb", "mid", "enterprise"]},
        "notes": {"type": "text"}},
        "list": {"search": ["name", "email"], "sort": "name"},
        "duplicates": [{"fields": ["name"]}, {"fields": ["phone"]}]},
    "deal": {"name": "deal", "fields": {
        "title": {"type": "string"},
        "customer": {"type": "link", "to": "customer"},
        "amount": {"type": "money"},
        "products": {"type": "links", "to": "product"}},
        "list": {"search": ["title"]}},
    "product": {"name": "product", "fields": {"name": {"type": "string"}}},
}


@pytest.fixture
def service(engine, make_pack) -> Records:
    pack = make_pack(ENTITIES, pack={"country": "JP"})
    migrate(engine, pack)
    return Records(engine, pack)


def names(found: list[dict], key: str = "name") -> list[str]:
    return [record[key] for record in found]


def fill(service: Records) -> dict[str, int]:
    rows = [("Acme", "smb"), ("Beta 100%", "enterprise"), ("under_score", "mid"),
            ("株式会社テスト", "smb"), ("zeta", None)]
    return {name: service.create("customer", {"name": name, "segment": segment})["id"]
            for name, segment in rows}


def test_query_filters_with_a_condition(service):
    fill(service)
    raw = {"field": "segment", "op": "in", "value": ["smb", "mid"]}
    entity = service.pack.entity("customer")
    parsed, problems = conditions.parse(raw, entity, service.pack.entities, "t", "")

    assert problems == []
    assert names(service.query("customer", where=parsed)) == ["Acme", "under_score",
                                                               "株式会社テスト"]
    assert names(service.query("customer", where=raw)) == names(
        service.query("customer", where=parsed))
    assert service.count("customer", where=raw) == 3


def test_a_condition_on_an_unknown_field_is_refused(service):
    with pytest.raises(InvalidQuery) as error:
        service.query("customer", where={"field": "segmnet", "op": "=", "value": "smb"})

    assert error.value.problems[0].where == "where"
    assert "segment" in error.value.problems[0].message


@pytest.mark.parametrize(("text", "expected"), [
    ("ACME", ["Acme"]),
    ("%", ["Beta 100%"]),
    ("_", ["under_score"]),
    ("テスト", ["株式会社テスト"]),
    ("", ["Acme", "Beta 100%", "under_score", "zeta", "株式会社テスト"]),
])
def test_search_matches_text_literally_and_ignoring_case(service, text, expected):
    fill(service)

    assert names(service.query("customer", search=text)) == expected
    assert service.count("customer", search=text) == len(expected)


def test_sort_ascending_descending_and_by_option_order(service):
    fill(service)

    assert names(service.query("customer", sort="-name"))[0] == "株式会社テスト"
    assert names(service.query("customer", sort="segment")) == [
        "Acme", "株式会社テスト", "under_score", "Beta 100%", "zeta"]
    assert names(service.query("customer", sort="-segment")) == [
        "Beta 100%", "under_score", "株式会社テスト", "Acme", "zeta"]


def test_sorting_by_a_link_uses_the_targets_title(service):
    ids = fill(service)
    for title, customer in (("x", "zeta"), ("y", "Acme"), ("z", None)):
        service.create("deal", {"title": title, "customer": ids.get(customer)})

    assert names(service.query("deal", sort="customer"), "title") == ["y", "x", "z"]


def test_unknown_or_unsortable_fields_are_refused(service):
    for sort in ("nmae", "notes", "name; drop table customer"):
        with pytest.raises(InvalidQuery) as error:
            service.query("customer", sort=sort)
        assert error.value.problems[0].where == "sort"
    with pytest.raises(InvalidQuery) as error:
        service.query("customer", sort="nmae")
    assert error.value.problems[0].message == \
        'customer cannot be sorted by "nmae" (did you mean "name"?)'


def test_paging_is_stable_on_equal_values(service):
    made = [service.create("customer", {"name": "same"})["id"] for _ in range(7)]

    pages = [service.query("customer", sort="name", limit=3, offset=start)
             for start in (0, 3, 6)]

    assert [r["id"] for page in pages for r in page] == made
    assert [r["id"] for r in service.query("customer", sort="-name", limit=2)] == \
        made[::-1][:2]
    with pytest.raises(InvalidQuery):
        service.query("customer", limit=-1)


def test_count_can_stop_at_a_cap(service):
    fill(service)

    assert service.count("customer") == 5
    assert service.count("customer", cap=2) == 2


def test_deleted_records_are_left_out_unless_asked_for(service):
    ids = fill(service)
    service.delete("customer", ids["zeta"])

    assert "zeta" not in names(service.query("customer"))
    assert "zeta" in names(service.query("customer", include_deleted=True))


def test_a_page_carries_its_links_lists(service):
    first = service.create("product", {"name": "P1"})["id"]
    second = service.create("product", {"name": "P2"})["id"]
    service.create("deal", {"title": "A", "products": [second, first]})
    service.create("deal", {"title": "B"})

    found = service.query("deal", sort="title")

    assert [(r["title"], r["products"]) for r in found] == [("A", [first, second]),
                                                             ("B", [])]


def test_a_page_reads_only_the_links_lists_asked_for(service):
    """A list page asks for the `links` fields it shows; the others are not read (their
    key is absent, not an empty list that would say "none")."""
    product = service.create("product", {"name": "P1"})["id"]
    service.create("deal", {"title": "A", "products": [product]})

    [without] = service.query("deal", links=["title"])
    [with_them] = service.query("deal", links=["title", "products"])

    assert "products" not in without and without["title"] == "A"
    assert with_them["products"] == [product]
    assert service.query("deal", links=[])[0].keys() == without.keys()


def test_get_many_keeps_the_order_asked_for(service):
    ids = fill(service)

    found = service.get_many("customer", [ids["zeta"], ids["Acme"], 999])

    assert names(found) == ["zeta", "Acme"]


def test_duplicates_compare_folded_trimmed_and_phone_digits(service):
    acme = service.create("customer", {"name": "Acme", "phone": "03-1234-5678"})
    gone = service.create("customer", {"name": "acme"})
    service.delete("customer", gone["id"])

    by_name = service.duplicates("customer", {"name": "  ACME "})
    by_phone = service.duplicates("customer", {"name": "Other", "phone": "+81 3 1234 5678"})

    assert [(d["rule"], d["record"]["id"]) for d in by_name] == [(["name"], acme["id"])]
    assert [(d["rule"], d["record"]["id"]) for d in by_phone] == [(["phone"], acme["id"])]
    assert service.duplicates("customer", {"name": "Acme"}, exclude_id=acme["id"]) == []
    assert service.duplicates("customer", {"phone": "not a phone"}) == []


def test_a_duplicate_never_blocks_a_save(service):
    service.create("customer", {"name": "Acme"})

    assert service.create("customer", {"name": "ACME"})["name"] == "ACME"
