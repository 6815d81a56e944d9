"""Quotes shown in answers leave out the dateline: outlet and date are in the attribution, the article keeps it."""

from __future__ import annotations

import pytest

from retrieval.answering import Answerer

from .helpers import CORPUS, SEED_FILE, ingested

LACHIN = CORPUS / "en_reuters_lachin_checkpoint.txt"


@pytest.fixture(scope="module")
def answerer(tmp_path_factory, embedder):
    with ingested(tmp_path_factory.mktemp("quotes"), embedder, SEED_FILE, LACHIN) as index:
        yield Answerer(index, use_llm=False)


def test_an_english_quote_leaves_out_the_wire_dateline(answerer):
    answer = answerer.answer("What did Azerbaijan set up at the entrance to the Lachin corridor?")
    assert answer.answered
    [citation] = [c for c in answer.citations if c.source == "Reuters"]
    assert citation.quote.startswith("Azerbaijan said on Sunday it had set up a border checkpoint")
    assert "BAKU" not in answer.text and "(Reuters)" not in answer.text
    assert answer.text.startswith("According to Reuters (23 Apr 2023) [1]: Azerbaijan said on Sunday")
    article = answerer.index.store.get(citation.article_id).article
    assert article.text.startswith("BAKU, April 23, 2023 (Reuters) - Azerbaijan said")
    assert (article.source, article.published.isoformat()) == ("Reuters", "2023-04-23")


def test_an_arabic_quote_leaves_out_the_republishers_dateline(answerer):
    answer = answerer.answer("ماذا قال بيسكوف عن وساطة روسيا بين أرمينيا وأذربيجان؟")
    assert answer.answered
    seed = answer.citations[0]
    assert seed.source == "Sputnik" and seed.quote.startswith("أعلن المتحدث الرسمي باسم الرئاسة الروسية")
    assert "پاکستان" not in answer.text and "سبوتنيك -" not in answer.text
    assert answer.text.startswith("بحسب سبوتنيك (17 نوفمبر 2021) [1]: أعلن المتحدث")
    article = answerer.index.store.get(seed.article_id).article
    assert article.text.startswith("(پاکستان پوائنٹ نیوز / سبوتنيك - 17 نوفمبر 2021ء)")
    assert article.via == "Pakistan Point News"
