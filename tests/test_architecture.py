"""The dependency direction of DESIGN.md: meta ← store ← workflow ← web/api."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "platform" / "karte"
FORBIDDEN = {
    "meta": ("karte.store", "karte.workflow", "karte.web", "karte.api", "karte.auth",
             "karte.cli", "flask", "karte.demo"),
    "store": ("karte.workflow", "karte.web", "karte.api", "karte.auth", "karte.cli", "flask"),
    "workflow": ("karte.web", "karte.api", "karte.cli", "flask"),
    "web": ("sqlalchemy",),  # views call the services; they never build SQL (DESIGN rule 5)
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_one_way(layer):
    offenders = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in imported_modules(path):
            if name.startswith(FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def test_no_eval_or_exec_in_the_engine():
    calls = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("eval", "exec"):
                calls.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert calls == []
