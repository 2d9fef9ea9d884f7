"""Definition checks: the data-driven corpus, schema wording, and the standard pack.

Each file in tests/defs/invalid/ is `<CODE>-<slug>.json`: a tiny pack (`pack`, `entities`,
`workflows`, `dashboards`, raw `files`, and a `base` pack it extends) and the exact problems it must
produce: code, `file: /pointer`, and the parts of the message a consultant relies on.
A case may give the instance's `max_upload_mb` (what `karte check` passes); a case whose
problems are all warnings loads its pack all the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from karte.fields import TYPES
from karte.meta import conditions
from karte.meta.load import check_pack, read_layers
from karte.meta.validate import CODES, check_schemas, is_warning
from karte.meta.validate.schema import SCHEMA_FILES, SCHEMAS
from tests.conftest import write_pack

DEFS = Path(__file__).parent / "defs"
INVALID = sorted((DEFS / "invalid").glob("*.json"))
VALID = sorted((DEFS / "valid").glob("*.json"))
REPO_ROOT = Path(__file__).resolve().parents[1]
TESTED_ELSEWHERE = {"DEF000", "DEF002",     # test_load.py: missing folder, unreadable file
                    "DEF098", "DEF099"}     # warnings: test_field_permissions_check.py


def build_case(root: Path, case: dict) -> Path:
    """Write the case's pack (and the base pack it extends) under `root`."""
    pack = case.get("pack")
    if "base" in case:
        base = case["base"]
        write_pack(root / "base", base.get("entities", {}), base.get("workflows"),
                   base.get("pack"), base.get("dashboards"))
        pack = {"extends": "../base", **(pack or {})}
    client = write_pack(root / "client", case.get("entities", {}), case.get("workflows"),
                        pack, case.get("dashboards"))
    for name, text in case.get("files", {}).items():
        (client / name).parent.mkdir(parents=True, exist_ok=True)
        (client / name).write_text(text, encoding="utf-8")
    return client


