"""The console chat: the bot's own service and formatting, printed as plain text instead of sent to Telegram."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import click

from retrieval.answering import reply_language
from retrieval.answers import Answer

from .formatting import to_plain
from .service import ChatService, Reply


def run_console(
    service: ChatService,
    lang: str | None = None,
    lines: Iterable[str] | None = None,
    write: Callable[[str], None] = click.echo,
) -> None:
    """Read questions and commands; /quotes plays the part of Telegram's "Sources" button."""

    def show(reply: Reply) -> None:
        write(to_plain(reply.html))
        write("")

    show(service.text("chat_welcome", lang or "en"))
    previous: Answer | None = None
    for raw in lines if lines is not None else _prompted():
        text = " ".join(raw.split())
        ui = reply_language(text, lang)
        command, _, argument = text.partition(" ")
        if not text:
            continue
        if command in ("/quit", "/exit"):
            break
        if command == "/start":
            show(service.text("welcome", ui))
        elif command == "/about":
            show(service.text("about", ui))
        elif command == "/sources":
            show(service.overview(ui))
        elif command == "/quotes":
            show(service.quotes(previous) if previous else service.text("no_sources_yet", ui))
        elif command == "/lang":
            choice, reply = service.set_lang(argument, ui)
            lang = choice or lang
            show(reply)
        elif command.startswith("/"):
            show(service.text("chat_help", ui))
        elif (refusal := service.check(text, ui)) is not None:
            show(refusal)
        else:
            reply = service.answer(text, lang, previous)
            previous = reply.answer
            show(reply)


def _prompted() -> Iterable[str]:
    while True:
        try:
            yield input("> ")
        except EOFError:
            return
