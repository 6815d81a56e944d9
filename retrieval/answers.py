"""The answer record shared by the CLI, the console chat and the bot."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Literal

from .datelines import strip_dateline
from .models import Article, Hit, json_record

AnswerMode = Literal["extractive", "llm"]  # who wrote the text: the retrieved sentences, or a language model


@dataclass
class Citation:
    n: int
    article_id: str
    url: str
    title: str
    source: str
    published: date | None
    lang: str
    quote: str  # the exact source sentence(s) the claim rests on, without the dateline opening the article

    @classmethod
    def of(cls, n: int, hit: Hit, quote: str) -> Citation:
        """The dateline ("YEREVAN, Nov 17 (Reuters) -") is left out of the quote: outlet and date are cited apart."""
        return cls(n, hit.article_id, hit.url, hit.title, hit.source, hit.published, hit.lang, unquoted_dateline(quote))

    @classmethod
    def from_json(cls, data: dict) -> Citation:
        values = _known(cls, data)
        published = values.get("published")
        values["published"] = date.fromisoformat(published) if isinstance(published, str) else published
        return cls(**values)

    @classmethod
    def from_article(cls, n: int, article: Article, quote: str) -> Citation:
        """A citation of a whole article (a briefing's story), not of a retrieved passage."""
        quote = unquoted_dateline(quote)
        return cls(n, article.id, article.url, article.title, article.source, article.published, article.lang, quote)


def unquoted_dateline(quote: str) -> str:
    """A quote without the dateline it opens with; a quote that is nothing but a dateline stays as it is."""
    return strip_dateline(quote) or quote


@dataclass
class Answer:
    question: str
    lang: str
    mode: AnswerMode
    answered: bool
    text: str
    citations: list[Citation] = field(default_factory=list)
    notice: str = ""  # one short line, e.g. that the LLM was unavailable
    entities: list[str] = field(default_factory=list)  # glossary ids the exchange was about, for follow-ups
    related: list[Citation] = field(default_factory=list)  # a refusal's closest articles: not evidence, no quotes

    def to_json(self) -> dict:
        return json_record(self)

    @classmethod
    def from_json(cls, data: dict) -> Answer:
        """The inverse of `to_json`; keys this release does not know (written by a newer one) are ignored."""
        values = _known(cls, data)
        for name in ("citations", "related"):
            values[name] = [Citation.from_json(c) for c in values.get(name, [])]
        return cls(**values)


def _known(record: type, data: dict) -> dict:
    names = {f.name for f in fields(record)}
    return {key: value for key, value in data.items() if key in names}
