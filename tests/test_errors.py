"""One exception tree: every error a user or an admin can act on is a BriefError, so callers catch what they mean and
`brief` turns any of them into its one-line message and exit code."""

from __future__ import annotations

import click
import pytest

from bot.app import BotApiUnreachableError
from bot.cli import CommandFailure
from bot.cli import main as brief
from bot.health import IndexUnreadableError
from bot.schedule import ScheduleError, parse_schedule
from retrieval.briefing import WindowError
from retrieval.errors import BriefError, LLMError, LLMUnavailableError, LLMUnusableError
from retrieval.ingest import IngestBusyError
from retrieval.llm import LLMUnusableError as LLMUnusableFromLLM
from retrieval.settings import SettingsError
from retrieval.sources import SourceError


@pytest.mark.parametrize(
    "error",
    [
        SourceError,
        IngestBusyError,
        LLMUnusableError,
        LLMUnavailableError,
        WindowError,
        ScheduleError,
        SettingsError,
        BotApiUnreachableError,
        IndexUnreadableError,
    ],
)
def test_every_product_error_is_a_brief_error(error):
    assert issubclass(error, BriefError)


def test_llm_errors_are_one_family_and_keep_their_old_homes():
    assert issubclass(LLMUnusableError, LLMError) and issubclass(LLMUnavailableError, LLMError)
    assert LLMUnusableFromLLM is LLMUnusableError
    assert not issubclass(IndexError, BriefError), "a bug in our code is not a product error"


def test_phrased_errors_speak_the_users_language():
    with pytest.raises(ScheduleError) as error:
        parse_schedule(["25:99"], "ar")
    assert error.value.text("ar") != error.value.text("en") == str(error.value)
    assert error.value.value == "25:99"


def test_the_cli_turns_any_brief_error_into_one_line_and_its_exit_code(capsys):
    @brief.command("fail-busy")
    def fail_busy() -> None:
        raise IngestBusyError("another ingest is still running\nsecond line")

    try:
        with pytest.raises(SystemExit) as ended:
            brief(["fail-busy"])
    finally:
        del brief.commands["fail-busy"]
    assert ended.value.code == 75
    assert capsys.readouterr().err.splitlines() == ["error: another ingest is still running", "error: second line"]
    assert issubclass(CommandFailure, click.ClickException)
