"""Records that flow through the pipeline: source → Article → Chunk → Hit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


def _json_value(items: list[tuple[str, Any]]) -> dict:
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in items}


def json_record(record: Any) -> dict:
    """A dataclass as JSON-ready values: dates as ISO strings (the one date type in memory is `datetime.date`)."""
    return asdict(record, dict_factory=_json_value)


@dataclass
class Article:
    """One news article as parsed from a source; `text` is the original, display-ready body."""

    id: str
    title: str
    text: str
    source: str = ""  # outlet, e.g. "Sputnik"
    via: str = ""  # outlet that republished it, e.g. "Pakistan Point News"
    url: str = ""
    published: date | None = None
    lang: str = ""
    origin: str = ""  # the file path or URL it came from, for error reports


@dataclass
class Chunk:
    """A run of whole sentences of an article; offsets index into `Article.text`."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int
    lang: str
    sentences: list[tuple[int, int]] = field(default_factory=list)  # spans into Article.text


@dataclass
class Hit:
    """One retrieved chunk with the article facts a caller needs to cite it."""

    article_id: str
    chunk_id: str
    story_id: str
    url: str
    title: str
    source: str
    published: date | None
    lang: str
    text: str
    score: float
    context: float = 0.0  # similarity of the query to the hit's whole article (dense)
    start: int = 0
    end: int = 0
    also: list[str] = field(default_factory=list)  # other articles of the same story

    def to_json(self) -> dict:
        return json_record(self)
