"""Extractive answers: the retrieved sentences that answer the question, each attributed and cited.

No generative model ships offline (FACTS.md), so the default answer quotes the sources. Sentences are scored by
the embedding model (sentence vectors stored at ingest), coverage of the question's terms, entities (through the
bilingual glossary, so an English question matches an Arabic sentence) and numbers; chosen with MMR so wire copies
and restatements do not crowd out the rest; and the decision to answer at all comes from a small logistic model
calibrated on XQuAD-R with the answer removed (bench/answers.py).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from importlib import resources

import numpy as np

from .answers import Answer, Citation
from .glossary import Glossary, default_glossary
from .models import Hit
from .phrases import attributed, phrase
from .store import Store
from .textnorm import STOPWORDS, tokens

MAX_BODY = 900
MAX_SENTENCES = 3
MMR_LAMBDA = 0.5
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class Sentence:
    hit: Hit
    rank: int  # rank of its chunk in the retrieval
    start: int
    end: int
    text: str
    vector: np.ndarray | None
    dense: float = 0.0
    context: float = 0.0  # the question's similarity to the whole article
    coverage: float = 0.0
    entity_coverage: float = 0.0
    score: float = 0.0


@dataclass
class Selection:
    sentences: list[Sentence]
    figures_differ: bool  # two outlets give different numbers for the same thing: both are shown


@dataclass
class Concepts:
    """What a question asks about: glossary entities (language-free) and its other content terms."""

    entities: set[str]
    terms: set[str]
    numbers: set[str]

    @classmethod
    def of(cls, text: str, glossary: Glossary) -> Concepts:
        entities = glossary.find(text)
        covered = {t for e in entities for name in e.names for t in tokens(name)}
        terms = {t for t in tokens(text, drop_stopwords=True) if t not in covered and len(t) > 1}
        numbers = {t for t in terms if t.isdigit()}
        return cls({e.id for e in entities if e.type != "outlet"}, terms - numbers, numbers)


@cache
def answerability_model() -> dict:
    raw = resources.files("retrieval").joinpath("data/answerability.json").read_text("utf-8")
    return json.loads(raw)


def answerable_probability(features: dict[str, float], model: dict | None = None) -> float:
    model = model or answerability_model()
    z = model["intercept"] + sum(model["weights"][name] * features[name] for name in model["weights"])
    return 1.0 / (1.0 + math.exp(-z))


class ExtractiveAnswerer:
    def __init__(self, store: Store, glossary: Glossary | None = None, language_bias: float = 0.06):
        self.store = store
        self.glossary = glossary or default_glossary()
        self.language_bias = language_bias  # per-cosine share of the model's same-language preference

    # -- scoring --------------------------------------------------------------------------------------------------
    def sentences(self, question: str, query_vector: np.ndarray, hits: list[Hit], lang: str) -> list[Sentence]:
        """Every sentence of the retrieved chunks, scored against the question, best first."""
        concepts = Concepts.of(question, self.glossary)
        stored = self.store.sentences(h.chunk_id for h in hits)
        out: list[Sentence] = []
        for rank, hit in enumerate(hits):
            spans, vectors = stored.get(hit.chunk_id, ([(hit.start, hit.end)], None))
            for i, (start, end) in enumerate(spans):
                text = hit.text[start - hit.start : end - hit.start]
                vector = vectors[i] if vectors is not None else None
                sentence = Sentence(hit, rank, start, end, text, vector)
                self._score(sentence, concepts, query_vector, lang)
                out.append(sentence)
        return sorted(out, key=lambda s: -s.score)

    def _score(self, sentence: Sentence, concepts: Concepts, query_vector: np.ndarray, lang: str) -> None:
        # A news sentence rarely repeats its own date: "in January 2025" is matched by the article's date.
        words = _words(sentence.text) | _date_words(sentence.hit.published)
        found = _entity_ids(self.glossary, sentence.text)
        wanted = len(concepts.entities) + len(concepts.numbers)
        hit_entities = len(concepts.entities & found) + len(concepts.numbers & words)
        sentence.entity_coverage = hit_entities / wanted if wanted else 0.0
        same_lang = sentence.hit.lang == lang
        # Other content words can only match in the question's own language.
        total = wanted + (len(concepts.terms) if same_lang else 0)
        matched = hit_entities + (len(concepts.terms & words) if same_lang else 0)
        sentence.coverage = matched / total if total else 0.0
        if sentence.vector is not None:
            sentence.dense = float(sentence.vector @ query_vector)
        else:
            sentence.dense = float(sentence.hit.score)
        sentence.context = sentence.hit.context
        if not same_lang:
            sentence.dense += self.language_bias
            sentence.context += self.language_bias
        sentence.score = sentence.dense + 0.15 * sentence.coverage + 0.02 / (1 + sentence.rank)

    @staticmethod
    def features(ranked: list[Sentence]) -> dict[str, float]:
        """What the answer/no-answer decision looks at, from the best sentences."""
        if not ranked:
            return {"dense": 0.0, "context": 0.0, "coverage": 0.0, "entity_coverage": 0.0, "margin": 0.0}
        best = ranked[0]
        rest = [s.dense for s in ranked[1:6]] or [best.dense]
        return {
            "dense": best.dense,
            "context": max(s.context for s in ranked[:3]),
            "coverage": max(s.coverage for s in ranked[:3]),
            "entity_coverage": max(s.entity_coverage for s in ranked[:3]),
            "margin": best.dense - float(np.mean(rest)),
        }

    # -- choosing -------------------------------------------------------------------------------------------------
    def choose(self, ranked: list[Sentence]) -> Selection:
        """Up to three sentences by MMR, copies skipped; a differing figure from another outlet is kept too."""
        if not ranked:
            return Selection([], False)
        chosen = [ranked[0]]
        floor = ranked[0].score - 0.06
        pool = [s for s in ranked[1:20] if s.score >= floor]
        while pool and len(chosen) < MAX_SENTENCES and sum(len(s.text) for s in chosen) < MAX_BODY:
            best, best_value = None, -1e9
            for candidate in pool:
                redundancy = max(_similarity(candidate, s) for s in chosen)
                value = MMR_LAMBDA * candidate.score - (1 - MMR_LAMBDA) * redundancy
                if value > best_value:
                    best, best_value = candidate, value
            pool.remove(best)
            if max(_similarity(best, s) for s in chosen) > 0.92 or _same_words(best, chosen):
                continue
            if sum(len(s.text) for s in chosen) + len(best.text) > MAX_BODY:
                continue
            chosen.append(best)
        conflict = self._conflicting_figure(chosen, ranked)
        if conflict is not None and conflict not in chosen:
            chosen.append(conflict)
        # Articles in order of their best sentence; within an article, sentences in reading order.
        first_seen: dict[str, int] = {}
        for sentence in chosen:
            first_seen.setdefault(sentence.hit.article_id, len(first_seen))
        chosen.sort(key=lambda s: (first_seen[s.hit.article_id], s.start))
        return Selection(chosen, conflict is not None)

    @staticmethod
    def _conflicting_figure(chosen: list[Sentence], ranked: list[Sentence]) -> Sentence | None:
        """A relevant sentence from another outlet giving a different number for the same thing."""
        for sentence in chosen:
            figures = _figures(sentence.text)
            if not figures:
                continue
            for other in ranked[:15]:
                if other.hit.source == sentence.hit.source or other.score < ranked[0].score - 0.12:
                    continue
                if not _same_days(sentence.hit.published, other.hit.published):
                    continue  # figures of different events do not contradict each other
                if _figures_disagree(figures, _figures(other.text)):
                    return other
        return None

    # -- writing --------------------------------------------------------------------------------------------------
    def compose(self, question: str, lang: str, selection: Selection, answered: bool, entities: list[str]) -> Answer:
        chosen = selection.sentences
        if not answered or not chosen:
            return Answer(question, lang, "extractive", False, phrase("not_answered", lang), [], entities=entities)
        numbers: dict[str, int] = {}
        citations: list[Citation] = []
        lines: list[str] = []
        for sentence in chosen:
            hit = sentence.hit
            if hit.article_id not in numbers:
                numbers[hit.article_id] = len(numbers) + 1
                citations.append(Citation.of(numbers[hit.article_id], hit, sentence.text))
            else:
                citation = citations[numbers[hit.article_id] - 1]
                citation.quote = f"{citation.quote} … {sentence.text}"
            lines.append(attributed(sentence.text, hit.lang, hit.source, hit.published, numbers[hit.article_id], lang))
        if selection.figures_differ:
            lines.insert(0, phrase("figures_differ", lang))
        return Answer(question, lang, "extractive", True, "\n".join(lines), citations, entities=entities)


def _similarity(a: Sentence, b: Sentence) -> float:
    if a.vector is None or b.vector is None:
        return 1.0 if a.hit.chunk_id == b.hit.chunk_id and a.start == b.start else 0.0
    return float(a.vector @ b.vector)


def _same_words(candidate: Sentence, chosen: list[Sentence]) -> bool:
    """A restatement of a chosen sentence (a wire copy at another outlet) adds nothing."""
    words = set(tokens(candidate.text))
    for sentence in chosen:
        other = set(tokens(sentence.text))
        if words and other and len(words & other) / len(words | other) > 0.6:
            return True
    return False


_MONTH_NAMES = [
    "jan january يناير كانون",
    "feb february فبراير شباط",
    "mar march مارس آذار",
    "apr april أبريل نيسان",
    "may مايو أيار",
    "jun june يونيو حزيران",
    "jul july يوليو تموز",
    "aug august أغسطس آب",
    "sep sept september سبتمبر أيلول",
    "oct october أكتوبر تشرين",
    "nov november نوفمبر تشرين",
    "dec december ديسمبر كانون",
]
_MONTH_TOKENS = [frozenset(tokens(names)) for names in _MONTH_NAMES]
_MONTH_WORDS = frozenset().union(*_MONTH_TOKENS)


def _same_days(a: str | None, b: str | None, days: int = 3) -> bool:
    """Both dated, at most `days` apart: the reports can be of the same event."""
    return bool(a and b) and abs((date.fromisoformat(a) - date.fromisoformat(b)).days) <= days


@lru_cache(maxsize=100_000)
def _words(text: str) -> frozenset[str]:
    """Matching tokens of a stored sentence; the same sentences come back answer after answer."""
    return frozenset(tokens(text))


@lru_cache(maxsize=100_000)
def _entity_ids(glossary: Glossary, text: str) -> frozenset[str]:
    return frozenset(e.id for e in glossary.find(text))


@cache
def _date_words(published: str | None) -> frozenset[str]:
    """The year and the month's names (English, Arabic, Levantine) of an article's date, as matching tokens."""
    if not published:
        return frozenset()
    year, month = published[:4], int(published[5:7])
    return frozenset({year}) | _MONTH_TOKENS[month - 1]


def _figures(text: str) -> list[tuple[str, set[str]]]:
    """Each number with what it counts: the few words after it, and the glossary terms among them.

    Dates are left out: a number next to a month name or a year is not a figure."""
    words = tokens(text)
    out = []
    for i, word in enumerate(words):
        if not _NUMBER.fullmatch(word) or (len(word) == 4 and word[:2] in ("19", "20")):
            continue
        around = words[max(0, i - 1) : i + 4]
        if _MONTH_WORDS & set(around):
            continue
        following = [w for w in words[i + 1 : i + 4] if w not in STOPWORDS and not _NUMBER.fullmatch(w)]
        context = set(following) | {e.id for e in default_glossary().find(" ".join(following)) if e.type == "term"}
        if context:
            out.append((word, context))
    return out


def _figures_disagree(ours: list[tuple[str, set[str]]], theirs: list[tuple[str, set[str]]]) -> bool:
    """Some figure of ours and one of theirs count the same thing with different numbers, and they never agree."""
    for number, context in ours:
        same_thing = [n for n, c in theirs if c & context]
        if same_thing and number not in same_thing:
            return True
    return False
