"""The OpenAPI 3.1 document (`/api/v1/openapi.json`, karte.api.openapi): valid against the
3.1 meta-schema for the standard pack and the example client pack, one set of schemas and
paths per entity (parts only nested), types/enums/required/readOnly as the definitions
say, and served once per app with an ETag to either a token or the signed-in session."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from karte.api.openapi import document
from karte.api.read_params import HISTORY_PARAMS, LANGUAGE, LIST_PARAMS, RECORD_PARAMS
from karte.config import REPO_ROOT
from karte.meta.load import load_pack

PACKS = {"standard": REPO_ROOT, "distributor": REPO_ROOT / "examples" / "distributor"}
ERROR_CODES = {"400", "401", "403", "404", "409", "412", "413", "415", "422", "428", "429"}


@pytest.fixture(scope="module", params=sorted(PACKS))
def built(request):
    pack = load_pack(PACKS[request.param])
    return pack, document(pack)


def test_the_document_is_valid_openapi_3_1(built):
    _pack, doc = built
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_entity_has_schemas_and_paths_and_parts_only_nested(built):
    pack, doc = built
    schemas, paths = doc["components"]["schemas"], doc["paths"]
    for entity in pack.entities.values():
        assert entity.name in schemas
        if entity.part_of is not None:
            assert f"{entity.name}.line" in schemas
            assert not any(p.split("/")[1] == entity.name for p in paths), entity.name
            parent = pack.entities[entity.part_of]
            lines = next(f for f in parent.lines_fields() if f.of == entity.name)
            assert schemas[parent.name]["properties"][lines.name]["items"] == {
                "$ref": f"#/components/schemas/{entity.name}"}
            assert schemas[f"{parent.name}.write"]["properties"][lines.name]["items"] == {
                "$ref": f"#/components/schemas/{entity.name}.line"}
            continue
        assert {f"{entity.name}.write", f"{entity.name}.patch"} <= set(schemas)
        base = f"/{entity.name}"
        assert set(paths[base]) == {"get", "post"}
        assert {"get", "patch", "delete"} <= set(paths[f"{base}/{{id}}"])
        assert "get" in paths[f"{base}/{{id}}/history"]
        assert "post" in paths[f"{base}/{{id}}/merge"]
        assert (f"{base}/{{id}}/move" in paths) == bool(pack.workflows_of(entity.name))
        for action in entity.actions:
            assert "post" in paths[f"{base}/{{id}}/actions/{action.name}"]


def test_every_error_is_problem_json_and_every_status_is_documented(built):
    _pack, doc = built
    responses = doc["components"]["responses"]
    for code in ERROR_CODES:
        name = next(n for n, r in responses.items()
                    if "application/problem+json" in r.get("content", {})
                    and r["description"] and _used_for(doc, n) == code)
        assert responses[name]["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"}
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["required"])
    seen = {code for item in doc["paths"].values() for op in item.values()
            if isinstance(op, dict) and "responses" in op for code in op["responses"]}
    assert ERROR_CODES <= seen
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"]}
    assert doc["security"] == [{"bearer": []}]


def _used_for(doc: dict, name: str) -> str | None:
    for item in doc["paths"].values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            for code, response in op.get("responses", {}).items():
                if response == {"$ref": f"#/components/responses/{name}"}:
                    return code
    return None


def test_headers_etag_if_match_location(built):
    pack, doc = built
    name = next(e.name for e in pack.entities.values() if e.part_of is None)
    item = doc["paths"][f"/{name}/{{id}}"]
    refs = {p.get("$ref") for p in item["patch"]["parameters"]}
    assert "#/components/parameters/IfMatch" in refs
    assert "#/components/parameters/IfMatch" in {p.get("$ref") for p in
                                                 item["delete"]["parameters"]}
    assert "#/components/parameters/IfNoneMatch" in {p.get("$ref") for p in
                                                     item["get"]["parameters"]}
    assert item["get"]["responses"]["200"]["headers"]["ETag"] == {
        "$ref": "#/components/headers/ETag"}
    assert item["get"]["responses"]["304"] == {"$ref": "#/components/responses/NotModified"}
    created = doc["paths"][f"/{name}"]["post"]["responses"]["201"]
    assert created["headers"]["Location"] == {"$ref": "#/components/headers/Location"}
    assert doc["components"]["parameters"]["IfMatch"]["required"] is True


SHOP = {
    "shipment": {
        "name": "shipment", "label": {"en": "Shipment", "ja": "出荷"}, "title_field": "ref",
        "fields": {
            "ref": {"type": "string", "required": True, "max_length": 40},
            "number": {"type": "string", "series": "SH-{####}"},
            "carrier": {"type": "enum", "options": [
                {"key": "yamato", "label": {"en": "Yamato", "ja": "ヤマト運輸"}},
                {"key": "sagawa", "label": {"en": "Sagawa", "ja": "佐川急便"}}]},
            "weight": {"type": "decimal", "precision": 10, "scale": 3, "min": 0},
            "boxes": {"type": "integer", "min": 1, "max": 99},
            "customer": {"type": "link", "to": "customer", "required": True},
            "owner": {"type": "user", "default": "$me"},
            "ship_on": {"type": "date"},
            "express": {"type": "boolean"},
            "tags": {"type": "multi_enum", "options": ["fragile", "cold"]},
            "total": {"type": "rollup", "of": "lines", "agg": "sum", "field": "qty",
                      "result": "decimal"},
            "lines": {"type": "lines", "of": "shipment_line", "min": 1, "max": 50}}},
    "shipment_line": {
        "name": "shipment_line", "part_of": "shipment", "title_field": "item",
        "fields": {"item": {"type": "string", "required": True},
                   "qty": {"type": "integer", "required": True, "min": 1}}},
    "customer": {"name": "customer", "title_field": "name",
                 "fields": {"name": {"type": "string", "required": True}}},
}


def test_a_new_entity_appears_with_its_types_enums_required_and_read_only(make_pack):
    doc = document(make_pack(SHOP))
    validate(doc)
    schemas, paths = doc["components"]["schemas"], doc["paths"]
    assert "/shipment" in paths and "/shipment/{id}" in paths
    assert not any(p.startswith("/shipment_line") for p in paths)
    read, write = schemas["shipment"], schemas["shipment.write"]
    assert read["required"] == ["id", "version"]
    assert read["x-labels"] == {"en": "Shipment", "ja": "出荷"}
    assert read["properties"]["id"]["readOnly"] is True
    assert read["properties"]["number"]["readOnly"] is True, "a series is numbered"
    assert read["properties"]["total"]["readOnly"] is True, "a rollup is computed"
    carrier = read["properties"]["carrier"]
    assert carrier["enum"] == ["yamato", "sagawa", None]
    assert carrier["x-enum-labels"]["sagawa"] == {"en": "Sagawa", "ja": "佐川急便"}
    assert read["properties"]["customer"]["x-link"] == "customer"
    assert read["properties"]["owner"]["x-link"] == "user"
    weight = write["properties"]["weight"]
    assert weight["type"] == ["string", "null"] and weight["format"] == "decimal"
    assert weight["pattern"] == r"^-?[0-9]{1,7}(\.[0-9]+)?$"
    assert write["properties"]["boxes"]["minimum"] == 1
    assert write["properties"]["boxes"]["maximum"] == 99
    assert write["properties"]["ship_on"]["format"] == "date"
    assert write["properties"]["express"]["type"] == ["boolean", "null"]
    assert write["properties"]["tags"]["items"]["enum"] == ["fragile", "cold"]
    assert write["required"] == ["ref", "customer", "lines"], "owner has a default"
    assert write["additionalProperties"] is False
    assert "number" not in write["properties"] and "total" not in write["properties"]
    assert write["properties"]["lines"]["minItems"] == 1
    assert write["properties"]["lines"]["maxItems"] == 50
    assert "required" not in schemas["shipment.patch"]
    line = schemas["shipment_line.line"]
    assert set(line["properties"]) == {"id", "shipment", "item", "qty", "position"}
    assert line["properties"]["shipment"]["readOnly"] is True, "echoed back, never set"
    assert line["properties"]["position"]["readOnly"] is True
    assert line["required"] == ["item", "qty"]
    assert set(schemas["shipment_line"]["properties"]) == {"id", "item", "qty"}
    assert schemas["shipment_line"]["required"] == ["id"]


def test_list_parameters_document_every_filter_sort_and_limit(make_pack):
    doc = document(make_pack(SHOP))
    params = {p["name"]: p for p in doc["paths"]["/shipment"]["get"]["parameters"]}
    assert {"q", "sort", "limit", "cursor", "fields", "expand"} <= set(params)
    assert params["limit"]["schema"]["maximum"] == 500
    assert "-ship_on" in params["sort"]["schema"]["enum"]
    assert "tags" not in params["sort"]["schema"]["enum"]
    assert params["f.carrier"]["schema"]["enum"] == ["yamato", "sagawa"]
    assert params["f.carrier.in"]["style"] == "form"
    assert params["f.carrier.in"]["explode"] is False
    assert params["f.ship_on.gte"]["schema"]["format"] == "date"
    assert params["f.boxes.lt"]["schema"]["type"] == "integer"
    assert params["f.ship_on.empty"]["schema"] == {"type": "boolean"}
    assert params["f.tags.contains"]["schema"]["enum"] == ["fragile", "cold"]
    assert "f.created_at.gte" in params and "f.id" in params
    assert params["expand"]["schema"]["items"]["enum"] == ["customer"], "links, not users"
    history = doc["paths"]["/shipment/{id}/history"]["get"]
    assert {p["name"] for p in history["parameters"]} == {*HISTORY_PARAMS, LANGUAGE}
    assert {p["name"] for p in params.values() if not p["name"].startswith("f.")} == {
        *LIST_PARAMS, LANGUAGE}, "what the list endpoint takes (karte.api.read_params)"
    one = doc["paths"]["/shipment/{id}"]["get"]["parameters"]
    assert {p["name"] for p in one if "name" in p} == {*RECORD_PARAMS, LANGUAGE}


ROLES = {"name": "shop", "roles": {"sales": {"*": {"read": "all", "create": True,
                                                   "update": "own", "delete": False}}}}


def test_served_once_per_app_with_an_etag_to_the_session(make_app):
    app = make_app(SHOP, pack=ROLES)
    client = app.client("sales")
    first = client.get("/api/v1/openapi.json")
    assert first.status_code == 200, first.get_data(as_text=True)[:300]
    assert first.mimetype == "application/json"
    assert first.json["paths"]["/shipment"]
    tag = first.headers["ETag"]
    again = client.get("/api/v1/openapi.json", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag
    assert client.get("/api/v1/openapi.json").get_data() == first.get_data()
    assert client.get("/api/v1/openapi.json",
                      headers={"If-None-Match": '"other"'}).status_code == 200


def test_served_to_a_token_and_refused_to_nobody(make_app):
    app = make_app(SHOP)
    anonymous = app.test_client().get("/api/v1/openapi.json")
    assert anonymous.status_code == 401
    assert anonymous.mimetype == "application/problem+json"
    live = pytest.importorskip("tests.api_live")
    response = live.api_client(app).get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json["openapi"] == "3.1.0"


@pytest.mark.parametrize("installed", [True, False])
def test_the_docs_page_needs_sign_in_and_starts_swagger_ui_from_a_static_script(
        make_app, monkeypatch, installed):
    from karte.api import docs_page

    monkeypatch.setattr(docs_page, "assets_installed", lambda: installed)
    app = make_app(SHOP, pack=ROLES)
    signed_out = app.test_client().get("/api/docs")
    assert signed_out.status_code == 302
    assert signed_out.headers["Location"].startswith("/login?next=")
    client = app.client("sales")
    page = client.get("/api/docs")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in body, "no inline script under the CSP"
    assert 'href="/api/v1/openapi.json"' in body
    if installed:
        assert 'id="swagger-ui"' in body and 'data-url="/api/v1/openapi.json"' in body
        assert "/static/js/api_docs.js" in body
        assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in body
    else:
        assert "swagger-ui-bundle.js" not in body
        assert "scripts/assets.sh" in body
    japanese = client.get("/api/docs?lang=ja").get_data(as_text=True)
    assert "API ドキュメント" in japanese
    assert 'href="/api/docs"' in client.get("/account").get_data(as_text=True)


def test_a_stage_is_echoed_not_written_moves_name_the_stages_and_actions_answer():
    pack = load_pack(PACKS["standard"])
    doc = document(pack)
    write = doc["components"]["schemas"]["deal.write"]
    assert write["properties"]["stage"]["readOnly"] is True
    assert "stage" not in write.get("required", [])
    move = doc["paths"]["/deal/{id}/move"]["post"]
    body = move["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["to"]["enum"] == list(pack.workflows["deal_pipeline"].stage_keys)
    assert {"409", "412", "422"} <= set(move["responses"])
    assert {"missing", "only_missing"} <= set(
        doc["components"]["schemas"]["Problem"]["properties"])
    entity = next(e for e in pack.entities.values() if e.actions)
    action = entity.actions[0]
    run = doc["paths"][f"/{entity.name}/{{id}}/actions/{action.name}"]["post"]
    assert run["operationId"] == f"action_{entity.name}_{action.name}"
    assert run["requestBody"]["required"] is False
    answer = run["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["properties"]["record"] == {"$ref": f"#/components/schemas/{entity.name}"}
    assert set(answer["required"]) == {"record", "created", "open"}


def test_a_create_links_to_reading_changing_and_deleting_what_it_made(built):
    pack, doc = built
    ids = {op["operationId"] for item in doc["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op}
    for entity in (e for e in pack.entities.values() if e.part_of is None):
        links = doc["paths"][f"/{entity.name}"]["post"]["responses"]["201"]["links"]
        assert {link["operationId"] for link in links.values()} <= ids
        assert links["UpdateCreated"]["parameters"] == {
            "id": "$response.body#/id", "header.If-Match": "$response.header.ETag"}


@pytest.fixture(params=sorted(PACKS))
def demo_app(request, db_url, tmp_path, monkeypatch):
    """A pack of the repository on the test database with a small demo."""
    from karte import create_app
    from karte.demo import fill

    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    app = create_app(pack=PACKS[request.param], database_url=db_url,
                     config={"TESTING": True, "RATELIMIT_ENABLED": False})
    services = app.extensions["karte"]
    fill(services["engine"], services["pack"], size=30, seed=3, if_empty=False,
         instance=tmp_path / "instance", echo=lambda *_: None)
    yield app
    services["engine"].dispose()


def _checker(doc: dict, pointer: str):
    """A validator of the response schema at `pointer` in the document (its $refs resolve
    inside the document)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource(
        "urn:karte-openapi", Resource.from_contents(doc, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:karte-openapi#{pointer}"}, registry=registry)


def _response(path: str, method: str, status: str) -> str:
    escaped = path.replace("~", "~0").replace("/", "~1")
    return f"/paths/{escaped}/{method}/responses/{status}/content/application~1json/schema"


def test_real_answers_fit_the_document(demo_app):
    """Reads of every entity (links expanded, lines nested) and their histories, as served
    to a token, are valid against the schemas the document gives them."""
    from karte.auth import tokens
    from karte.auth.users import add_user
    from tests.api_live import ApiClient

    services = demo_app.extensions["karte"]
    admin = add_user(services["engine"], services["pack"], "doc@example.com", "admin",
                     "a long password 1")
    client = ApiClient(demo_app, tokens.add(services["engine"], admin, "doc")[0], admin)
    doc = client.get("/api/v1/openapi.json").json
    pack = demo_app.extensions["karte"]["pack"]
    checked = 0
    for entity in (e for e in pack.entities.values() if e.part_of is None):
        expand = [n for n, f in entity.fields.items() if f.type in ("link", "links")]
        page = client.get(f"/api/v1/{entity.name}", query_string={
            "limit": 5, **({"expand": ",".join(expand)} if expand else {})})
        assert page.status_code == 200, page.json
        errors = list(_checker(doc, _response(f"/{entity.name}", "get", "200"))
                      .iter_errors(page.json))
        assert not errors, (entity.name, [e.message for e in errors][:5])
        for record in page.json["data"][:2]:
            one = client.get(f"/api/v1/{entity.name}/{record['id']}")
            assert not list(_checker(doc, _response(f"/{entity.name}/{{id}}", "get", "200"))
                            .iter_errors(one.json)), entity.name
            history = client.get(f"/api/v1/{entity.name}/{record['id']}/history")
            assert not list(_checker(doc, _response(f"/{entity.name}/{{id}}/history", "get",
                                                    "200")).iter_errors(history.json))
            checked += 1
    assert checked > 5
    problem = client.get("/api/v1/customer", query_string={"nonsense": "1"})
    assert problem.status_code == 400
    assert not list(_checker(doc, "/components/schemas/Problem").iter_errors(problem.json))
