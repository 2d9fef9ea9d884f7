"""Documentation that must not drift from the code (a test fails when it does)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from karte.meta import conditions, formulas
from karte.meta.validate import CODES

ROOT = Path(__file__).resolve().parents[1]


def codes_in(module) -> set[str]:
    """The codes a module uses; for a package, every module in its folder."""
    path = Path(module.__file__)
    files = path.parent.glob("*.py") if path.name == "__init__.py" else [path]
    return {code for file in files
            for code in re.findall(r'"((?:COND|FORM)\d{3})"', file.read_text())}


def test_every_problem_code_is_documented():
    documented = set(re.findall(r"\b((?:DEF|WF|DSH|COND|FORM)\d{3})\b",
                                (ROOT / "docs" / "problems.md").read_text(encoding="utf-8")))
    used = set(CODES) | codes_in(conditions) | codes_in(formulas)
    assert used - documented == set()


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_docs_linked_from_the_readme_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for link in re.findall(r"\]\((docs/[^)]+)\)", readme):
        assert (ROOT / link.partition("#")[0]).is_file(), link


# -- the pack format is documented, and the docs stand alone ------------------------------

SCHEMAS = ROOT / "platform" / "karte" / "schemas"
MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
MENTIONED_MD = re.compile(r"(?<![\w./-])((?:\.{1,2}/)*[\w-]+(?:/[\w.-]+)*\.md)\b")


def schema_keys(node) -> set[str]:
    """Every key of every "properties" object in a JSON Schema, nested ones included."""
    keys: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            keys |= set(node["properties"])
        for value in node.values():
            keys |= schema_keys(value)
    elif isinstance(node, list):
        for item in node:
            keys |= schema_keys(item)
    return keys


def prose(text: str) -> str:
    """The markdown without code blocks and code spans: what a reader follows as links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", FENCE.sub("", path.read_text(
            encoding="utf-8")), re.M):
        base = slug(heading)
        name, n = base, 0
        while name in found:
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def inside_repo(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


def test_every_schema_key_is_in_the_pack_format_guide():
    guide = (ROOT / "docs" / "pack-format.md").read_text(encoding="utf-8")
    keys = set()
    for name in ("entity", "workflow", "pack", "dashboard"):
        keys |= schema_keys(json.loads((SCHEMAS / f"{name}.schema.json").read_text()))
    assert {"fields", "stages", "roles", "on_delete", "renamed_from"} <= keys   # the walk works
    assert sorted(k for k in keys if f"`{k}`" not in guide) == []


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.name)
def test_markdown_points_only_inside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    bad = [f"mentions {word}" for word in re.findall(r"shared/SPEC|\bSPEC\b", text)]
    body = prose(text)
    for target in LINK.findall(body) + REFERENCE.findall(body):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):       # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file) if file else path
        if not inside_repo(linked) or not linked.exists():
            bad.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            bad.append(target)
    for name in MENTIONED_MD.findall(body):
        if not any(inside_repo(base / name) and (base / name).is_file()
                   for base in (path.parent, ROOT)):
            bad.append(name)
    assert bad == []
