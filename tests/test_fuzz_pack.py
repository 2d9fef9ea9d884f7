"""Whatever a consultant's editor leaves in the files, checking never raises.

Starting from a valid pack that uses every feature, hypothesis deletes keys, swaps values
for JSON values of other types, renames things, swaps names for other names of the pack,
removes, copies and truncates files; `check_pack` must always answer with problems or a
Registry, never a traceback.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from karte.meta.load import check_pack
from karte.problems import Problem

CASE = json.loads((Path(__file__).parent / "defs" / "valid" / "everything.json")
                  .read_text(encoding="utf-8"))
FILES: dict[str, object] = {
    "pack.json": CASE["pack"],
    **{f"entity_defs/{name}.json": body for name, body in CASE["entities"].items()},
    **{f"workflows/{name}.json": body for name, body in CASE["workflows"].items()},
    **{f"dashboards/{name}.json": body for name, body in CASE["dashboards"].items()},
}
FOLDERS = ("entity_defs", "workflows", "dashboards")


def _strings(value: object) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set(value).union(*(_strings(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value))
    return set()


NAMES = sorted(_strings(FILES) | {"$record", "$owner", "$me", "$now", "*", "id", "karte_x",
                                  "extends", "remove", "deal__products"})
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
           | st.text(max_size=8) | st.sampled_from(NAMES))
FILE_STEMS = [name for name in NAMES if "/" not in name] + ["Bad name", ""]
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=5), inner, max_size=3),
    max_leaves=8)


def _paths(value: object, path: tuple = ()) -> list[tuple]:
    found = [path]
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list) else ())
    for key, child in items:
        found += _paths(child, (*path, key))
    return found


def _parent(doc: object, path: tuple) -> object:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def _delete(doc, path, data):
    if path:
        del _parent(doc, path)[path[-1]]
    return doc


def _replace(doc, path, data):
    value = data.draw(JSON_VALUES | st.sampled_from(NAMES))
    if not path:
        return value
    _parent(doc, path)[path[-1]] = value
    return doc


def _rename(doc, path, data):
    parent = _parent(doc, path) if path else None
    if isinstance(parent, dict):
        new = data.draw(st.sampled_from(NAMES) | st.text(max_size=6))
        parent[new] = parent.pop(path[-1])
    return doc


MUTATIONS = (_delete, _replace, _rename)


@st.composite
def mutated_files(draw) -> dict[str, str]:
    files = json.loads(json.dumps(FILES))
    data = draw(st.data())
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(sorted(files)))
        path = draw(st.sampled_from(_paths(files[name])))
        files[name] = draw(st.sampled_from(MUTATIONS))(files[name], path, data)
    texts = {name: json.dumps(doc, ensure_ascii=False) for name, doc in files.items()}
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(sorted(texts)))
        action = draw(st.sampled_from(("truncate", "drop", "copy")))
        if action == "truncate":
            texts[name] = texts[name][:draw(st.integers(0, len(texts[name])))]
        elif action == "drop" and name != "pack.json":
            del texts[name]
        elif action == "copy" and name != "pack.json":
            folder = name.split("/")[0]
            texts[f"{folder}/{draw(st.sampled_from(FILE_STEMS))}.json"] = texts[name]
    return texts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_files())
def test_checking_a_mangled_pack_never_raises(files):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for sub in FOLDERS:
            (root / sub).mkdir()
        for name, text in files.items():
            (root / name).write_text(text, encoding="utf-8")
        pack, problems = check_pack(root)
    assert (pack is None) == bool(problems)
    assert all(isinstance(p, Problem) and ": " in p.where and p.message for p in problems)


def test_the_fuzzed_pack_is_valid_before_mutation(tmp_path):
    for name, doc in FILES.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(json.dumps(doc), encoding="utf-8")
    assert check_pack(tmp_path)[1] == []
