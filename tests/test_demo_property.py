"""For packs `karte check` accepts, `karte demo` makes every record it is asked for.

Hypothesis writes packs of one to three entities using the features that make demo data
hard — patterns, length limits, unique fields, bounds, `visible_if` / `required_if`, links
that imply other links, formulas, workflows whose stages `require` fields, carry `rules`
and `on_enter` actions — and keeps those `check_pack` accepts. Packs whose records no one
could ever save (a required pattern longer than its `max_length`, more required unique
values than the field can hold, a `create` action the target refuses) are not generated:
for those the demo's promise is a report, not records, and `test_demo.py` covers it. A
second test takes the fuzzer's mangled packs (`test_fuzz_pack`): whatever passes checking,
the demo answers without a traceback.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from karte.cli import main
from karte.meta.load import check_pack
from tests.conftest import DATABASES, fresh_database
from tests.test_fuzz_pack import mutated_files

PATTERNS = (r"^[A-Z]{3}-[0-9]{4}$", r"^[a-z]+$", r"^\d{3,6}$", r"^(red|green|blue)-\d+$",
            r"^[^<>]*$", r"^[A-Z0-9-]+$", r"^[a-z]{2}\.[a-z]{2,4}$", r"^\w+ \w+$")
SIMPLE = ("string", "text", "integer", "decimal", "money", "percent", "boolean", "date",
          "datetime", "email", "phone", "url", "enum", "multi_enum", "user")
NUMBERS = ("integer", "decimal", "money", "percent")
OPTIONS = ["a", "b", "c", "d"]


def run_demo(kind: str, files: dict[str, str], size: int = 50):
    """Write the pack, check it (None when it has problems), run `karte demo` on it."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "pack"
        for sub in ("entity_defs", "workflows"):
            (root / sub).mkdir(parents=True)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)   # dashboards/…
            (root / name).write_text(text, encoding="utf-8")
        if check_pack(root)[1]:
            return None
        with fresh_database(kind) as url:
            env = {"KARTE_DATABASE_URL": url, "KARTE_INSTANCE": str(Path(folder) / "inst")}
            return CliRunner(env=env).invoke(
                main, ["demo", "--pack", str(root), "--size", str(size), "--seed", "1"])


# ---------------------------------------------------------------------- packs


