"""Rules written once and used everywhere: the briefing window, the Chroma date key, citations of whole articles,
the language of a reply. Fast: no model, no index."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.formatting import HTML, answer_html, briefing_html, to_plain
from retrieval.answering import reply_language
from retrieval.answers import Answer, Citation
from retrieval.briefing import CATCH_UP_DAYS, Briefing, Story, parse_window, render, since_last
from retrieval.models import Article
from retrieval.render import PLAIN, render_text, source_line
from retrieval.vectors import date_key

TODAY = date(2026, 11, 29)


def test_since_last_briefing_at_most_a_week_back_else_yesterday():
    assert since_last(TODAY, None) == date(2026, 11, 28)
    assert since_last(TODAY, date(2026, 11, 26)) == date(2026, 11, 26)
    assert since_last(TODAY, date(2026, 9, 1)) == date(2026, 11, 22) == date(2026, 11, 29 - CATCH_UP_DAYS)
    # The subscription store gives aware datetimes; the bot and the CLI must agree on the day.
    assert since_last(TODAY, datetime(2026, 11, 27, 23, 59, tzinfo=UTC)) == date(2026, 11, 27)
    for last in (None, date(2026, 11, 26), date(2026, 9, 1)):
        assert parse_window(None, TODAY, last) == since_last(TODAY, last)


def test_date_key_is_the_one_encoding_of_dates_in_vector_metadata():
    assert date_key(date(2021, 11, 7)) == 20211107
    assert date_key(None) == 0
    assert date_key(date(2020, 12, 31)) < date_key(date(2021, 1, 1))


def test_a_citation_of_a_whole_article_needs_no_placeholder_passage():
    article = Article(
        "a1", "Talks in Baku", "BAKU, Nov 17 (Reuters) - Talks began.", "Reuters", url="https://x/1",
        published=date(2021, 11, 17), lang="en",
    )  # fmt: skip
    citation = Citation.from_article(3, article, article.text)
    day = date(2021, 11, 17)
    assert citation == Citation(3, "a1", "https://x/1", "Talks in Baku", "Reuters", day, "en", "Talks began.")
    assert Citation.from_article(1, Article("a2", "t", "x"), "q").published is None


def test_reply_language_one_rule_for_answers_and_fixed_replies():
    assert reply_language("What did Peskov say?") == "en"
    assert reply_language("ماذا قال بيسكوف؟") == "ar"
    assert reply_language("What did Peskov say?", "ar") == "ar"  # /lang or --lang wins
    assert reply_language("ماذا قال بيسكوف؟", "fr") == "ar"  # not a language we reply in: ignored
    assert reply_language("What did Peskov say?", None, "ar-EG") == "ar"  # an Arabic interface
    assert reply_language("ماذا قال؟", None, "en-US") == "ar"
    assert reply_language("", None, "de") == "en" and reply_language("   ") == "en"


def _story_briefing() -> Briefing:
    cited = [
        Citation(1, "a1", "https://x/1?a=1&b=2", "Talks <resumed> & ended", "Reuters", date(2021, 11, 17), "en", "q1"),
        Citation(2, "a2", "", "محادثات", "Sputnik", None, "ar", "q2"),
    ]
    new = Story("s1", "new", "Talks & more", ["According to Reuters [1]: talks."], cited[:1], ["a1"], ["a1"], ["R"])
    old = Story("s2", "developing", "Follow-up", ["Sputnik [2] said more."], cited[1:], ["a2"], ["a2"], ["S"], True)
    return Briefing("en", date(2021, 11, 16), date(2021, 11, 17), [new, old], notice="A notice.", follows_last=True)


def _unmarked(plain: str) -> list[str]:
    """Plain lines as the HTML shows them: no URL after a source, no colon after the "Sources" heading."""
    return [line.split(" — https://")[0].replace("Sources:", "Sources") for line in plain.splitlines()]


def test_terminal_and_telegram_render_one_briefing_and_one_answer_alike():
    """The plain and the HTML renderings are one renderer with two markups: same lines in the same order; only the
    marks differ (escaping, bold, the link on the title instead of the URL after it)."""
    briefing = _story_briefing()
    plain, markup = render(briefing, PLAIN), briefing_html(briefing)
    assert "<b>Talks &amp; more</b>" in markup and "Talks <resumed> & ended" in plain
    assert '<a href="https://x/1?a=1&amp;b=2">Talks &lt;resumed&gt; &amp; ended</a>' in markup
    assert "Talks <resumed> & ended — https://x/1?a=1&b=2" in plain
    assert _unmarked(plain) == to_plain(markup).splitlines()
    answer = Answer("q?", "en", "extractive", True, "Talks ended [1].", briefing.stories[0].citations, "Note.")
    assert _unmarked(render_text(answer)) == to_plain(answer_html(answer)).splitlines()
    assert source_line(answer.citations[0], "en", HTML) in answer_html(answer)
