"""The type checker is part of the suite (so of `.ci/run`): retrieval/, bot/ and fakes/ type-check with no errors.

About 25 s of one core; the suite's other worker goes on meanwhile (pyproject: `-n 2 --dist loadfile`)."""

import os
import subprocess
import sys

from .helpers import ROOT


def test_mypy_finds_no_errors():
    run = subprocess.run(
        [sys.executable, "-m", "mypy"],  # config: pyproject.toml [tool.mypy]
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=lambda: os.nice(5),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Success: no issues found" in run.stdout, run.stdout
