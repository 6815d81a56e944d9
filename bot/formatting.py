"""Answers as Telegram HTML: every piece of article or model text escaped, citations linked, long replies split."""

from __future__ import annotations

import html
import re

from retrieval.answers import Answer, Citation
from retrieval.briefing import citations_of, section_title
from retrieval.phrases import phrase, render_date, render_outlet

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


def source_line(citation: Citation, lang: str) -> str:
    outlet = esc(render_outlet(citation.source, lang))
    title = esc(citation.title) if citation.title else ""
    if citation.url and title:
        title = _link(citation.url, title)
    parts = [f"[{citation.n}] <b>{outlet}</b>", esc(render_date(citation.published, lang))]
    return " · ".join([*parts, title] if title else parts)


def answer_html(answer: Answer) -> str:
    blocks = [cite(answer.text, answer.citations or answer.related)]  # a refusal links its closest articles
    if answer.notice:
        blocks.append(f"<i>{esc(answer.notice)}</i>")
    if answer.citations:
        lines = [f"<b>{esc(phrase('sources', answer.lang))}</b>"]
        lines += [source_line(c, answer.lang) for c in answer.citations]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def quotes_html(answer: Answer) -> str:
    """The quoted source sentences behind each citation (the "Sources" button)."""
    blocks = []
    for citation in answer.citations:
        blocks.append(f"{source_line(citation, answer.lang)}\n<blockquote>{esc(citation.quote)}</blockquote>")
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
    pieces, current, open_tags = [], "", []
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
    return re.match(r"<\s*(\w+)", tag).group(1)


def briefing_html(briefing) -> str:
    """A briefing (retrieval.briefing.Briefing) as Telegram HTML, with its sources listed once at the end."""
    if not briefing.stories:
        return esc(briefing.text)
    ordered = citations_of(briefing)
    blocks = []
    for status in ("new", "developing"):
        stories = [s for s in briefing.stories if s.status == status]
        if stories:
            blocks.append(f"<b>{esc(section_title(briefing, status))}</b>")
        for story in stories:
            lines = [f"• <b>{esc(story.headline)}</b>"]
            if story.figures_differ:
                lines.append(esc(phrase("figures_differ", briefing.lang)))
            lines += [cite(line, ordered) for line in story.lines]
            blocks.append("\n".join(lines))
    if briefing.notice:
        blocks.append(f"<i>{esc(briefing.notice)}</i>")
    sources = [f"<b>{esc(phrase('sources', briefing.lang))}</b>", *(source_line(c, briefing.lang) for c in ordered)]
    return "\n\n".join([*blocks, "\n".join(sources)])
