"""Where shared code lives: test modules never import one another (shared pieces are in helpers.py, bot_harness.py,
servers.py or conftest.py), and nothing outside tests/ imports from it (bench/ uses the fakes/ package)."""

from __future__ import annotations

import ast
from pathlib import Path

from .helpers import ROOT


def imported_modules(path: Path) -> list[str]:
    """Every module `path` imports, absolute, with a relative import written as `.name` (`..name` …)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names += [base] if node.module else [f"{base}{alias.name}" for alias in node.names]
    return names


def imports_a_test_module(name: str) -> bool:
    return name.lstrip(".").removeprefix("tests.").startswith("test_")


def test_test_modules_do_not_import_one_another():
    offenders = {
        path.name: found
        for path in sorted((ROOT / "tests").glob("*.py"))
        if (found := [n for n in imported_modules(path) if imports_a_test_module(n)])
    }
    assert offenders == {}


def test_nothing_outside_tests_imports_from_it():
    offenders = {
        str(path.relative_to(ROOT)): found
        for folder in ("bench", "fakes", "retrieval", "bot")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if ".work" not in path.parts  # benchmarks' scratch: old revisions exported to compare with
        and (found := [n for n in imported_modules(path) if n == "tests" or n.startswith("tests.")])
    }
    assert offenders == {}


def test_the_checks_see_the_imports_they_look_for(tmp_path):
    """The two checks above would pass on a parser that found nothing: they find the forms they forbid."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from .test_bot import Bot\nfrom . import test_feeds\nimport tests.test_bot\nfrom tests.fake import F\n"
        "from .helpers import ROOT\n",
        "utf-8",
    )
    names = imported_modules(sample)
    assert [n for n in names if imports_a_test_module(n)] == [".test_bot", ".test_feeds", "tests.test_bot"]
    assert "tests.fake" in names and ".helpers" in names
