"""The type checker is part of the suite (so of `.ci/run`): retrieval/ and bot/ type-check with no errors."""

import pytest

from .typecheck import result


def test_mypy_finds_no_errors(request: pytest.FixtureRequest):
    code, output = result(request.config)
    assert code == 0, output
    assert "Success: no issues found" in output, output
