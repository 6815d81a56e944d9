"""mypy over retrieval/ and bot/, started in the background as soon as pytest knows tests/test_types.py will run.

A cold mypy run takes about 30 s of one core; most of the suite waits on servers and subprocesses, so checking types
alongside it costs the suite little. The check runs at low priority so it never slows a test that measures time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TYPES_TEST = "tests/test_types.py"
RUN = pytest.StashKey[subprocess.Popen]()


def start(config: pytest.Config) -> None:
    """Start mypy (config: pyproject.toml `[tool.mypy]`) once per session."""
    if RUN in config.stash:
        return
    config.stash[RUN] = subprocess.Popen(
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: os.nice(10),
    )


def result(config: pytest.Config, timeout: float = 300) -> tuple[int, str]:
    start(config)
    run = config.stash[RUN]
    output, _ = run.communicate(timeout=timeout)
    return run.returncode, output
