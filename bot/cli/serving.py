"""`brief run` and `brief chat`: the bot on Telegram, or the same handlers on the terminal."""

from __future__ import annotations

import asyncio
import sys

import click

from .terminal import CommandFailure


@click.command("chat")
@click.option("--lang", type=click.Choice(["ar", "en"]), help="Answer language (default: each question's own).")
def chat_command(lang: str | None) -> None:
    """The console chat: the bot's handlers on your terminal; /help lists the commands."""
    from retrieval.index import Index

    from ..console import run_console
    from ..service import ChatService

    service = ChatService(Index())
    service.answerer  # noqa: B018 - LLM mode's prompts are read here: a missing one ends the chat before its welcome
    run_console(service, lang)


@click.command("run")
def run_command() -> None:
    """Start the Telegram bot (TELEGRAM_TOKEN; polling, or a webhook when WEBHOOK_URL is set)."""
    from retrieval.index import Index
    from retrieval.settings import Settings

    from ..app import BotApiUnreachableError, check_bot_api, run
    from ..logs import configure_logging, redact
    from ..service import ChatService

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
    service = ChatService(Index())
    service.answerer  # noqa: B018 - load the model before the first question, not during it
    run(settings, service)
    sys.exit(0)
