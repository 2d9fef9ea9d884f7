"""Rules of the engine's code that an import graph cannot show.

The layers themselves (cli > web > workflow/auth > store > meta > fields/config >
problems, no Flask below the web, no SQL in views or definitions, no circle in `meta`)
are import-linter contracts in pyproject.toml, checked by `make test` (`lint-imports`).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "platform" / "karte"


def test_no_eval_or_exec_in_the_engine():
    calls = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("eval", "exec"):
                calls.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert calls == []
