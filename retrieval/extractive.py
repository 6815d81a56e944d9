"""Extractive answers: the one sentence that answers the question, attributed and cited, or an honest refusal.

No generative model that installs offline answers usably (a 270M model invents names), so the default answer quotes the
sources. On a store where every sentence is about one war, similarity alone always finds something, so a sentence
answers only if it carries what is asked (a date for "when", a number for "how many" …) and covers the question's focus
(its entities and rare words, weighted by how rare they are in the store). Whether to answer at all is decided from
features relative to the candidate pool (how far the best sentence stands above the rest), not from an absolute cosine,
by a small logistic model calibrated on same-topic pools (bench/calibrate.py).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np

from .answer_types import carries
from .answers import Answer, Citation
from .figures import figures, figures_disagree, same_days
from .glossary import Glossary, default_glossary
from .models import Hit
from .phrases import attributed, phrase, related_line
from .question import UNVERIFIABLE, Question, analyse, date_fit, focus_coverage, term_share
from .store import Store
from .textnorm import stems, tokens

POOL = 10  # the candidates a sentence is compared with
RELATED = 3
# A sentence that only makes sense after the one before it: a pronoun, or "he added that …" with no subject.
_DEPENDENT_EN = re.compile(
    r"^(He|She|It|They|This|That|These|Those|His|Her|Their|Its|Such)\b|^(He|She|They|It) (also )?(added|said|noted)\b"
)
_DEPENDENT_AR = re.compile(
    r"^(و|ف)?(اضاف|قال|قالت|تابع|اشار|اكد|اوضح|لفت|شدد|اعتبر|رات|راي|اضافت|تابعت|اشارت|اكدت|اوضحت)\s+(ان|إن|أن|:)"
    r"|^(و|ف)?(هو|هي|هم|هذا|هذه|ذلك|تلك|كما)\b"
)


@dataclass
class Sentence:
    hit: Hit
    rank: int  # rank of its chunk in the retrieval
    index: int  # position within its chunk
    start: int
    end: int
    text: str
    vector: np.ndarray | None
    dense: float = 0.0  # similarity to the question
    focus: float = 0.0  # weighted share of the question's focus found in the sentence (and its article's title)
    own_focus: float = 0.0  # the same, in the sentence alone
    typed: bool = True  # carries the kind of thing asked for
    date_fit: float = 0.0  # the article's date against the question's period: +1 fits, -1 cannot
    same_lang: bool = True
    score: float = 0.0


@dataclass
class Selection:
    sentences: list[Sentence]
    figures_differ: bool  # two outlets give different numbers for the same thing: both are shown


@dataclass
class Evidence:
    """Everything the answer/refuse decision and the choice of sentences rest on."""

    question: Question
    hits: list[Hit]
    ranked: list[Sentence]
    eligible: list[Sentence]  # the ranked sentences that carry the asked kind of thing
    features: dict[str, float] = field(default_factory=dict)

    @property
    def article_ids(self) -> list[str]:
        return list(dict.fromkeys(s.hit.article_id for s in self.eligible or self.ranked))


@cache
def answerability_model() -> dict:
    raw = resources.files("retrieval").joinpath("data/answerability.json").read_text("utf-8")
    return json.loads(raw)


def answerable_probability(features: dict[str, float], model: dict | None = None) -> float:
    model = model or answerability_model()
    z = model["intercept"] + sum(model["weights"][name] * features[name] for name in model["weights"])
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass
class Scoring:
    """How a sentence's evidence adds up (bench/calibrate.py measures these on the same-topic set)."""

    focus: float = 0.20
    typed: float = 0.06
    date_fit: float = 0.05
    other_language: float = 0.04  # the model's same-language preference, in part: evidence decides the rest
    rank: float = 0.05


