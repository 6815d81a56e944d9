"""`brief`: the retrieval commands plus the bot's own, `run` (Telegram) and `chat` (the console)."""

from __future__ import annotations

import sys

import click

from retrieval.cli import INDEX_ERRORS, _fail, _open_index, main
from retrieval.settings import Settings


@main.command("chat")
@click.option("--lang", type=click.Choice(["ar", "en"]), help="Answer language (default: each question's own).")
def chat_command(lang: str | None) -> None:
    """The console chat: the bot's handlers on your terminal; /help lists the commands."""
    from .console import run_console
    from .service import ChatService

    try:
        run_console(ChatService(_open_index()), lang)
    except INDEX_ERRORS as exc:
        _fail(str(exc))


@main.command("run")
def run_command() -> None:
    """Start the Telegram bot (TELEGRAM_TOKEN; polling, or a webhook when WEBHOOK_URL is set)."""
    from .app import run
    from .logs import configure_logging
    from .service import ChatService

    settings = Settings()
    if settings.telegram_token is None:
        _fail("TELEGRAM_TOKEN is not set: get a token from @BotFather (or try the bot locally with `brief chat`)")
    secrets = [settings.telegram_token.get_secret_value()]
    secrets += [s.get_secret_value() for s in (settings.openai_api_key, settings.webhook_secret) if s]
    configure_logging(secrets)
    try:
        index = _open_index()
        service = ChatService(index)
        service.answerer  # noqa: B018 - load the model before the first question, not during it
    except INDEX_ERRORS as exc:
        _fail(str(exc))
    run(settings, service)
    sys.exit(0)


__all__ = ["main"]
