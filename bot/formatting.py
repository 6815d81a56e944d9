"""Answers as Telegram HTML: every piece of article or model text escaped, citations linked, long replies split."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from retrieval.answers import Answer, Citation
from retrieval.briefing import Briefing, render
from retrieval.phrases import phrase
from retrieval.render import Markup, render_answer, source_line

LIMIT = 4096
_TAG = re.compile(r"(<[^>]+>)")


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def _link(url: str, label: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{label}</a>'


def cite(text: str, citations: list[Citation]) -> str:
    """Escape answer text and turn each [n] into a link to its article when it has a URL."""
    urls = {c.n: c.url for c in citations if c.url}
    return re.sub(
        r"\[(\d+)\]",
        lambda m: _link(urls[int(m.group(1))], m.group()) if int(m.group(1)) in urls else m.group(),
        esc(text),
    )


class TelegramHtml(Markup):
    """Telegram HTML: article and model text escaped, outlets and headings bold, titles and [n] linked."""

    def esc(self, text: str) -> str:
        return esc(text)

    def bold(self, text: str) -> str:
        return f"<b>{text}</b>"

    def italic(self, text: str) -> str:
        return f"<i>{text}</i>"

    def label(self, text: str) -> str:
        return self.bold(esc(text))

    def cite(self, text: str, citations: Sequence[Citation]) -> str:
        return cite(text, list(citations))

    def title(self, citation: Citation) -> str:
        return _link(citation.url, esc(citation.title)) if citation.url else esc(citation.title)

    def link_after(self, citation: Citation) -> str:
        return ""


HTML = TelegramHtml()


def answer_html(answer: Answer) -> str:
    return render_answer(answer, HTML)


def quotes_html(answer: Answer) -> str:
    """The quoted source sentences behind each citation (the "Sources" button)."""
    blocks = []
    for citation in answer.citations:
        blocks.append(f"{source_line(citation, answer.lang, HTML)}\n<blockquote>{esc(citation.quote)}</blockquote>")
    return "\n\n".join(blocks) or esc(phrase("no_sources_yet", answer.lang))


def to_plain(markup: str) -> str:
    """The same message without markup: the fallback when Telegram rejects the HTML, and the console view."""
    text = re.sub(r"<blockquote>(.*?)</blockquote>", r"    «\1»", markup, flags=re.S)
    return html.unescape(_TAG.sub("", text))


def split_html(markup: str, limit: int = LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut between paragraphs, else lines, else words; tags never broken."""
    if len(markup) <= limit:
        return [markup]
    pieces: list[str] = []
    current = ""
    for paragraph in re.split(r"(?<=\n\n)", markup):
        if len(current) + len(paragraph) <= limit:
            current += paragraph
            continue
        if current:
            pieces.append(current.rstrip())
            current = ""
        if len(paragraph) <= limit:
            current = paragraph
        else:
            parts = _split_long(paragraph, limit)
            pieces.extend(p.rstrip() for p in parts[:-1])
            current = parts[-1]
    if current.strip():
        pieces.append(current.rstrip())
    return [p for p in pieces if p.strip()]


def _split_long(markup: str, limit: int) -> list[str]:
    """Cut at spaces or newlines outside tags, closing open tags at each cut and reopening them after it."""
    pieces: list[str] = []
    current, open_tags = "", list[str]()
    for token in _TAG.split(markup):
        if not token:
            continue
        words = [token] if token.startswith("<") else re.split(r"(?<=[ \n])", token)
        for word in words:
            closing = "".join(f"</{_tag_name(t)}>" for t in reversed(open_tags))
            if len(current) + len(word) + len(closing) > limit and current:
                pieces.append(current + closing)
                current = "".join(open_tags)
            while len(current) + len(word) + len(closing) > limit:  # a single overlong word
                room = max(1, limit - len(current) - len(closing))
                pieces.append(current + word[:room] + closing)
                current, word = "".join(open_tags), word[room:]
            current += word
            if word.startswith("</"):
                open_tags.pop()
            elif word.startswith("<") and not word.endswith("/>"):
                open_tags.append(word)
    pieces.append(current)
    return pieces


def _tag_name(tag: str) -> str:
    match = re.match(r"<\s*(\w+)", tag)
    return match.group(1) if match else tag.strip("<>/ ")


def briefing_html(briefing: Briefing) -> str:
    """A briefing as Telegram HTML, with its sources listed once at the end."""
    return render(briefing, HTML)