class ExtractiveAnswerer:
    def __init__(self, store: Store, glossary: Glossary | None = None, scoring: Scoring | None = None):
        self.store = store
        self.glossary = glossary or default_glossary()
        self.scoring = scoring or Scoring()

    def analyse(self, question: str) -> Question:
        return analyse(question, self.glossary, self.store.document_frequencies)

    # -- scoring --------------------------------------------------------------------------------------------------
    def evidence(self, question: Question, query_vector: np.ndarray, hits: list[Hit]) -> Evidence:
        ranked = self.sentences(question, query_vector, hits)
        # A report written before the period the question names cannot tell what happened in it.
        eligible = [s for s in ranked if s.typed and s.date_fit > -1]
        evidence = Evidence(question, hits, ranked, eligible)
        evidence.features = self.features(evidence)
        return evidence

    def sentences(self, question: Question, query_vector: np.ndarray, hits: list[Hit]) -> list[Sentence]:
        """Every sentence of the retrieved chunks, scored against the question, best first."""
        stored = self.store.sentences(h.chunk_id for h in hits)
        out: list[Sentence] = []
        for rank, hit in enumerate(hits):
            spans, vectors = stored.get(hit.chunk_id, ([(hit.start, hit.end)], None))
            for i, (start, end) in enumerate(spans):
                text = hit.text[start - hit.start : end - hit.start]
                out.append(Sentence(hit, rank, i, start, end, text, vectors[i] if vectors is not None else None))
        # Choosing between sentences, words that cannot be looked for in the other language are credited no more
        # than the best sentence in the question's own language holds: the other language wins on what can be
        # checked (entities, numbers, dates) or on similarity, not by assumption.
        own = [term_share(question, stems(s.text) | stems(s.hit.title)) for s in out if s.hit.lang == question.lang]
        credit = min(UNVERIFIABLE, max(own, default=UNVERIFIABLE))
        for sentence in out:
            self._score(sentence, question, query_vector, stems(sentence.hit.title), credit)
        return sorted(out, key=lambda s: -s.score)

    def _score(
        self, sentence: Sentence, question: Question, query_vector: np.ndarray, title: frozenset, credit: float
    ) -> None:
        hit, w = sentence.hit, self.scoring
        sentence.same_lang = hit.lang == question.lang
        sentence.dense = float(sentence.vector @ query_vector) if sentence.vector is not None else float(hit.score)
        text_entities, title_entities = self.glossary.ids(sentence.text), self.glossary.ids(hit.title)
        own = focus_coverage(question, stems(sentence.text), text_entities, sentence.same_lang)
        context = focus_coverage(question, title, title_entities, sentence.same_lang)
        sentence.focus = max(own, 0.75 * own + 0.25 * context)
        sentence.own_focus = own
        if sentence.same_lang or credit >= UNVERIFIABLE:
            choosing = sentence.focus
        else:
            own_c = focus_coverage(question, stems(sentence.text), text_entities, False, credit)
            context_c = focus_coverage(question, title, title_entities, False, credit)
            choosing = max(own_c, 0.75 * own_c + 0.25 * context_c)
        sentence.typed = not question.typed or carries(
            question.asks, sentence.text, question, self.glossary, sentence.same_lang
        )
        sentence.date_fit = date_fit(question, hit.published)
        sentence.score = (
            sentence.dense
            + w.focus * choosing
            + w.typed * (sentence.typed and question.typed)
            + w.date_fit * sentence.date_fit
            + (0.0 if sentence.same_lang else w.other_language)
            + w.rank / (1 + sentence.rank)
        )

    @staticmethod
    def features(evidence: Evidence) -> dict[str, float]:
        """What the answer/refuse decision looks at: the best eligible sentence against the whole pool."""
        question = evidence.question
        if not evidence.eligible:
            return dict.fromkeys(FEATURES, 0.0)
        # The pool is the candidates about the question's subject: text sharing none of its focus (pages on other
        # subjects a bigger store holds) must not make the best sentence look better than it is.
        pool = [s for s in evidence.ranked if s.focus > 0][:POOL] or evidence.ranked[:POOL]
        best = evidence.eligible[0]
        median_score = statistics.median(s.score for s in pool)
        median_dense = statistics.median(s.dense for s in pool)
        median_focus = statistics.median(s.focus for s in pool)
        # Within the best sentence's own language: the model scores same-language text higher across the board.
        peers = [s.dense for s in pool if s.same_lang == best.same_lang and s is not best] or [median_dense]
        others = [s.score for s in evidence.eligible[1:] if s.hit.article_id != best.hit.article_id]
        return {
            "score_margin": best.score - median_score,
            "lang_margin": best.dense - statistics.median(peers),
            "gap": best.score - (others[0] if others else median_score),
            "focus": best.focus,
            "focus_margin": best.focus - median_focus,
            "typed_share": sum(s.typed for s in pool) / len(pool) if question.typed else 1.0,
            "cross": float(not best.same_lang),
            "dense": best.dense,
        }

    # -- choosing -------------------------------------------------------------------------------------------------
    def choose(self, evidence: Evidence) -> Selection:
        """The best sentence (with the one before it when it cannot be read alone); another article's sentence
        only when it answers on its own too, or gives a different figure for the same event."""
        if not evidence.eligible:
            return Selection([], False)
        best = evidence.eligible[0]
        chosen = [best]
        previous = self._previous(best, evidence.ranked)
        if previous is not None:
            chosen.insert(0, previous)
        differ = False
        counting = evidence.question.asks == "count"
        for other in evidence.eligible[1:8]:
            if other.hit.article_id == best.hit.article_id or other.hit.story_id == best.hit.story_id:
                continue
            if _restates(other, best):
                continue  # a wire copy at another outlet adds nothing
            if counting and _differs(best, other):
                # Another outlet's figure for the same thing in a report of the same days: shown, and flagged.
                if other.score >= best.score - 0.08 and other.focus >= 0.6 * best.focus:
                    chosen.append(other)
                    differ = True
                    break
                continue
            if other.score < best.score - 0.03:
                break
            if other.focus >= best.focus - 0.05 and (not counting or _same_figures(best, other)):
                chosen.append(other)  # corroboration: another outlet answers on its own too
                break
        return Selection(chosen, differ)

    @staticmethod
    def _previous(sentence: Sentence, ranked: list[Sentence]) -> Sentence | None:
        text = sentence.text.strip()
        dependent = _DEPENDENT_EN.match(text) or _DEPENDENT_AR.match(" ".join(tokens(text)[:3]))
        if not dependent or sentence.index == 0:
            return None
        return next(
            (s for s in ranked if s.hit.chunk_id == sentence.hit.chunk_id and s.index == sentence.index - 1), None
        )

    # -- writing --------------------------------------------------------------------------------------------------
    def compose(
        self,
        question: str,
        lang: str,
        selection: Selection,
        answered: bool,
        entities: list[str],
        evidence: Evidence | None = None,
    ) -> Answer:
        chosen = selection.sentences
        if not answered or not chosen:
            return self.refusal(question, lang, evidence, entities)
        numbers: dict[str, int] = {}
        citations: list[Citation] = []
        lines: list[str] = []
        for sentence in chosen:
            hit = sentence.hit
            if hit.article_id not in numbers:
                numbers[hit.article_id] = len(numbers) + 1
                citations.append(Citation.of(numbers[hit.article_id], hit, sentence.text))
                lines.append(
                    attributed(sentence.text, hit.lang, hit.source, hit.published, numbers[hit.article_id], lang)
                )
            else:  # the sentence it leans on and itself, read together
                citation = citations[numbers[hit.article_id] - 1]
                citation.quote = f"{citation.quote} … {sentence.text}"
                lines[-1] = attributed(
                    citation.quote.replace(" … ", " "), hit.lang, hit.source, hit.published, citation.n, lang
                )
        if selection.figures_differ:
            lines.insert(0, phrase("figures_differ", lang))
        return Answer(question, lang, "extractive", True, "\n".join(lines), citations, entities=entities)

    def refusal(self, question: str, lang: str, evidence: Evidence | None, entities: list[str]) -> Answer:
        """ "My sources don't say", with the closest articles as `related` (not as citations)."""
        related: list[Citation] = []
        if evidence is not None:
            seen: set[str] = set()
            for sentence in evidence.ranked:
                if sentence.hit.article_id not in seen and len(related) < RELATED:
                    seen.add(sentence.hit.article_id)
                    related.append(Citation.of(len(related) + 1, sentence.hit, ""))
        kind = evidence.question.asks if evidence is not None else "what"
        lines = [phrase(f"not_said_{kind}" if f"not_said_{kind}" in _REFUSALS else "not_answered", lang)]
        if related:
            lines.append(phrase("closest_sources", lang))
            lines += [related_line(c, lang) for c in related]
        return Answer(question, lang, "extractive", False, "\n".join(lines), [], entities=entities, related=related)


FEATURES = ["score_margin", "lang_margin", "gap", "focus", "focus_margin", "typed_share", "cross", "dense"]
_REFUSALS = {"not_said_when", "not_said_time", "not_said_count", "not_said_who", "not_said_where"}


def _restates(candidate: Sentence, chosen: Sentence) -> bool:
    words, other = stems(candidate.text), stems(chosen.text)
    if candidate.vector is not None and chosen.vector is not None and float(candidate.vector @ chosen.vector) > 0.95:
        return True
    return bool(words and other) and len(words & other) / len(words | other) > 0.6


def _differs(a: Sentence, b: Sentence) -> bool:
    """Different numbers for the same thing, in reports of the same days: outlets disagree."""
    return same_days(a.hit.published, b.hit.published) and figures_disagree(figures(a.text), figures(b.text))


def _same_figures(a: Sentence, b: Sentence) -> bool:
    ours, theirs = {n for n, _ in figures(a.text)}, {n for n, _ in figures(b.text)}
    return bool(ours & theirs)
