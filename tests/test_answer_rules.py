"""The rules an answer keeps on a store where every sentence is about the war (tests/corpus_rules, wire-style copy).

A sentence answers only if it carries what is asked; one sentence by default, its neighbour only when it cannot be
read alone; figures of different events are never "different figures"; a refusal names the closest articles.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from pydantic import SecretStr

from bot.formatting import answer_html
from retrieval.answering import Answerer
from retrieval.ingest import ingest
from retrieval.llm import LLMClient

from .helpers import CORPUS, assert_grounded, ingested
from .servers import OpenAIChat, serving

RULES = CORPUS.parent / "corpus_rules"


@pytest.fixture(scope="module")
def rules_index(tmp_path_factory, embedder):
    with ingested(tmp_path_factory.mktemp("rules"), embedder, RULES) as index:
        yield index


@pytest.fixture
def answerer(rules_index):
    return Answerer(rules_index, use_llm=False)


def test_a_time_question_is_answered_by_the_one_sentence_that_gives_the_time(answerer, rules_index):
    answer = answerer.answer("At what time did the Karabakh ceasefire take effect?")
    assert answer.answered
    assert answer.text.splitlines() == [
        "According to TASS (10 Nov 2020) [1]: The ceasefire took effect at 00:00 Moscow time on November 10."
    ]
    assert [c.source for c in answer.citations] == ["TASS"]
    assert_grounded(answer, rules_index)


def test_a_when_question_gets_a_sentence_with_a_date(answerer, rules_index):
    answer = answerer.answer("متى وقّع شهرامانيان مرسوم حل مؤسسات قره باغ؟")
    assert answer.answered and len(answer.citations) == 1
    assert answer.text.startswith("بحسب الجزيرة (28 سبتمبر 2023) [1]: ")
    # The date is the dateline's: said in the attribution, left out of the quote (the article keeps it).
    assert answer.citations[0].quote.startswith("وقّع زعيم الانفصاليين")
    assert_grounded(answer, rules_index)


def test_a_when_question_is_not_answered_by_an_undated_sentence(answerer):
    evidence = answerer.evidence("When did Shahramanyan sign the decree dissolving Karabakh's institutions?")
    assert evidence.eligible, "the dated sentences remain candidates"
    undated = 'وينص المرسوم على أن "جمهورية ناغورني كاراباخ" ستتوقف عن الوجود بحلول ذلك التاريخ.'
    assert undated in [s.text for s in evidence.ranked] and undated not in [s.text for s in evidence.eligible]


def test_how_many_takes_the_number_of_the_asked_event_and_not_another_war(answerer, rules_index):
    answer = answerer.answer("How many Armenian soldiers were killed in the border fighting in September 2022?")
    assert answer.answered
    assert answer.citations[0].source == "AP" and "207" in answer.citations[0].quote
    assert "480" not in answer.text
    assert "Outlets give different figures" not in answer.text
    assert_grounded(answer, rules_index)


def test_figures_of_different_events_are_never_flagged_as_a_disagreement(answerer):
    answer = answerer.answer("How many soldiers were killed in the fighting between Armenia and Azerbaijan?")
    assert "Outlets give different figures" not in answer.text
    if answer.answered:
        assert len({c.published.year for c in answer.citations if c.published}) == 1, "one event's reports only"


def test_a_sentence_that_leans_on_the_one_before_is_quoted_with_it(answerer, rules_index):
    answer = answerer.answer("What did Putin say about exchanging prisoners and the bodies of the dead?")
    assert answer.answered and len(answer.citations) == 1
    quote = answer.citations[0].quote
    assert quote.startswith("Russian President Vladimir Putin said")
    assert quote.endswith("He added that the parties would exchange prisoners and the bodies of the dead.")
    assert len(answer.text.splitlines()) == 1
    assert_grounded(answer, rules_index)


@pytest.mark.parametrize(
    ("question", "lang", "opening"),
    [
        ("How many drones did Azerbaijan buy from Israel in 2016?", "en", "The articles I have do not give this"),
        ("كم عدد الطائرات المسيرة التي اشترتها أذربيجان من إسرائيل عام 2016؟", "ar", "لا تذكر المقالات"),
        ("At what time did the Armenian soldiers' deaths in 2022 get announced?", "en", "The articles I have do not"),
    ],
)
def test_an_on_topic_question_the_store_cannot_answer_is_refused_with_the_closest_articles(
    answerer, rules_index, question, lang, opening
):
    answer = answerer.answer(question)
    assert (answer.answered, answer.lang, answer.citations) == (False, lang, [])
    assert answer.text.startswith(opening)
    assert 1 <= len(answer.related) <= 3
    lines = answer.text.splitlines()
    for n, related in enumerate(answer.related, 1):
        stored = rules_index.store.get(related.article_id).article
        assert (related.n, related.title, related.quote) == (n, stored.title, "")
        assert any(line.startswith(f"[{n}] {stored.title} (") for line in lines)
    assert "related" in answer.to_json() and answer.to_json()["related"][0]["article_id"]


def test_the_bot_links_a_refusals_closest_articles():
    from retrieval.answers import Answer, Citation

    related = Citation(1, "a1", "https://example.org/a?x=1&y=2", "Title <b>", "Reuters", date(2023, 9, 21), "en", "")
    answer = Answer("q?", "en", "extractive", False, "None.\n[1] Title <b> (Reuters, 21 Sep 2023)", related=[related])
    markup = answer_html(answer)
    assert '<a href="https://example.org/a?x=1&amp;y=2">[1]</a> Title &lt;b&gt;' in markup


def test_an_llm_reply_whose_cited_sentence_lacks_the_asked_time_is_not_used(rules_index):
    question = "At what time did the Karabakh ceasefire take effect?"
    plain = Answerer(rules_index, use_llm=False)
    sources = plain.evidence(question).hits[:6]
    timeless = next(i for i, hit in enumerate(sources, 1) if not re.search(r"\d:\d\d", hit.text))
    OpenAIChat.script, OpenAIChat.seen = (
        [{"content": f"The ceasefire was agreed after six weeks of war [{timeless}]."}],
        [],
    )
    with serving(OpenAIChat) as base:
        settings = rules_index.settings.model_copy(
            update={"openai_base_url": f"{base}/v1", "openai_api_key": SecretStr("sk-test"), "llm_max_retries": 0}
        )
        answer = Answerer(rules_index, llm=LLMClient(settings)).answer(question)
    assert OpenAIChat.seen, "the model was asked"
    assert answer.mode == "extractive" and answer.notice
    assert "00:00 Moscow time" in answer.text


def _unrelated_pages(directory, n: int = 24) -> None:
    """Short pages on other subjects, in both languages: what a bigger store holds besides the war."""
    english = [
        "The club won its {n}th league title after a {a}-1 victory in the final match of the season.",
        "Forecasters expect {n} millimetres of rain across the northern valleys, with temperatures near {a} degrees.",
        "The recipe calls for {n} grams of flour and {a} eggs, baked for forty minutes.",
        "The company released version {a}.2 of its phone software, fixing {n} security flaws.",
    ]
    arabic = [
        "فاز النادي باللقب للمرة {n} بعد فوزه {a}-1 في المباراة الأخيرة من الموسم.",
        "يتوقع خبراء الأرصاد هطول {n} مليمترا من الأمطار على الوديان الشمالية.",
    ]
    for i in range(n):
        templates = arabic if i % 3 == 0 else english
        text = templates[i % len(templates)].format(n=100 + 7 * i, a=2 + i % 7)
        (directory / f"page_{i:02d}.txt").write_text(f"Page {i}\n\n{text}\n", "utf-8")


def test_the_decision_does_not_depend_on_unrelated_pages_in_the_store(answerer, rules_index, tmp_path):
    """Run last in this module: it adds pages to the module's store."""
    questions = [
        "At what time did the Karabakh ceasefire take effect?",
        "How many Armenian soldiers were killed in the border fighting in September 2022?",
        "What did Putin say about exchanging prisoners and the bodies of the dead?",
        "How many drones did Azerbaijan buy from Israel in 2016?",
        "ماذا قال علييف عن البيان الثلاثي؟",
        "Who mediated the ceasefire in September 2022?",
    ]
    before = [(a.answered, [c.article_id for c in a.citations]) for a in map(answerer.answer, questions)]
    _unrelated_pages(tmp_path)
    assert ingest(rules_index, [str(tmp_path)]).new == 24
    after = [(a.answered, [c.article_id for c in a.citations]) for a in map(answerer.answer, questions)]
    assert after == before
    assert any(answered for answered, _ in before) and not all(answered for answered, _ in before)
