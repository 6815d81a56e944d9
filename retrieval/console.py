"""The console chat: questions, follow-ups and a few commands, answered from the local store."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import click

from .answering import Answerer, answer_language
from .answers import Answer
from .phrases import phrase
from .render import render_text, source_line

MAX_QUESTION = 1000


def run_console(
    answerer: Answerer,
    lang: str | None = None,
    lines: Iterable[str] | None = None,
    write: Callable[[str], None] = click.echo,
) -> None:
    interactive = lines is None
    if interactive:
        write(phrase("chat_welcome", lang or "en"))
    previous: Answer | None = None
    for raw in lines if lines is not None else _prompted():
        text = " ".join(raw.split())
        ui_lang = answer_language(text, lang)
        if not text:
            continue
        if text in ("/quit", "/exit"):
            break
        if text == "/help":
            write(phrase("chat_help", ui_lang))
        elif text.startswith("/lang"):
            choice = text.split()[1] if len(text.split()) > 1 else ""
            if choice in ("ar", "en"):
                lang = choice
                write(phrase("lang_set", choice))
            else:
                write(phrase("lang_usage", ui_lang))
        elif text == "/sources":
            write(_sources(previous, ui_lang))
        elif text.startswith("/"):
            write(phrase("chat_help", ui_lang))
        elif len(text) > MAX_QUESTION:
            write(phrase("question_too_long", ui_lang, length=len(text), limit=MAX_QUESTION))
        else:
            previous = answerer.answer(text, lang=lang, previous=previous)
            write(render_text(previous))
        write("")


def _sources(answer: Answer | None, lang: str) -> str:
    if answer is None or not answer.citations:
        return phrase("no_sources_yet", lang)
    lines = []
    for citation in answer.citations:
        lines += [source_line(citation, answer.lang), f"    «{citation.quote}»"]
    return "\n".join(lines)


def _prompted() -> Iterable[str]:
    while True:
        try:
            yield input("> ")
        except EOFError:
            return
