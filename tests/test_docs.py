"""Documentation that must not drift from the code (a test fails when it does)."""

from __future__ import annotations

import re
from pathlib import Path

from karte.meta import conditions, formulas
from karte.meta.validate import CODES

ROOT = Path(__file__).resolve().parents[1]


def codes_in(module) -> set[str]:
    return set(re.findall(r'"((?:COND|FORM)\d{3})"', Path(module.__file__).read_text()))


def test_every_problem_code_is_documented():
    documented = set(re.findall(r"\b((?:DEF|WF|COND|FORM)\d{3})\b",
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
        assert (ROOT / link).is_file(), link
