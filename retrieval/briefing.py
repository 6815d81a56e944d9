"""Briefings: the stories of a time window, grouped, ranked and summarised with citations, Telegram-free.

A story is a group of articles about one event: wire copies (same near-duplicate story id) and articles in either
language whose own vectors are close and whose dates are near. Stories are ranked by how many distinct outlets
carry them, how recent they are and how many languages report them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np

from .answers import AnswerMode, Citation
from .chunking import split_sentences
from .citations import check_citations
from .datelines import parse_dateline
from .errors import LLMUnusableError, PhrasedError
from .figures import figures, figures_disagree
from .glossary import default_glossary
from .index import Index
from .llm import NO_ANSWER, LLMClient, fallback_notice
from .models import Article, json_record
from .phrases import attributed, phrase, render_date, render_span
from .render import PLAIN, Markup, sources_block

SAME_EVENT = {True: 0.9, False: 0.82}  # article-vector similarity for one event, same / different language …
EVENT_DAYS = 2  # … when published at most this many days apart …
SHARED_ENTITIES = 2  # … and naming at least this many of the same glossary entities (beyond the two countries)
_EVERYWHERE = {"armenia", "azerbaijan"}
MAX_STORIES = 8
LINES_PER_STORY = 2
LLM_ARTICLES = 4
LLM_ARTICLE_CHARS = 1500
MAX_WINDOW_DAYS = 3660  # about ten years: a longer window is a typo, not a briefing
CATCH_UP_DAYS = 7  # a briefing "since the last one" reaches back at most this far
_RELATIVE = re.compile(r"^([+-]?\d+)\s*([hd])$")
StoryStatus = Literal["new", "developing"]  # first reported in this window, or a story an earlier briefing carried


@dataclass
class Story:
    story_id: str
    status: StoryStatus
    headline: str
    lines: list[str]
    citations: list[Citation]
    article_ids: list[str]
    new_article_ids: list[str]
    outlets: list[str]
    figures_differ: bool = False


@dataclass
class Briefing:
    lang: str
    since: date
    until: date
    stories: list[Story] = field(default_factory=list)
    text: str = ""
    mode: AnswerMode = "extractive"  # "llm" when a model wrote the story summaries
    notice: str = ""
    follows_last: bool = False  # composed against an earlier briefing's articles (a subscription's next one)

    @property
    def article_ids(self) -> list[str]:
        return [a for s in self.stories for a in s.new_article_ids]

    def to_json(self) -> dict:
        return json_record(self)


def group_events(index: Index, articles: list[Article], story_of: dict[str, str]) -> list[list[Article]]:
    """Near-duplicate stories first, then stories joined when their articles' vectors and dates are close."""
    by_story: dict[str, list[Article]] = {}
    for article in articles:
        by_story.setdefault(story_of[article.id], []).append(article)
    groups = list(by_story.values())
    vectors = index.vectors.article_vectors([a.id for a in articles])
    parent = list(range(len(groups)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            if root(i) != root(j) and _close(groups[i], groups[j], vectors):
                parent[root(j)] = root(i)
    merged: dict[int, list[Article]] = {}
    for i, group in enumerate(groups):
        merged.setdefault(root(i), []).extend(group)
    return list(merged.values())


def _day(article: Article) -> date:
    """A briefing's articles are the dated ones of its window (`ArticleStore.articles_between`)."""
    assert article.published is not None, article.id
    return article.published


def _close(a: list[Article], b: list[Article], vectors: dict[str, np.ndarray]) -> bool:
    for x in a:
        for y in b:
            if x.id not in vectors or y.id not in vectors or abs((_day(x) - _day(y)).days) > EVENT_DAYS:
                continue
            if float(vectors[x.id] @ vectors[y.id]) < SAME_EVENT[x.lang == y.lang]:
                continue
            if len((_entities(x) & _entities(y)) - _EVERYWHERE) >= SHARED_ENTITIES:
                return True
    return False


def _entities(article: Article) -> set[str]:
    return {e.id for e in default_glossary().find(f"{article.title}\n{article.text}") if e.type != "outlet"}


def lead(article: Article) -> tuple[int, int]:
    """The first sentence of the body: in wire copy it says what happened, by whom, when. A dateline written as a
    sentence of its own ("YEREVAN, AUGUST 11, ARMENPRESS.") is not it."""
    spans = split_sentences(article.text)
    body = parse_dateline(article.text).end
    return next((span for span in spans if span[1] > body), spans[0] if spans else (0, len(article.text)))


def compose_briefing(
    index: Index,
    since: date,
    until: date,
    lang: str,
    already_sent: set[str] | None = None,
    llm: LLMClient | None = None,
) -> Briefing:
    """The briefing for [since, until]; articles in `already_sent` count as known: a story with nothing new is
    left out, a known story with new articles is "developing"."""
    already_sent = already_sent or set()
    briefing = Briefing(lang, since, until, follows_last=bool(already_sent))
    articles = index.store.published_between(since, until)
    story_of = index.store.story_ids([a.id for a in articles])
    events = group_events(index, articles, story_of)
    known_stories = set(index.store.story_ids(already_sent).values())
    ranked = sorted(events, key=lambda group: -_rank(group, until))
    numbers: dict[str, int] = {}
    citations: dict[str, Citation] = {}
    for group in ranked:
        fresh = [a for a in group if a.id not in already_sent]
        if not fresh:
            continue
        story_ids = {story_of[a.id] for a in group}
        developing = bool(story_ids & known_stories) or len(fresh) < len(group)
        status = "developing" if developing else "new"
        story = _story(story_of[group[0].id], group, fresh, status, lang, numbers, citations)
        if llm is not None and not briefing.notice:
            try:
                _summarize(llm, story, fresh, lang, numbers)
                briefing.mode = "llm"
            except Exception as error:  # noqa: BLE001 - logged by kind (a bug with its traceback); the quotes stay
                briefing.notice = phrase(fallback_notice(error, "the briefing summary"), lang)
                briefing.mode = "extractive"
        briefing.stories.append(story)
        if len(briefing.stories) >= MAX_STORIES:
            break
    briefing.text = render(briefing)
    return briefing


def _summarize(llm: LLMClient, story: Story, fresh: list[Article], lang: str, numbers: dict[str, int]) -> None:
    """Replace a story's quoted lines by a generated summary whose every sentence cites one of its articles."""
    cited_articles = [a for a in fresh if a.id in numbers][:LLM_ARTICLES]
    raw = llm.summarize(lang, [replace(a, text=a.text[:LLM_ARTICLE_CHARS]) for a in cited_articles])
    checked = check_citations(raw, len(cited_articles))
    if not checked.sentences:
        raise LLMUnusableError("no sentence with a valid citation" if NO_ANSWER not in raw else "no summary")
    global_of = {i + 1: numbers[cited_articles[original - 1].id] for i, original in enumerate(checked.order)}
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{global_of[int(m.group(1))]}]", checked.text)
    story.lines = [text]
    story.citations = [c for c in story.citations if c.n in set(global_of.values())]


def _rank(group: list[Article], until: date) -> float:
    outlets = {a.source for a in group}
    langs = {a.lang for a in group}
    age = min((until - _day(a)).days for a in group)
    return 2.0 * len(outlets) + len(langs) + 1.0 / (1 + max(age, 0))


def _story(story_id, group, fresh, status, lang, numbers, citations) -> Story:
    # Newest articles first among the fresh ones; one per outlet, so each line adds a voice.
    ordered = sorted(fresh, key=lambda a: (a.published, a.lang == lang), reverse=True)
    chosen: list[Article] = []
    for article in ordered:
        if article.source not in {c.source for c in chosen}:
            chosen.append(article)
        if len(chosen) >= LINES_PER_STORY:
            break
    headline_article = next((a for a in chosen if a.lang == lang), chosen[0])
    headline = headline_article.title
    if headline_article.lang != lang:
        headline = f"{headline} {phrase('other_language_source', lang)}"
    lines, story_citations, quotes = [], [], []
    for article in chosen:
        start, end = lead(article)
        quote = article.text[start:end]
        quotes.append(quote)
        if article.id not in numbers:
            numbers[article.id] = len(numbers) + 1
            citations[article.id] = Citation.from_article(numbers[article.id], article, quote)
        story_citations.append(citations[article.id])
        lines.append(attributed(quote, article.lang, article.source, article.published, numbers[article.id], lang))
    differ = len(quotes) > 1 and figures_disagree(figures(quotes[0]), figures(quotes[1]))
    return Story(
        story_id=story_id,
        status=status,
        headline=headline,
        lines=lines,
        citations=story_citations,
        article_ids=[a.id for a in group],
        new_article_ids=[a.id for a in fresh],
        outlets=sorted({a.source for a in group}),
        figures_differ=differ,
    )


def section_title(briefing: Briefing, status: StoryStatus) -> str:
    """ "New since your last briefing" only after an earlier one; a one-off briefing is headed by its window."""
    if status == "developing":
        return phrase("briefing_developing", briefing.lang)
    if briefing.follows_last:
        return phrase("briefing_new", briefing.lang)
    window = render_span(briefing.since, briefing.until, briefing.lang)
    return phrase("briefing_window", briefing.lang, window=window)


def citations_of(briefing: Briefing) -> list[Citation]:
    """Every article the briefing cites, once, in the order of its numbers."""
    citations = {c.n: c for story in briefing.stories for c in story.citations}
    return [citations[n] for n in sorted(citations)]


def render(briefing: Briefing, markup: Markup = PLAIN) -> str:
    """The stories under "new" and "developing", then the numbered sources they cite (outlet, date, title, link):
    plain text by default, Telegram HTML with the bot's markup."""
    lang = briefing.lang
    if not briefing.stories:
        since, until = render_date(briefing.since, lang), render_date(briefing.until, lang)
        return markup.esc(phrase("no_news", lang, since=since, until=until))
    ordered = citations_of(briefing)
    blocks = []
    for status in ("new", "developing"):
        stories = [s for s in briefing.stories if s.status == status]
        if not stories:
            continue
        blocks.append(markup.bold(markup.esc(section_title(briefing, status))))
        for story in stories:
            lines = [f"• {markup.bold(markup.esc(story.headline))}"]
            if story.figures_differ:
                lines.append(markup.esc(phrase("figures_differ", lang)))
            lines += [markup.cite(line, ordered) for line in story.lines]
            blocks.append("\n".join(lines))
    if briefing.notice:
        blocks.append(markup.italic(markup.esc(briefing.notice)))
    blocks.append(sources_block(ordered, lang, markup))
    return "\n\n".join(blocks)


class WindowError(PhrasedError, ValueError):
    """A briefing window that cannot be read or makes no sense; `text(lang)` says why in one line."""


def since_last(today: date, last_sent: date | None) -> date:
    """The first day of the next briefing: the day of the last one, at most CATCH_UP_DAYS back; without an earlier
    briefing, yesterday. The one rule for `/briefing`, scheduled deliveries and `parse_window`'s default."""
    if isinstance(last_sent, datetime):
        last_sent = last_sent.date()
    if last_sent is None:
        return _days_before(today, 1)
    return max(last_sent, _days_before(today, CATCH_UP_DAYS))


def _days_before(today: date, days: int) -> date:
    """`today - days`, cut at the first date there is (`--until 0001-01-01` is a window, not an OverflowError)."""
    return today - timedelta(days=min(days, (today - date.min).days))


def parse_window(value: str | None, today: date, last_sent: date | None = None) -> date:
    """The first day of a window ending on `today`: "24h", "7d", a date, or by default since the last briefing (see
    `since_last`). Raises WindowError for a malformed, zero, negative, too long or reversed window."""
    if value is None:
        return since_last(today, last_sent)
    text = value.strip().lower()
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        if amount <= 0:
            raise WindowError("window_not_positive", value=value)
        days = max(1, amount // 24) if unit == "h" else amount
        if days > MAX_WINDOW_DAYS:
            raise WindowError("window_too_long", value=value, limit=MAX_WINDOW_DAYS)
        return _days_before(today, days)
    try:
        since = date.fromisoformat(text)
    except ValueError:
        raise WindowError("window_malformed", value=value) from None
    if since > today:
        raise WindowError("window_reversed", since=since, until=today)
    if (today - since).days > MAX_WINDOW_DAYS:
        raise WindowError("window_too_long", value=value, limit=MAX_WINDOW_DAYS)
    return since
