"""Rendering of answers and source lists, written once: what is said and in what order.

The terminal gets plain text (`PLAIN`); the bot passes its Telegram HTML markup (`bot.formatting.HTML`), which
overrides only the marks that differ (escaping, bold, links)."""

from __future__ import annotations

from collections.abc import Sequence

from .answers import Answer, Citation
from .phrases import phrase, render_date, render_outlet


class Markup:
    """Plain text: no escaping, no emphasis, a source's link written out after it."""

    def esc(self, text: str) -> str:
        return text

    def bold(self, text: str) -> str:
        return text

    def italic(self, text: str) -> str:
        return text

    def label(self, text: str) -> str:
        """The heading of a list ("Sources:")."""
        return f"{text}:"

    def cite(self, text: str, citations: Sequence[Citation]) -> str:
        """Answer or summary text with its [n] markers."""
        return text

    def title(self, citation: Citation) -> str:
        return citation.title

    def link_after(self, citation: Citation) -> str:
        """What follows a source line: its URL in plain text (HTML links the title instead)."""
        return f" — {citation.url}" if citation.url else ""


PLAIN = Markup()


def source_line(citation: Citation, lang: str, markup: Markup = PLAIN) -> str:
    """ "[1] Sputnik · 17 Nov 2021 · title — url": outlet, date, title and link of one cited article."""
    outlet = markup.bold(markup.esc(render_outlet(citation.source, lang)))
    parts = [f"[{citation.n}] {outlet}", markup.esc(render_date(citation.published, lang))]
    if citation.title:
        parts.append(markup.title(citation))
    return " · ".join(parts) + markup.link_after(citation)


def sources_block(citations: Sequence[Citation], lang: str, markup: Markup = PLAIN) -> str:
    return "\n".join([markup.label(phrase("sources", lang)), *(source_line(c, lang, markup) for c in citations)])


def render_answer(answer: Answer, markup: Markup = PLAIN) -> str:
    """The answer, its notice, then its numbered sources; a refusal links its closest articles."""
    blocks = [markup.cite(answer.text, answer.citations or answer.related)]
    if answer.notice:
        blocks.append(markup.italic(markup.esc(answer.notice)))
    if answer.citations:
        blocks.append(sources_block(answer.citations, answer.lang, markup))
    return "\n\n".join(blocks)


def render_text(answer: Answer) -> str:
    return render_answer(answer, PLAIN)
