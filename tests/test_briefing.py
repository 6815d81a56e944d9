"""Briefings composed from the store (the Telegram-free part of daily briefings)."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.briefing import compose_briefing, parse_window
from retrieval.index import Index
from retrieval.ingest import ingest
from retrieval.settings import Settings

from .conftest import CORPUS, SEEDS

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
    assert april.text.startswith("جديد منذ موجزك الأخير")


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


def test_window_parsing():
    today = date(2026, 11, 29)
    assert parse_window("24h", today) == date(2026, 11, 28)
    assert parse_window("7d", today) == date(2026, 11, 22)
    assert parse_window("2025-01-01", today) == date(2025, 1, 1)
    assert parse_window(None, today, last_sent=date(2026, 11, 27)) == date(2026, 11, 27)
    assert parse_window(None, today, last_sent=date(2026, 1, 1)) == date(2026, 11, 22), "at most 7 days back"
    with pytest.raises(ValueError):
        parse_window("last week", today)


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


def test_llm_briefing_failure_keeps_the_quoted_lines(briefing_index, chat_server):
    base, server = chat_server
    server.script = [{"status": 500}]
    briefing = compose_briefing(briefing_index, *SEPTEMBER_2023, "en", llm=llm_for(briefing_index, base))
    assert briefing.mode == "extractive"
    assert briefing.notice == "The language model was unavailable, so this answer quotes the sources directly."
    assert all(line.startswith(("According to", "Outlets")) for s in briefing.stories for line in s.lines)
    assert briefing.text.endswith(briefing.notice)
