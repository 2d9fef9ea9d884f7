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


def test_no_merge_conflict_markers_in_the_repository():
    """A merge left unresolved in a template renders its markers as text and passes every
    test that does not look at that spot: refuse them in every tracked text file."""
    import subprocess

    root = PACKAGE.parents[1]
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True,
                           check=True).stdout.split()
    found = []
    for name in files:
        path = root / name
        if path.suffix not in {".py", ".html", ".css", ".js", ".md", ".json", ".po", ".toml",
                               ".txt", ".sh", ".cfg", ".ini"} or name.endswith(".min.js"):
            continue
        if not path.exists():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======":
                found.append(f"{name}:{number}")
    assert found == []


def test_node_modules_is_never_tracked():
    """npm's packages are installed, not committed; a worktree's `node_modules` symlink to
    the main checkout's once got committed, and merging it replaced the installed folder."""
    import subprocess

    root = PACKAGE.parents[1]
    tracked = subprocess.run(["git", "ls-files", "node_modules", "node_modules/*"], cwd=root,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked == []
