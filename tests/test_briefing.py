"""Briefings composed from the store (the Telegram-free part of daily briefings)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest

from bot.formatting import briefing_html
from retrieval import briefing as briefing_module
from retrieval.briefing import WindowError, compose_briefing, parse_window, since_last
from retrieval.index import Index
from retrieval.ingest import ingest
from retrieval.models import Article
from retrieval.phrases import phrase
from retrieval.render import source_line
from retrieval.settings import Settings

from .helpers import CORPUS, SEEDS

FIGURES = CORPUS.parent / "corpus_figures"
SEPTEMBER_2023 = (date(2023, 9, 1), date(2023, 9, 30))


@pytest.fixture
def briefing_index(tmp_path, embedder):
    index = Index(Settings(_env_file=None, brief_data_dir=tmp_path / "data", chroma_host=None), embedder=embedder)
    assert ingest(index, [str(SEEDS), str(CORPUS), str(FIGURES)]).failed == 0
    yield index
    index.close()


def test_one_event_from_two_outlets_is_one_story_citing_both(briefing_index):
    briefing = compose_briefing(briefing_index, *SEPTEMBER_2023, "en")
    offensive = next(s for s in briefing.stories if "Reuters" in s.outlets)
    assert offensive.outlets == ["Reuters", "TASS"]
    assert {c.source for c in offensive.citations} == {"Reuters", "TASS"}
    assert offensive.figures_differ, "200 killed (Reuters) against 32 killed (TASS)"
    assert briefing.stories[0] is offensive, "two outlets outrank one"
    assert "Outlets give different figures:" in briefing.text
    assert all(line.startswith("According to ") for line in offensive.lines)
    for citation in offensive.citations:
        assert citation.quote in briefing_index.store.get(citation.article_id).article.text


def test_wire_copies_collapse_and_languages_are_marked(briefing_index):
    april = compose_briefing(briefing_index, date(2024, 4, 1), date(2024, 4, 30), "ar")
    (story,) = april.stories
    assert len(story.article_ids) == 2, "the two copies of the Reuters story are one story"
    assert "(مصدر باللغة الإنجليزية)" in story.lines[0]
    assert april.text.startswith("موجز: 1–30 أبريل 2024\n"), "a one-off briefing is headed by its window"
    assert april.text.endswith("\n\nالمصادر:\n" + "\n".join(source_line(c, "ar") for c in story.citations))
    assert briefing_html(april).startswith("<b>موجز: 1–30 أبريل 2024</b>"), "the bot says the same"
    after = compose_briefing(briefing_index, *SEPTEMBER_2023, "ar", already_sent=set(april.article_ids))
    assert after.text.startswith("جديد منذ موجزك الأخير\n"), "only a briefing after an earlier one says so"
    assert briefing_html(after).startswith("<b>جديد منذ موجزك الأخير</b>")


def test_second_briefing_shows_only_what_is_new(briefing_index, tmp_path):
    first = compose_briefing(briefing_index, *SEPTEMBER_2023, "en")
    sent = set(first.article_ids)
    again = compose_briefing(briefing_index, *SEPTEMBER_2023, "en", already_sent=sent)
    assert (
        again.stories == [] and again.text == "No new articles about the conflict between 1 Sep 2023 and 30 Sep 2023."
    )

    update = tmp_path / "update.txt"
    update.write_text(
        "Death toll in Karabakh offensive rises\n\nYEREVAN, Sept 22, 2023 (AFP) - The number of people killed in "
        "Azerbaijan's military operation in Nagorno-Karabakh rose to 213, the region's ombudsman said on Friday, "
        "as the separatist authorities began handing over their weapons.",
        "utf-8",
    )
    assert ingest(briefing_index, [str(update)]).new == 1
    third = compose_briefing(briefing_index, *SEPTEMBER_2023, "en", already_sent=sent)
    (story,) = third.stories
    assert story.status == "developing" and story.outlets == ["AFP", "Reuters", "TASS"]
    assert [c.source for c in story.citations] == ["AFP"], "only the new article is cited"
    assert third.text.startswith("Developing")
    assert third.text.endswith("\n\nSources:\n[1] AFP · 22 Sep 2023 · Death toll in Karabakh offensive rises")


def test_window_parsing():
    today = date(2026, 11, 29)
    assert parse_window("24h", today) == date(2026, 11, 28)
    assert parse_window("7d", today) == date(2026, 11, 22)
    assert parse_window("2025-01-01", today) == date(2025, 1, 1)
    assert parse_window(None, today, last_sent=date(2026, 11, 27)) == date(2026, 11, 27)
    assert parse_window(None, today, last_sent=date(2026, 1, 1)) == date(2026, 11, 22), "at most 7 days back"
    assert parse_window("12h", today) == date(2026, 11, 28), "a window is whole days"
    assert parse_window("3660d", today) == today - timedelta(days=3660)


def test_a_window_reaching_before_year_one_starts_on_its_first_day():
    """`brief briefing --until 0001-01-01` raised OverflowError (issue 9); a window is cut at the first date."""
    assert parse_window(None, date.min) == date.min
    assert parse_window("1d", date.min) == date.min
    assert parse_window("7d", date(1, 1, 3)) == date.min
    assert since_last(date.min, None) == date.min


@pytest.mark.parametrize(
    ("value", "key", "arabic"),
    [
        ("last week", "window_malformed", "«last week» ليست فترة صحيحة: استخدم 24h أو 7d أو تاريخًا (YYYY-MM-DD)."),
        ("2026-13-01", "window_malformed", "«2026-13-01» ليست فترة صحيحة: استخدم 24h أو 7d أو تاريخًا (YYYY-MM-DD)."),
        ("-7d", "window_not_positive", None),
        ("0d", "window_not_positive", None),
        ("0h", "window_not_positive", None),
        ("9999999d", "window_too_long", "الفترة «9999999d» طويلة جدًا: 3660 يومًا على الأكثر."),
        ("99999999999h", "window_too_long", None),
        ("3661d", "window_too_long", None),
        ("1900-01-01", "window_too_long", None),
        ("2026-11-30", "window_reversed", "تبدأ الفترة في 30 نوفمبر 2026، بعد يومها الأخير 29 نوفمبر 2026."),
    ],
)
def test_bad_windows_say_why_in_the_readers_language(value, key, arabic):
    with pytest.raises(WindowError) as error:
        parse_window(value, date(2026, 11, 29))
    assert error.value.key == key and "\n" not in error.value.text("en")
    assert isinstance(error.value, ValueError), "callers catching ValueError (the bot's /summary) still do"
    if arabic:
        assert error.value.text("ar") == arabic


@pytest.fixture
def chat_server():
    from .servers import OpenAIChat, serving

    OpenAIChat.script, OpenAIChat.seen = [], []
    with serving(OpenAIChat) as base:
        yield base, OpenAIChat


def llm_for(index, base):
    from pydantic import SecretStr

    from retrieval.llm import LLMClient

    return LLMClient(
        index.settings.model_copy(
            update={
                "openai_base_url": f"{base}/v1",
                "openai_api_key": SecretStr("sk-test"),
                "llm_max_retries": 0,
                "openai_timeout": 2.0,
            }
        )
    )


def test_llm_briefing_summaries_are_validated(briefing_index, chat_server):
    base, server = chat_server
    server.script = [
        {
            "content": "At least 200 people were killed, according to the ombudsman [1], while officials told TASS "
            "of 32 dead [2]. The war is over [7]."
        },
        {"content": "More than 100,000 people fled Karabakh [1]."},
    ]
    briefing = compose_briefing(briefing_index, *SEPTEMBER_2023, "en", llm=llm_for(briefing_index, base))
    assert briefing.mode == "llm" and briefing.notice == ""
    offensive = next(s for s in briefing.stories if "Reuters" in s.outlets)
    (line,) = offensive.lines
    assert "The war is over" not in line, "a sentence citing no given source is dropped"
    numbers = {c.source: c.n for c in offensive.citations}
    assert set(numbers) == {"Reuters", "TASS"}
    assert f"[{numbers['Reuters']}]" in line and f"[{numbers['TASS']}]" in line
    assert "<source" in server.seen[0]["messages"][1]["content"]


def test_llm_briefing_failures_are_told_apart_in_the_log(briefing_index, chat_server, caplog, monkeypatch):
    """A failing endpoint is one warning line; a bug of ours (here our citation checker raising) is logged with its
    traceback. Both keep the quoted lines."""
    base, server = chat_server
    server.script = [{"status": 500}]
    llm = llm_for(briefing_index, base)
    with caplog.at_level(logging.WARNING):
        briefing = compose_briefing(briefing_index, *SEPTEMBER_2023, "en", llm=llm)
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.exc_info is None and "500" in record.getMessage() and briefing.mode == "extractive"
    caplog.clear()

    def broken(text: str, n_sources: int):
        raise IndexError("list index out of range")

    monkeypatch.setattr(briefing_module, "check_citations", broken)
    server.script = [{"content": "The offensive began [1]."}]
    with caplog.at_level(logging.WARNING):
        briefing = compose_briefing(briefing_index, *SEPTEMBER_2023, "en", llm=llm)
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.exc_info is not None and record.exc_info[0] is IndexError
    assert briefing.mode == "extractive" and briefing.notice == phrase("llm_failed", "en")
    assert all(line.startswith(("According to", "Outlets")) for s in briefing.stories for line in s.lines)


def test_llm_briefing_failure_keeps_the_quoted_lines(briefing_index, chat_server):
    base, server = chat_server
    server.script = [{"status": 500}]
    briefing = compose_briefing(briefing_index, *SEPTEMBER_2023, "en", llm=llm_for(briefing_index, base))
    assert briefing.mode == "extractive"
    assert briefing.notice == "The language model was unavailable, so this answer quotes the sources directly."
    assert all(line.startswith(("According to", "Outlets")) for s in briefing.stories for line in s.lines)
    assert f"\n\n{briefing.notice}\n\nSources:\n[1] " in briefing.text, (
        "the notice, then the sources (as the bot shows)"
    )


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("YEREVAN, AUGUST 11, ARMENPRESS. Armenia and Azerbaijan signed the text. Talks go on.", "Armenia and"),
        ("MOSCOW, Nov 17 (Reuters) - Russia will keep mediating. It said more.", "MOSCOW, Nov 17"),
        ("Russia will keep mediating. It said more.", "Russia will"),
    ],
)
def test_a_storys_lead_is_the_first_sentence_that_says_something(text, first):
    """A dateline that is a sentence of its own is not what a briefing quotes (the one inside the first sentence is
    stripped when the line is written)."""
    start, end = briefing_module.lead(Article("a", "t", text))
    assert text[start:end].startswith(first)