def load_case(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_definition_is_reported_exactly(path, tmp_path):
    case = load_case(path)
    pack, problems = check_pack(build_case(tmp_path, case),
                                max_upload_mb=case.get("max_upload_mb"))
    assert (pack is None) != all(is_warning(p) for p in problems)
    found = sorted((p.code, p.where) for p in problems)
    expected = sorted((e["code"], e["where"]) for e in case["problems"])
    assert found == expected, "\n".join(str(p) for p in problems)
    for want in case["problems"]:
        problem = next(p for p in problems if (p.code, p.where) == (want["code"],
                                                                      want["where"]))
        for part in want["message"]:
            assert part in problem.message


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_definition_loads(path, tmp_path):
    pack, problems = check_pack(build_case(tmp_path, load_case(path)))
    assert problems == []
    assert pack is not None


def test_corpus_is_named_after_the_code_it_proves():
    for path in INVALID:
        codes = {p["code"] for p in load_case(path)["problems"]}
        assert path.stem.split("-")[0] in codes, path.name


def test_every_problem_code_is_documented_and_proven():
    proven = {path.stem.split("-")[0] for path in INVALID} | TESTED_ELSEWHERE
    used = {p["code"] for path in INVALID for p in load_case(path)["problems"]}
    assert all(code.startswith(("COND", "FORM")) for code in used - set(CODES))
    assert set(CODES) - proven == set()


def test_several_mistakes_in_several_files_are_all_reported(tmp_path):
    root = write_pack(tmp_path, {
        "deal": {"fields": {"amout": {"type": "mony"}}},
        "customer": {"fields": {"name": {"type": "string"}}, "title_field": "nmae"},
        "task": {"fields": {"deal": {"type": "link", "to": "dael"}}},
    }, {"deal_pipeline": {"entity": "deal", "field": "stage", "stages": [{"key": "new"}],
                          "intial": "new"}},
        pack={"roles": {"sales": {"custmer": {"read": "all"}}}})
    (root / "entity_defs" / "broken.json").write_text('{"fields": }', encoding="utf-8")
    pack, problems = check_pack(root)
    assert pack is None
    assert sorted(p.code for p in problems) == [
        "DEF001", "DEF012", "DEF024", "DEF030", "DEF043", "WF010"]
    assert 'entity_defs/deal.json: /fields/amout/type: unknown type "mony" (did you mean ' \
           '"money"?)' in [str(p) for p in problems]


def test_a_schema_error_does_not_hide_meaning_problems_of_other_files(tmp_path):
    root = write_pack(tmp_path, {
        "deal": {"fields": {"title": {"type": "string", "max_length": "x"}}},
        "task": {"fields": {"deal": {"type": "link", "to": "deal"}}, "title_field": "nme"},
    }, {"deal_pipeline": {"entity": "deal", "field": "stage",
                          "stages": [{"key": "a"}, {"key": "b", "final": "won"}]}})
    _, problems = check_pack(root)
    assert [p.code for p in problems] == ["DEF011", "DEF030"]


def test_best_match_gives_one_problem_per_mistake_not_the_anyof_noise(tmp_path):
    root = write_pack(tmp_path, {"deal": {"fields": {"title": {
        "type": "string",
        "visible_if": {"all": [{"any": [{"not": {"field": "title", "op": "=", "oops": 1}}]}]},
        "options": [{"key": "a", "color": "blue"}]}}}})
    raw, _ = read_layers(root)
    problems = check_schemas(raw)
    assert [str(p) for p in problems] == [
        "entity_defs/deal.json: /fields/title/options/0/color: \"blue\" is not valid: a "
        'colour is written "#rgb" or "#rrggbb", e.g. "#2563eb"',
        "entity_defs/deal.json: /fields/title/visible_if/all/0/any/0/not/oops: unknown key "
        '"oops" (did you mean "op"?)']


@pytest.mark.parametrize("value, expected", [
    ("200", "expected a whole number, got a string"),
    (2.5, "expected a whole number, got 2.5"),
    (True, "expected a whole number, got true"),
    (None, "expected a whole number, got null"),
])
def test_wrong_types_are_named_plainly(tmp_path, value, expected):
    root = write_pack(tmp_path, {"deal": {"fields": {"title": {"type": "string",
                                                               "max_length": value}}}})
    _, problems = check_pack(root)
    assert [p.message for p in problems] == [expected]


def test_a_file_that_is_not_an_object(tmp_path):
    root = write_pack(tmp_path, {"deal": ["title"]})
    _, problems = check_pack(root)
    assert [str(p) for p in problems] == [
        "entity_defs/deal.json: /: expected an object, got a list"]


def test_schema_files_are_valid_draft_2020_12():
    for name in SCHEMA_FILES.values():
        Draft202012Validator.check_schema(json.loads((SCHEMAS / name).read_text("utf-8")))


def _properties_without_description(schema, where="#"):
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            if isinstance(sub, dict) and "description" not in sub and "$ref" not in sub:
                yield f"{where}/properties/{name}"
        for key, sub in schema.items():
            if key not in ("if", "then", "else"):      # these narrow properties described above
                yield from _properties_without_description(sub, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, sub in enumerate(schema):
            yield from _properties_without_description(sub, f"{where}/{index}")


def _ref_target(schemas, ref, here):
    file, _, path = ref.partition("#")
    node = schemas[file or here]
    for part in path.strip("/").split("/"):
        node = node[part]
    return node


def test_every_property_has_a_description_for_editors():
    schemas = {n: json.loads((SCHEMAS / n).read_text("utf-8")) for n in SCHEMA_FILES.values()}
    missing = [f"{name}{where}" for name, schema in schemas.items()
               for where in _properties_without_description(schema)]
    assert missing == []
    for name, schema in schemas.items():      # a bare $ref borrows the target's description
        refs = _refs(schema)
        assert all("description" in _ref_target(schemas, ref, name) for ref in refs), name


def _refs(schema):
    if isinstance(schema, dict):
        for sub in schema.get("properties", {}).values():
            if isinstance(sub, dict) and "$ref" in sub and "description" not in sub:
                yield sub["$ref"]
        for sub in schema.values():
            yield from _refs(sub)
    elif isinstance(schema, list):
        for sub in schema:
            yield from _refs(sub)


def test_schema_lists_every_field_type_and_operator():
    entity = json.loads((SCHEMAS / "entity.schema.json").read_text("utf-8"))
    defs = entity["$defs"]
    assert defs["field_patch"]["properties"]["type"]["enum"] == list(TYPES)
    assert defs["condition"]["properties"]["op"]["enum"] == list(conditions.OPERATORS)


def test_standard_pack_files_name_their_schema():
    for path in [REPO_ROOT / "pack.json", *sorted((REPO_ROOT / "entity_defs").glob("*.json")),
                 *sorted((REPO_ROOT / "workflows").glob("*.json")),
                 *sorted((REPO_ROOT / "dashboards").glob("*.json"))]:
        target = json.loads(path.read_text("utf-8")).get("$schema")
        assert target and (path.parent / target).resolve().is_file(), path


def test_standard_pack_checks_clean():
    pack, problems = check_pack(REPO_ROOT)
    assert [str(p) for p in problems] == []
    assert {"deal", "customer"} <= set(pack.entities)


@pytest.mark.parametrize(("typed", "karte"), [
    ("float", "decimal"), ("select", "enum"), ("checkbox", "boolean"), ("varchar", "string"),
    ("currency", "money"), ("many2many", "links"),
])
def test_type_words_from_other_crms_point_at_the_karte_type(tmp_path, typed, karte):
    _, problems = check_pack(write_pack(tmp_path, {"thing": {"fields": {"size": {"type": typed}}}}))
    assert [str(p) for p in problems] == [
        f'entity_defs/thing.json: /fields/size/type: unknown type "{typed}" '
        f'(Karte calls it "{karte}")']


SOURCE = {"fields": {
    "n": {"type": "integer"}, "d": {"type": "decimal"}, "m": {"type": "money"},
    "p": {"type": "percent"}, "s": {"type": "string"}, "t": {"type": "text"},
    "e": {"type": "email"}, "day": {"type": "date"}, "at": {"type": "datetime"},
    "to_a": {"type": "link", "to": "a"}, "to_b": {"type": "link", "to": "b"},
    "many_a": {"type": "links", "to": "a"}, "u": {"type": "user"},
    "size": {"type": "enum", "options": ["s", "m"]},
    "tags": {"type": "multi_enum", "options": ["x", "y"]}, "doc": {"type": "file"}}}
TARGET = {"fields": {**SOURCE["fields"],
                     "size": {"type": "enum", "options": ["s"]},
                     "tags": {"type": "multi_enum", "options": ["x", "y", "z"]}}}


def record_copy(tmp_path, source: str, target: str) -> list[str]:
    """The problems of `{"create": "target", "values": {target: "$record.<source>"}}`."""
    flow = {"entity": "src", "field": "stage",
            "stages": [{"key": "new"}, {"key": "done", "final": "won"}],
            "on_enter": {"done": [{"create": "dst", "values": {target: f"$record.{source}"}}]}}
    root = write_pack(tmp_path, {"src": SOURCE, "dst": TARGET, "a": {"fields": {}},
                                 "b": {"fields": {}}}, {"flow": flow})
    return [f"{p.code} {p.message}" for p in check_pack(root)[1]]


@pytest.mark.parametrize(("source", "target"), [
    *((name, name) for name in SOURCE["fields"] if name not in ("size", "doc")),
    ("n", "m"), ("n", "d"), ("n", "p"), ("d", "m"), ("m", "d"), ("s", "t"), ("e", "s"),
    ("e", "t"), ("id", "n"), ("created_by", "u"), ("created_at", "at"),
])
def test_a_record_field_fits_its_own_type_and_the_wider_ones(tmp_path, source, target):
    assert record_copy(tmp_path, source, target) == []


@pytest.mark.parametrize(("source", "target", "reason"), [
    ("m", "day", "a money value does not fit a date field"),
    ("d", "n", "a decimal value does not fit an integer field"),
    ("m", "p", "a money value does not fit a percent field"),
    ("t", "s", "a text value does not fit a string field"),
    ("day", "at", "a date value does not fit a datetime field"),
    ("n", "s", "an integer value does not fit a string field"),
    ("to_a", "to_b", "it points to a, this field to b"),
    ("many_a", "to_a", "a links value does not fit a link field"),
    ("to_a", "u", "a link value does not fit a user field"),
    ("size", "size", "this field has no option m"),
    ("doc", "s", "a file field is not copied"),
])
def test_a_record_field_that_does_not_fit_is_wf051(tmp_path, source, target, reason):
    [problem] = record_copy(tmp_path, source, target)
    assert problem.startswith(f'WF051 "$record.{source}" is src.{source}') and reason in problem


def test_no_step_writes_a_file_field_not_even_a_copy_of_another_records_files(tmp_path):
    [problem] = record_copy(tmp_path, "doc", "doc")
    assert problem.startswith('WF035 "doc" is a file field') and "attached by upload" in problem


@pytest.mark.parametrize(("source", "hint"), [
    ("amout", 'src has no field "amout"'), ("tgas", 'did you mean "tags"'),
    ("to_a.name", "one hop"), ("created_byy", 'did you mean "created_by"')])
def test_a_record_field_the_moved_entity_lacks_is_wf050(tmp_path, source, hint):
    [problem] = record_copy(tmp_path, source, "s")
    assert problem.startswith(f'WF050 "$record.{source}"') and hint in problem
