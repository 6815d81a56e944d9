"""The answer record shared by the CLI, the console chat and the bot."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .models import Hit


@dataclass
class Citation:
    n: int
    article_id: str
    url: str
    title: str
    source: str
    published: str | None
    lang: str
    quote: str  # the exact source sentence(s) the claim rests on

    @classmethod
    def of(cls, n: int, hit: Hit, quote: str) -> Citation:
        return cls(n, hit.article_id, hit.url, hit.title, hit.source, hit.published, hit.lang, quote)


@dataclass
class Answer:
    question: str
    lang: str
    mode: str  # "extractive" | "llm"
    answered: bool
    text: str
    citations: list[Citation] = field(default_factory=list)
    notice: str = ""  # one short line, e.g. that the LLM was unavailable
    entities: list[str] = field(default_factory=list)  # glossary ids the exchange was about, for follow-ups
    related: list[Citation] = field(default_factory=list)  # a refusal's closest articles: not evidence, no quotes

    def to_json(self) -> dict:
        return asdict(self)
