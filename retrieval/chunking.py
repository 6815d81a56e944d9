"""Sentence splitting and chunking with exact character offsets into the article text.

Hand-written because answers quote sentences by offset in the original text, Arabic punctuation (؟ ؛ ،) must
count, and the sentence splitters on PyPI either lose offsets or do not know Arabic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .lang import detect_lang
from .models import Article, Chunk

_END = re.compile(r"[.!?؟…]+[\"'»”’)\]]*(?=\s)|\n")
_CLAUSE = re.compile(r"[؛;:]\s|[،,]\s")
_CLOSING = {'"': '"', "«": "»", "“": "”"}
_QUOTE_OPEN = re.compile(r"[:：]\s*([\"«“])")
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gen",
        "lt",
        "col",
        "sgt",
        "capt",
        "maj",
        "gov",
        "sen",
        "rep",
        "st",
        "jr",
        "sr",
        "inc",
        "co",
        "ltd",
        "corp",
        "no",
        "vs",
        "etc",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.n",
        "e.u",
        "a.m",
        "p.m",
    ]
)


def _is_abbreviation(text: str, dot: int) -> bool:
    start = dot
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start:dot].strip("\"'(«“").lower()
    return len(word) == 1 and word.isalpha() or word in _ABBREVIATIONS or word.rstrip(".") in _ABBREVIATIONS


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """Cut a run-on sentence at clause punctuation so no piece is much longer than `limit`."""
    while end - start > limit:
        window = text[start : start + limit]
        cuts = [m.end() for m in _CLAUSE.finditer(window) if m.end() > limit // 3]
        if not cuts:
            space = window.rfind(" ", limit // 3)
            cuts = [space + 1] if space > 0 else [limit]
        yield _trim(text, start, start + cuts[-1])
        start += cuts[-1]
    yield _trim(text, start, end)


def _quotations(text: str, limit: int) -> list[tuple[int, int]]:
    """(opening, closing) offsets of the quotations opened after a colon (`said: "…"`, `بأن:" …"`) and closed on
    the same paragraph within `limit` characters: the sentences quoted belong to the sentence that quotes them."""
    found = []
    for match in _QUOTE_OPEN.finditer(text):
        opening = match.end() - 1
        closing = text.find(_CLOSING[match.group(1)], opening + 1, opening + limit)
        if closing > 0 and "\n" not in text[opening:closing]:
            found.append((opening, closing))
    return found


def split_sentences(text: str, max_chars: int = 1200) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, in order, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    quoted = _quotations(text, max_chars)
    for match in _END.finditer(text):
        if match.group() != "\n" and match.group()[0] == "." and _is_abbreviation(text, match.start()):
            continue
        if any(opening < match.start() and match.end() <= closing for opening, closing in quoted):
            continue  # a full stop inside the quotation, not the one after it
        s, e = _trim(text, start, match.end())
        if e > s:
            spans.extend(_split_long(text, s, e, max_chars))
        start = match.end()
    s, e = _trim(text, start, len(text))
    if e > s:
        spans.extend(_split_long(text, s, e, max_chars))
    return [(s, e) for s, e in spans if e > s]


def chunk_article(article: Article, chunk_chars: int = 600) -> list[Chunk]:
    """Group whole sentences into chunks of about `chunk_chars` characters."""
    chunks: list[Chunk] = []
    text = article.text
    group: list[tuple[int, int]] = []

    def flush() -> None:
        if group:
            start, end = group[0][0], group[-1][1]
            body = text[start:end]
            chunks.append(
                Chunk(
                    id=f"{article.id}:{len(chunks)}",
                    article_id=article.id,
                    index=len(chunks),
                    text=body,
                    start=start,
                    end=end,
                    lang=detect_lang(body) or article.lang,
                    sentences=list(group),
                )
            )
            group.clear()

    for span in split_sentences(text, max_chars=max(chunk_chars * 2, 200)):
        if group and span[1] - group[0][0] > chunk_chars:
            flush()
        group.append(span)
    flush()
    return chunks
