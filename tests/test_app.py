"""The web app: starts only on a clean pack and database, serves the schema browser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from karte import create_app
from karte.problems import ProblemsError
from tests.conftest import write_pack

ENTITIES = {
    "customer": {"label": {"en": "Customer", "ja": "顧客"},
                 "fields": {"name": {"type": "string", "required": True}}},
    "deal": {"label": {"en": "Deal", "ja": "商談"},
             "fields": {"title": {"type": "string", "required": True},
                        "customer": {"type": "link", "to": "customer"}}},
}
PIPELINE = {"entity": "deal", "field": "stage",
            "stages": [{"key": "new"}, {"key": "won", "final": "won"}]}


class Headings(HTMLParser):
    """Collects the text of every <h2>."""

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self._inside = True
            self.texts.append("")

    def handle_endtag(self, tag):
        self._inside = self._inside and tag != "h2"

    def handle_data(self, data):
        if self._inside:
            self.texts[-1] += data


def headings(html: str) -> list[str]:
    parser = Headings()
    parser.feed(html)
    return [" ".join(text.split()) for text in parser.texts]


@pytest.fixture
def app_for(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))

    def make(entities=ENTITIES, workflows=None):
        pack = write_pack(tmp_path / "pack", entities, workflows or {"pipeline": PIPELINE})
        app = create_app(pack=pack, database_url=db_url)
        app.extensions["karte"]["engine"].dispose()
        return app

    return make


def test_schema_page_lists_entities_and_workflows_in_the_chosen_language(make_app):
    client = make_app(ENTITIES, {"pipeline": PIPELINE}).client()
    english = client.get("/schema")
    assert english.status_code == 200
    assert headings(english.get_data(as_text=True))[:3] == [
        "Customer customer", "Deal deal", "Pipeline pipeline"]
    japanese = headings(client.get("/schema?lang=ja").get_data(as_text=True))
    assert japanese[:2] == ["顧客 customer", "商談 deal"]


def test_schema_page_needs_sign_in_but_health_check_does_not(make_app):
    client = make_app(ENTITIES, {"pipeline": PIPELINE}).test_client()
    response = client.get("/schema")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/schema"
    assert client.get("/healthz").status_code == 200


def test_app_refuses_to_start_with_every_problem_of_the_pack(app_for):
    broken = {"customer": {"fields": {"name": {"type": "strin"}}},
              "deal": {"fields": {"title": {"type": "string"},
                                  "customer": {"type": "link", "to": "custmer"}}}}
    with pytest.raises(ProblemsError) as error:
        app_for(entities=broken)
    lines = [str(p) for p in error.value.problems]
    assert any("customer.json: /fields/name/type" in line and '"string"' in line
               for line in lines), lines
    assert any("/fields/customer/to" in line and '"customer"' in line for line in lines), lines


def test_app_starts_on_the_old_column_while_a_type_change_waits(app_for, db_url, tmp_path):
    app_for()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO customer (name, version, created_at, updated_at) "
                             "VALUES ('Acme', 1, '2026-01-01', '2026-01-01')"))
    engine.dispose()
    changed = json.loads(json.dumps(ENTITIES))
    changed["customer"]["fields"]["name"] = {"type": "integer"}

    app = app_for(entities=changed)

    served = app.extensions["karte"]["pack"].entity("customer").field("name")
    assert served.type == "string"  # what the column holds until `karte migrate --apply`
    [waiting] = app.extensions["karte"]["waiting"]
    assert waiting.step.kind == "change_type" and waiting.entity == "customer"
    assert 'id and value: 1 "Acme"' in waiting.description


def test_app_refuses_to_start_when_the_old_definition_is_unknown(app_for, db_url):
    app_for()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO customer (name, version, created_at, updated_at) "
                             "VALUES ('Acme', 1, '2026-01-01', '2026-01-01')"))
        conn.execute(sa.text("DELETE FROM karte_schema_history"))
    engine.dispose()
    changed = json.loads(json.dumps(ENTITIES))
    changed["customer"]["fields"]["name"] = {"type": "integer"}
    with pytest.raises(ProblemsError) as error:
        app_for(entities=changed)
    assert any("customer.name" in str(p) for p in error.value.problems)


def test_flask_cli_on_a_broken_pack_prints_problems_not_a_traceback(tmp_path):
    broken = write_pack(tmp_path / "pack", {"deal": {"fields": {"title": {"type": "strin"}}}})
    env = {**os.environ, "KARTE_PACK": str(broken), "KARTE_INSTANCE": str(tmp_path / "inst"),
           "KARTE_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}"}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "karte", "routes"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert 'entity_defs/deal.json: /fields/title/type: unknown type "strin"' in result.stderr


def test_schema_page_draws_the_er_diagram_and_only_it_relaxes_inline_styles(make_app):
    client = make_app(ENTITIES, {"pipeline": PIPELINE}).client()
    schema = client.get("/schema")
    html = schema.get_data(as_text=True)
    assert "erDiagram" in html and 'class="erd"' in html
    assert "vendor/mermaid.min.js" in html
    policy = schema.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy and "script-src 'self';" in policy
    other = client.get("/customer/").headers["Content-Security-Policy"]
    assert "unsafe" not in other
