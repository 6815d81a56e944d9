"""`brief`: the retrieval commands plus the bot's own, `run` (Telegram) and `chat` (the console)."""

from __future__ import annotations

import asyncio
import sys

import click

from retrieval.cli import CommandFailure, open_index
from retrieval.cli import main as commands
from retrieval.settings import Settings


def main() -> None:
    """The `brief` entry point. Settings are read inside each command; an invalid one (SettingsError, a BriefError)
    ends any command with one line per setting (name, value, what is allowed) and exit code 2, not a traceback."""
    commands()


@commands.command("chat")
@click.option("--lang", type=click.Choice(["ar", "en"]), help="Answer language (default: each question's own).")
def chat_command(lang: str | None) -> None:
    """The console chat: the bot's handlers on your terminal; /help lists the commands."""
    from .console import run_console
    from .service import ChatService

    run_console(ChatService(open_index()), lang)


@commands.command("run")
def run_command() -> None:
    """Start the Telegram bot (TELEGRAM_TOKEN; polling, or a webhook when WEBHOOK_URL is set)."""
    from .app import BotApiUnreachableError, check_bot_api, run
    from .logs import configure_logging, redact
    from .service import ChatService

    settings = Settings()
    if settings.telegram_token is None:
        raise CommandFailure(
            "TELEGRAM_TOKEN is not set: get a token from @BotFather (or try the bot locally with `brief chat`)"
        )
    secrets = [settings.telegram_token.get_secret_value()]
    secrets += [s.get_secret_value() for s in (settings.openai_api_key, settings.webhook_secret) if s]
    configure_logging(secrets)
    try:
        asyncio.run(check_bot_api(settings))  # before the slow part: a wrong address fails at once
    except BotApiUnreachableError as error:  # the address may carry the token: said redacted
        raise CommandFailure(redact(str(error), secrets)) from error
    service = ChatService(open_index())
    service.answerer  # noqa: B018 - load the model before the first question, not during it
    run(settings, service)
    sys.exit(0)


__all__ = ["main"]
