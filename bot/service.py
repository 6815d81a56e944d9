"""What the bot says, free of Telegram: the Telegram handlers and the console chat both go through it."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from retrieval.answering import Answerer, check_question
from retrieval.answers import Answer
from retrieval.index import Index
from retrieval.phrases import phrase, render_date, render_outlet

from .formatting import answer_html, esc, quotes_html


class Action(StrEnum):
    """What a button under an answer does: its callback data (well under Telegram's 64 bytes)."""

    SOURCES = "src"
    UPVOTE = "fb:+"
    DOWNVOTE = "fb:-"

    @classmethod
    def of(cls, data: str | None) -> Action | None:
        """The action a button's callback data names; None for data this bot did not make."""
        try:
            return cls(data or "")
        except ValueError:
            return None


@dataclass
class Button:
    text: str
    data: Action


@dataclass
class Reply:
    html: str
    buttons: list[list[Button]] = field(default_factory=list)
    answer: Answer | None = None


class RateLimiter:
    """At most `limit` questions per user in any 60 seconds (a sliding window)."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self.seen: dict[int, deque[float]] = {}

    def allow(self, user_id: int) -> bool:
        now = self.clock()
        times = self.seen.setdefault(user_id, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


class ChatService:
    def __init__(self, index: Index, answerer: Answerer | None = None):
        self.index = index
        self.settings = index.settings
        self._answerer = answerer
        self.rate = RateLimiter(self.settings.questions_per_minute)
        self.summaries = RateLimiter(2, window=600)  # /summary, per chat

    @property
    def answerer(self) -> Answerer:
        if self._answerer is None:
            self._answerer = Answerer(self.index)
        return self._answerer

    # -- fixed replies -------------------------------------------------------------------------------------------
    def text(self, key: str, lang: str, **values: object) -> Reply:
        return Reply(esc(phrase(key, lang, **values)))

    def set_lang(self, argument: str, lang: str) -> tuple[str | None, Reply]:
        choice = argument.strip().lower()
        if choice in ("ar", "en"):
            return choice, self.text("lang_set", choice)
        return None, self.text("lang_usage", lang)

    def overview(self, lang: str) -> Reply:
        """/sources: what the store holds, by language and outlet, its date range and the latest five articles."""
        stats = self.index.store.stats()
        if not stats["articles"]:
            return self.text("store_empty", lang)
        first, last = (render_date(date.fromisoformat(d), lang) for d in stats["date_range"])
        lines = [
            esc(
                phrase(
                    "store_overview", lang, articles=stats["articles"], stories=stats["stories"], first=first, last=last
                )
            )
        ]
        by_lang = stats["by_lang"]
        lines += [
            "",
            f"<b>{esc(phrase('by_language', lang))}</b>",
            esc(phrase("language_names", lang, ar=by_lang.get("ar", 0), en=by_lang.get("en", 0))),
        ]
        lines += ["", f"<b>{esc(phrase('by_outlet', lang))}</b>"]
        lines += [f"{esc(render_outlet(name, lang))}: {count}" for name, count in list(stats["by_source"].items())[:15]]
        lines += ["", f"<b>{esc(phrase('latest', lang))}</b>"]
        for article in self.index.store.latest(5):
            title = esc(article.title or article.id)
            if article.url:
                title = f'<a href="{esc(article.url).replace(chr(34), "&quot;")}">{title}</a>'
            lines.append(
                f"{esc(render_outlet(article.source, lang))} · {esc(render_date(article.published, lang))} · {title}"
            )
        return Reply("\n".join(lines))

    # -- questions -----------------------------------------------------------------------------------------------
    def check(self, question: str, lang: str, user_id: int | None = None) -> Reply | None:
        """A polite refusal for an empty or overlong question or a user over the rate; None when it may be asked."""
        refusal = check_question(question, self.settings.max_question_chars)
        if refusal is not None:
            return Reply(esc(refusal.text(lang)))
        if user_id is not None and not self.rate.allow(user_id):
            return self.text("rate_limited", lang)
        return None

    def answer(
        self,
        question: str,
        lang: str | None = None,
        previous: Answer | None = None,
        on_partial: Callable[[str], None] | None = None,
    ) -> Reply:
        """Blocking (model and index work): Telegram handlers run it in a worker thread."""
        answer = self.answerer.answer(question, lang=lang, previous=previous, on_partial=on_partial)
        return self.answer_reply(answer)

    def answer_reply(self, answer: Answer) -> Reply:
        buttons = []
        if answer.citations:
            buttons = [
                [Button(phrase("sources", answer.lang), Action.SOURCES)],
                [Button("👍", Action.UPVOTE), Button("👎", Action.DOWNVOTE)],
            ]
        return Reply(answer_html(answer), buttons, answer)

    @staticmethod
    def quotes(answer: Answer) -> Reply:
        return Reply(quotes_html(answer))
