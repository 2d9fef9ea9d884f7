"""Schemathesis against the live app (SPEC §11.1: "The API passes a schemathesis run with no
5xx and no response that violates the document"), through WSGI: no network, no server.

For the standard pack and the example client pack (examples/distributor), on a database
holding a small `karte demo` (so that reads find records of every entity), the document
served at /api/v1/openapi.json drives:

- every operation, with bodies, path and query parameters generated from its schemas
  (valid ones, then invalid ones), sent with a real personal token of the demo's admin
  (for the example pack: the operations of the entities it adds or changes — the others
  are the standard pack's word for word);
- a stateful run: the links schemathesis infers from the document (create → read, patch,
  delete, history by the id a response carries), chaining real ids.

Every response must be no 5xx and conform to the document: a status code it lists, its
content type, its response schema, its declared headers. Runs are bounded and repeatable:
`KARTE_FUZZ_EXAMPLES` examples per operation (default 3), derandomized (the same examples
on every run), no example database; `KARTE_FUZZ_STEPS` steps per stateful scenario
(default 6). See docs/api-testing.md for reproducing a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from karte.config import REPO_ROOT

EXAMPLES = int(os.environ.get("KARTE_FUZZ_EXAMPLES", "3"))
STEPS = int(os.environ.get("KARTE_FUZZ_STEPS", "6"))
PACKS = {"standard": REPO_ROOT, "distributor": REPO_ROOT / "examples" / "distributor"}
DEMO_SIZE = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
BOUNDED = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck), print_blob=True,
                   phases=[Phase.explicit, Phase.generate])


class Live:
    """The app on a fresh database with a small demo, and the admin's token."""

    def __init__(self, app, token: str, pack: str):
        self.app, self.pack = app, pack
        self.headers = {"Authorization": f"Bearer {token}"}


@pytest.fixture(params=sorted(PACKS))
def live(request, db_url, tmp_path, monkeypatch):
    from karte import create_app
    from karte.auth import tokens
    from karte.demo import fill

    if request.param == "distributor" and db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL is fuzzed with the standard pack only (time)")
    monkeypatch.setenv("KARTE_INSTANCE", str(tmp_path / "instance"))
    app = create_app(pack=PACKS[request.param], database_url=db_url,
                     config={"TESTING": True, "RATELIMIT_ENABLED": False})
    services = app.extensions["karte"]
    engine, pack = services["engine"], services["pack"]
    fill(engine, pack, size=DEMO_SIZE, seed=1, if_empty=False,
         instance=Path(tmp_path / "instance"), echo=lambda *_: None,
         files=services["files"])
    with engine.connect() as conn:
        admin = conn.exec_driver_sql(
            "SELECT id FROM karte_user WHERE role = 'admin' ORDER BY id").scalar()
    yield Live(app, tokens.add(engine, admin, "fuzz")[0], request.param)
    engine.dispose()


@pytest.fixture
def api_schema(live):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", live.app,
                                          headers=live.headers)


def fuzz(operation, live, mode: GenerationMode) -> str | None:
    """Run `operation`'s bounded examples of `mode`; the failure as text, or None."""
    @given(case=operation.as_strategy(generation_mode=mode))
    @BOUNDED
    def run(case):
        case.call_and_validate(headers=live.headers, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as error:   # every failure, reported at once
        return f"{operation.label} ({mode.value}): {error}"
    return None


def _own(schema, operations: list) -> list:
    """The operations of entities the example pack defines or changes: those the standard
    pack has word for word (paths, and every schema named after the entity, its lines
    included) were fuzzed with it already."""
    from karte.api.openapi import document
    from karte.meta.load import load_pack

    theirs, standard = schema.raw_schema, document(load_pack(REPO_ROOT))

    def same(entity: str) -> bool:
        def parts(doc: dict) -> dict:
            paths = {p: i for p, i in doc["paths"].items() if p.split("/")[1] == entity}
            named = {n: s for n, s in doc["components"]["schemas"].items()
                     if n.startswith(entity)}
            return {"paths": paths, "schemas": named}
        return parts(theirs) == parts(standard)

    return [op for op in operations if not same(op.path.split("/")[1])]


def test_every_operation_answers_as_the_document_says(api_schema, live):
    """Schemathesis's examples of every operation (valid ones, then invalid ones); every
    failing operation is listed, each with the request that reproduces it."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    if live.pack != "standard":
        operations = _own(api_schema, operations)
        assert len(operations) > 20
    failures = [failure for operation in operations
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                if (failure := fuzz(operation, live, mode))]
    assert not failures, "\n\n".join(failures)


def test_chained_calls_answer_as_the_document_says(api_schema, live):
    class Machine(api_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case):
            return {"headers": live.headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Machine.run(settings=settings(BOUNDED, max_examples=max(2, EXAMPLES // 2),
                                  stateful_step_count=STEPS,
                                  phases=[Phase.generate]))