def _bounds(draw, kind: str, unique: bool) -> dict:
    if kind in NUMBERS:
        top = 90_000 if kind == "percent" else 1_000_000
        low = draw(st.integers(-50, top // 2))
        width = draw(st.integers(5_000 if unique else 0, top // 2))
        return draw(st.sampled_from([{}, {"min": low}, {"max": low + width},
                                     {"min": low, "max": low + width}]))
    if kind == "date":
        year = draw(st.integers(1990, 2090))
        span = 200 if unique else draw(st.integers(0, 3))
        return draw(st.sampled_from([{}, {"min": f"{year}-01-01"},
                                     {"min": f"{year}-01-01", "max": f"{year + span}-12-31"}]))
    return {}


def _text_limits(draw, unique: bool) -> dict:
    if draw(st.booleans()):
        return {"pattern": draw(st.sampled_from(PATTERNS)),
                **draw(st.sampled_from([{}, {"max_length": 40}]))}
    longest = draw(st.integers(2 if unique else 1, 60))
    shortest = draw(st.integers(0, min(longest, 20)))
    return draw(st.sampled_from([{}, {"max_length": longest},
                                 {"min_length": shortest, "max_length": longest}]))


@st.composite
def field_defs(draw, kind: str) -> dict:
    required = draw(st.booleans())
    unique = kind not in ("boolean", "enum", "multi_enum", "user", "text") and \
        draw(st.integers(0, 3)) == 0
    body = {"type": kind, "required": required, **({"unique": True} if unique else {})}
    if kind == "string":
        body.update(_text_limits(draw, unique))
    elif kind == "text":
        body.update(draw(st.sampled_from([{}, {"max_length": 30}])))
    elif kind in ("enum", "multi_enum"):
        body["options"] = OPTIONS[:draw(st.integers(1, 4))]
    elif kind == "decimal":
        body.update({"precision": 12, "scale": draw(st.integers(0, 4))})
    body.update(_bounds(draw, kind, unique))
    return body


def _condition(fields: dict, name: str) -> dict | None:
    """A condition on another choice or boolean field of the same entity."""
    for other, body in fields.items():
        if other != name and body["type"] == "enum":
            return {"field": other, "op": "in", "value": body["options"][:1]}
        if other != name and body["type"] == "boolean":
            return {"field": other, "op": "=", "value": True}
    return None


@st.composite
def entities(draw) -> dict:
    count = draw(st.integers(1, 3))
    names = ["alpha", "beta", "gamma"][:count]
    found = {}
    for index, name in enumerate(names):
        kinds = draw(st.lists(st.sampled_from(SIMPLE), min_size=1, max_size=6))
        fields = {f"f{i}_{kind}": draw(field_defs(kind)) for i, kind in enumerate(kinds)}
        for target in names[:index]:
            if draw(st.booleans()):
                fields[f"to_{target}"] = {"type": "link", "to": target,
                                          "required": draw(st.booleans())}
            if draw(st.integers(0, 3)) == 0:
                fields[f"many_{target}"] = {"type": "links", "to": target}
        if draw(st.booleans()):
            fields["to_self"] = {"type": "link", "to": name}
        numbers = [n for n, b in fields.items() if b["type"] in ("integer", "money")]
        if numbers:
            fields["total"] = {"type": "formula", "formula": f"{numbers[0]} * 2"}
        for field_name in list(fields)[:draw(st.integers(0, 2))]:
            key = draw(st.sampled_from(["visible_if", "required_if"]))
            condition = _condition(fields, field_name)
            if condition is not None and fields[field_name]["type"] != "formula":
                fields[field_name][key] = condition
        found[name] = {"fields": fields}
    return found


def _rule(draw, fields: dict) -> dict | None:
    for name, body in fields.items():
        if body["type"] in NUMBERS and not body.get("unique"):
            op = draw(st.sampled_from([">", ">=", "<", "<=", "!="]))
            value = body.get("min", body.get("max", 10))
            return {"when": {"field": name, "op": op, "value": value}, "message": "rule"}
        if body["type"] == "enum":
            when = {"field": name, "op": "in", "value": body["options"][-1:]}
            return {"when": draw(st.sampled_from([when, {"not": when}])), "message": "r"}
    return None


LITERALS = {"string": "Follow-up", "text": "Note", "boolean": True, "email": "a@example.com",
            "phone": "+1 202 555 0100", "url": "https://example.com/", "user": "$me",
            "datetime": "$now"}


def _literal(body: dict, source: str) -> object:
    """A value a `create` action may write into a field of that shape (None: none)."""
    if body.get("unique") or body.get("required_if") or body.get("pattern") or \
            body.get("min_length"):
        return None
    kind = body["type"]
    if kind in ("link", "links"):
        return "$record" if kind == "link" and body["to"] == source else None
    if kind in ("enum", "multi_enum"):
        return body["options"][0] if kind == "enum" else body["options"][:1]
    if kind in NUMBERS:
        return body.get("min", body.get("max", 1))
    if kind == "date":
        return "$today" if "min" not in body else body["min"]
    return LITERALS.get(kind)


def _create(found: dict, source: str) -> list[dict]:
    """A `create` action making a record of another entity, when its required fields
    can be given plain values."""
    for name, entity in found.items():
        fields = entity["fields"]
        values = {n: _literal(b, source) for n, b in fields.items()
                  if b.get("required") or (b["type"] == "link" and b["to"] == source)}
        if name != source and values and None not in values.values():
            return [{"create": name, "values": values}]
    return []


def _set(fields: dict) -> dict:
    for name, body in fields.items():
        if body["type"] == "boolean" and not body.get("unique"):
            return {name: True}
        if body["type"] == "date" and not body.get("unique") and "min" not in body:
            return {name: "$today"}
    return {}


@st.composite
def workflows(draw, found: dict) -> dict:
    flows = {}
    for name, entity in found.items():
        if draw(st.integers(0, 3)) == 0:
            continue
        fields = entity["fields"]
        plain = [n for n, b in fields.items() if b["type"] != "formula"]
        keys = [f"s{i}" for i in range(draw(st.integers(2, 5)))]
        finals = set(keys[draw(st.integers(1, len(keys) - 1)):])
        stages = [{"key": key, **({"final": "done"} if key in finals else {})}
                  for key in keys]
        for stage in stages[1:]:
            stage["requires"] = draw(st.lists(st.sampled_from(plain), max_size=2,
                                              unique=True))
            rule = _rule(draw, fields) if draw(st.integers(0, 2)) else None
            if rule is not None:
                stage["rules"] = [rule]
        actions = ([{"set": _set(fields)}] if _set(fields) else []) + \
            (_create(found, name) if draw(st.booleans()) else [])
        on_enter = {keys[-1]: actions} if actions else {}
        flows[f"{name}_flow"] = {"entity": name, "field": "stage", "stages": stages,
                                 "on_enter": on_enter}
    return flows


@st.composite
def packs(draw) -> dict[str, str]:
    found = draw(entities())
    flows = draw(workflows(found))
    files = {"pack.json": {"name": "generated", "roles": {"sales": {"*": {"read": "all"}}}},
             **{f"entity_defs/{n}.json": body for n, body in found.items()},
             **{f"workflows/{n}.json": body for n, body in flows.items()}}
    return {name: json.dumps(body) for name, body in files.items()}


# ---------------------------------------------------------------------- the properties


@pytest.mark.parametrize("kind", DATABASES)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=packs())
def test_demo_fills_every_generated_pack_that_checks_clean(kind, files):
    result = run_demo(kind, files)
    assume(result is not None)
    assert result.exit_code == 0, (result.output, files)
    assert "Created 50 demo records" in result.output


@pytest.mark.parametrize("kind", DATABASES)
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(files=mutated_files())
def test_demo_never_raises_on_a_mangled_pack_that_checks_clean(kind, files):
    result = run_demo(kind, files, size=30)
    assume(result is not None)
    assert result.exit_code in (0, 3), (result.output, result.exception)
