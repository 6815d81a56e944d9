"""Plain-text rendering of an answer for the terminal (the bot renders the same record as Telegram HTML)."""

from __future__ import annotations

from .answers import Answer
from .phrases import phrase, render_date, render_outlet


def source_line(citation, lang: str) -> str:
    parts = [f"[{citation.n}] {render_outlet(citation.source, lang)}", render_date(citation.published, lang)]
    if citation.title:
        parts.append(citation.title)
    line = " · ".join(parts)
    return f"{line} — {citation.url}" if citation.url else line


def render_text(answer: Answer) -> str:
    lines = [answer.text]
    if answer.notice:
        lines += ["", answer.notice]
    if answer.citations:
        lines += ["", phrase("sources", answer.lang) + ":"]
        for citation in answer.citations:
            lines.append(source_line(citation, answer.lang))
    return "\n".join(lines)
