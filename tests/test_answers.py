"""Cited answers, extractive (offline) and generated (an OpenAI-compatible server on 127.0.0.1)."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest
from pydantic import SecretStr

from retrieval import citations
from retrieval.answering import Answerer, check_question
from retrieval.llm import LLMClient, Prompts
from retrieval.phrases import phrase

from .helpers import CORPUS, SEEDS, assert_grounded, ingested
from .servers import OpenAIChat, serving

FIGURES = CORPUS.parent / "corpus_figures"


@pytest.fixture(scope="module")
def store_index(tmp_path_factory, embedder):
    with ingested(tmp_path_factory.mktemp("answers"), embedder, SEEDS, CORPUS, FIGURES) as index:
        yield index


@pytest.fixture
def answerer(store_index):
    return Answerer(store_index, use_llm=False)


def test_arabic_question_gets_an_arabic_answer_citing_the_seed(answerer, store_index):
    answer = answerer.answer("ماذا قال بيسكوف عن وساطة روسيا بين أرمينيا وأذربيجان؟")
    assert (answer.lang, answer.mode, answer.answered) == ("ar", "extractive", True)
    assert answer.text.startswith("بحسب سبوتنيك (17 نوفمبر 2021) [1]: ")
    assert "روسيا ستواصل التوسط" in answer.text
    seed = answer.citations[0]
    assert (seed.source, seed.published, seed.url, seed.lang) == ("Sputnik", date(2021, 11, 17), "", "ar")
    assert "مصدر باللغة" not in answer.text
    assert_grounded(answer, store_index)


def test_english_question_gets_an_english_answer_quoting_the_arabic_source_marked(answerer, store_index):
    answer = answerer.answer("What did Peskov say about Russia's mediation between Armenia and Azerbaijan?")
    assert (answer.lang, answer.answered) == ("en", True)
    first = answer.text.splitlines()[0]
    assert first.startswith("According to Sputnik (17 Nov 2021) [1]: ")
    assert "روسيا ستواصل التوسط" in first and first.endswith("(Arabic source)")
    assert_grounded(answer, store_index)


def test_answer_language_override_wins(answerer):
    answer = answerer.answer("What did Peskov say about Russia's mediation?", lang="ar")
    assert answer.lang == "ar" and answer.text.startswith("بحسب سبوتنيك")


@pytest.mark.parametrize(
    "question",
    ["What is the capital of Peru?", "Who won the 2018 FIFA World Cup final?", "ما هي عاصمة البيرو؟"],
)
def test_off_topic_question_is_not_answered(answerer, question):
    answer = answerer.answer(question)
    assert answer.answered is False and answer.citations == []
    assert answer.text.startswith(
        ("I could not find an answer to this in the articles I have.", "The articles I have do not say who")
    ) or answer.text.startswith("لم أجد إجابة عن هذا السؤال في المقالات المتوفرة لدي")


def test_conflicting_figures_are_both_shown_with_their_outlets(answerer, store_index):
    answer = answerer.answer("How many people were killed in Azerbaijan's September 2023 offensive in Karabakh?")
    assert answer.answered
    assert answer.text.startswith("Outlets give different figures:")
    assert "200 people were killed" in answer.text and "32 killed" in answer.text
    assert "According to Reuters" in answer.text and "According to TASS" in answer.text
    assert_grounded(answer, store_index)


def test_cross_lingual_answer_from_an_english_only_story(answerer, store_index):
    answer = answerer.answer("ما هو طريق ترامب للسلام والازدهار الدولي؟")
    assert answer.answered and answer.lang == "ar"
    assert any("Trump Route" in c.quote for c in answer.citations)
    assert "(مصدر باللغة الإنجليزية)" in answer.text
    assert_grounded(answer, store_index)


def test_answer_body_stays_short(answerer):
    answer = answerer.answer("What happened on the Armenia Azerbaijan border and in Karabakh?")
    body = "\n".join(line.split("]: ", 1)[-1] for line in answer.text.splitlines())
    assert len(body) < 1100


def test_extractive_follow_up_carries_the_previous_entities(answerer):
    first = answerer.answer("What did Peskov say about mediation?")
    assert "peskov" in first.entities
    follow = answerer.answer("and what did he say about the ceasefire agreements?", previous=first)
    assert "peskov" in follow.entities
    # The carried entity steers retrieval to the Peskov story; whether its sentences answer is the decision's call.
    assert follow.citations[:1] or follow.related
    lead = (follow.citations or follow.related)[0]
    assert lead.source == "Sputnik" and lead.published == date(2021, 11, 17)


def test_follow_up_naming_its_own_subject_is_answered_about_it(answerer, store_index):
    first = answerer.answer("What did Russia say about the peacekeepers?")
    assert "the Kremlin said" in first.text
    follow = answerer.answer("and what did Azerbaijan say?", previous=first)
    assert follow.answered and follow.text != first.text
    assert "Ilham Aliyev had said the peacekeeping mission was no longer needed" in follow.text
    assert {"azerbaijan", "russian_peacekeepers"} <= set(follow.entities), "its own subject, the previous topic"
    assert_grounded(follow, store_index)


@pytest.mark.parametrize(
    "follow_up",
    ["and what did Azerbaijan say?", "and what did he say?", "and what did Peskov say about mediation?"],
)
def test_a_follow_up_never_repeats_the_previous_answer(answerer, follow_up):
    first = answerer.answer("What did Peskov say about mediation?")
    follow = answerer.answer(follow_up, previous=first)
    assert follow.text != first.text
    assert not {c.quote for c in first.citations} & {c.quote for c in follow.citations}, "nothing quoted twice"


def test_console_chat_follow_up_finds_the_new_subject(store_index):
    from bot.console import run_console
    from bot.service import ChatService

    said: list[str] = []
    lines = ["What did Russia say about the peacekeepers?", "and what did Azerbaijan say?", "/quit"]
    run_console(ChatService(store_index, Answerer(store_index, use_llm=False)), lines=lines, write=said.append)
    first, follow = [s for s in said if s.startswith("According to")]
    assert follow != first and "Ilham Aliyev had said" in follow


def test_one_question_rule_for_every_entry_point(answerer, store_index):
    from bot.service import ChatService

    limit = store_index.settings.max_question_chars
    service = ChatService(store_index, answerer)
    too_long = "Where is the Lachin corridor? " * (limit // 10)
    for question, expected in (("", "Please ask a question."), (too_long, f"Please keep it under {limit}.")):
        answer = answerer.answer(question)
        assert answer.answered is False and answer.citations == [] and answer.text.endswith(expected)
        assert service.check(question, "en").html.endswith(expected)
        assert check_question(question, limit).text("en") == answer.text
    assert check_question("   ", limit).text("ar") == "من فضلك اكتب سؤالك."
    assert check_question("x" * limit, limit) is None


# -- LLM mode -------------------------------------------------------------------------------------------------------


@pytest.fixture
def llm_answerer(store_index, tmp_path):
    OpenAIChat.script, OpenAIChat.seen = [], []
    with serving(OpenAIChat) as base:
        settings = store_index.settings.model_copy(
            update={
                "openai_base_url": f"{base}/v1",
                "openai_api_key": SecretStr("sk-test"),
                "openai_timeout": 1.5,
                "llm_max_retries": 0,
                "llm_model": "test-chat",
            }
        )
        yield Answerer(store_index, llm=LLMClient(settings))


PESKOV_EN = "What did Peskov say about Russia's mediation between Armenia and Azerbaijan?"


def test_llm_answer_with_valid_citations(llm_answerer, store_index):
    OpenAIChat.script = [{"content": "Peskov said Russia will keep mediating between Armenia and Azerbaijan [1]."}]
    answer = llm_answerer.answer(PESKOV_EN)
    assert (answer.mode, answer.answered, answer.notice) == ("llm", True, "")
    assert answer.text == "Peskov said Russia will keep mediating between Armenia and Azerbaijan [1]."
    (citation,) = answer.citations
    assert citation.source == "Sputnik"
    assert "روسيا ستواصل التوسط" in citation.quote, "the quote is the Arabic sentence the claim rests on"
    assert_grounded(answer, store_index)
    request = OpenAIChat.seen[0]
    assert request["model"] == "test-chat" and request["temperature"] == 0


def test_llm_invalid_citations_removed_and_uncited_sentences_dropped(llm_answerer):
    OpenAIChat.script = [
        {
            "content": "Russia will keep mediating [2][9]. The war ended in 1994. "
            "Peskov spoke to journalists [1, 7]. Source [12] says otherwise [12]."
        }
    ]
    answer = llm_answerer.answer(PESKOV_EN)
    assert answer.mode == "llm" and answer.answered
    assert "1994" not in answer.text and "[9]" not in answer.text and "[12]" not in answer.text
    assert answer.text == "Russia will keep mediating [1]. Peskov spoke to journalists [2]."
    assert [c.n for c in answer.citations] == [1, 2]


def test_llm_no_answer_is_not_answered(llm_answerer):
    OpenAIChat.script = [{"content": "NO_ANSWER"}]
    answer = llm_answerer.answer("How many drones did Azerbaijan buy from Israel in 2016?")
    assert (answer.mode, answer.answered, answer.citations) == ("llm", False, [])


def test_llm_streaming_reports_partial_text(llm_answerer):
    text = "Peskov said Russia will keep mediating [1]. He urged all sides to honour their commitments [1]."
    OpenAIChat.script = [{"content": text}]
    partials: list[str] = []
    answer = llm_answerer.answer(PESKOV_EN, on_partial=partials.append)
    assert OpenAIChat.seen[0]["stream"] is True
    assert len(partials) > 3 and partials[-1] == text
    assert all(b.startswith(a) for a, b in zip(partials, partials[1:], strict=False))
    assert answer.text == text and answer.mode == "llm"


@pytest.mark.parametrize(
    "failure",
    [{"status": 429}, {"status": 500}, {"delay": 3, "content": "late [1]."}, {"garbage": True}],
    ids=["429", "500", "timeout", "garbage"],
)
def test_llm_failures_fall_back_to_extractive(llm_answerer, failure, store_index):
    OpenAIChat.script = [failure]
    answer = llm_answerer.answer(PESKOV_EN)
    assert answer.mode == "extractive" and answer.answered
    assert answer.notice == "The language model was unavailable, so this answer quotes the sources directly."
    assert answer.text.startswith("According to Sputnik")
    assert_grounded(answer, store_index)


def test_a_server_side_llm_failure_is_one_log_line_and_an_extractive_answer(llm_answerer, caplog):
    OpenAIChat.script = [{"status": 500}]
    with caplog.at_level(logging.WARNING):
        answer = llm_answerer.answer(PESKOV_EN)
    assert answer.mode == "extractive" and answer.answered and answer.notice == phrase("llm_fallback", "en")
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.exc_info is None, "the endpoint's failure is not our bug: no traceback"
    assert "Error code: 500 - scripted failure" in record.getMessage(), "why, from the server, in one line"


def test_a_bug_in_our_llm_path_logs_its_traceback_and_still_answers(llm_answerer, caplog, monkeypatch):
    """An IndexError in our own code is not "the language model was unavailable": the admin gets the traceback,
    the user an extractive answer that does not blame the model."""

    def broken(text: str, n_sources: int):
        raise IndexError("list index out of range")

    monkeypatch.setattr(citations, "check_citations", broken)
    OpenAIChat.script = [{"content": "Peskov said Russia will keep mediating [1]."}]
    with caplog.at_level(logging.WARNING):
        answer = llm_answerer.answer(PESKOV_EN)
    assert answer.mode == "extractive" and answer.answered
    assert answer.notice == phrase("llm_failed", "en") != phrase("llm_fallback", "en")
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.exc_info is not None and record.exc_info[0] is IndexError
    assert "Traceback" in caplog.text and "in broken" in caplog.text


def test_llm_output_without_any_valid_citation_falls_back(llm_answerer):
    OpenAIChat.script = [{"content": "The war is over and everyone is happy."}]
    answer = llm_answerer.answer(PESKOV_EN)
    assert answer.mode == "extractive" and answer.notice


def test_prompt_injection_inside_an_article_stays_fenced(llm_answerer, store_index):
    OpenAIChat.script = [{"content": "The delegations discussed delimitation [1]."}]
    answer = llm_answerer.answer("What did the border delimitation commissions discuss in Baku in October 2024?")
    assert answer.mode == "llm"
    messages = OpenAIChat.seen[0]["messages"]
    system = Prompts.load().system["en"]
    assert messages[0] == {"role": "system", "content": system}
    assert "Ignore previous instructions" not in messages[0]["content"]
    human = messages[1]["content"]
    start = human.index("Ignore previous instructions")
    assert human.rfind("<source ", 0, start) > human.rfind("</source>", 0, start), "the injection is inside a fence"
    assert "‹/source›" in human and '<source id="9">' not in human, "the article cannot close or open a fence"
    assert len(messages) == 2


def test_llm_follow_up_is_rewritten_by_the_model(llm_answerer):
    OpenAIChat.script = [
        {"content": "Peskov said Russia will keep mediating [1]."},
        {"content": "What did Dmitry Peskov say about the ceasefire agreements?"},
        {"content": "Peskov said the trilateral agreements must be implemented [1]."},
    ]
    first = llm_answerer.answer(PESKOV_EN)
    follow = llm_answerer.answer("and what about the ceasefire?", previous=first)
    assert "Previous question: " + PESKOV_EN in OpenAIChat.seen[1]["messages"][0]["content"]
    assert "What did Dmitry Peskov say about the ceasefire agreements?" in OpenAIChat.seen[2]["messages"][1]["content"]
    assert follow.answered and re.search("Peskov|بيسكوف", follow.citations[0].quote + follow.citations[0].title)


def test_empty_question_and_empty_store_get_a_plain_message(index):
    answerer = Answerer(index, use_llm=False)
    assert answerer.answer("   ").text == "Please ask a question."
    empty = answerer.answer("ماذا حدث في ممر لاتشين؟")
    assert (empty.answered, empty.lang, empty.text) == (False, "ar", "لم تتم إضافة أي مقالات بعد.")
