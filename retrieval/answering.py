"""Answer a question: retrieval, then the LLM when configured, else (or when the LLM fails) extraction."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import numpy as np

from .answer_types import carries
from .answers import Answer, Citation
from .extractive import Evidence, ExtractiveAnswerer, answerability_model, answerable_probability
from .glossary import default_glossary
from .index import Index
from .lang import detect_lang
from .llm import NO_ANSWER, LLMClient, LLMUnusableError
from .models import Hit
from .phrases import phrase
from .question import Question
from .search import Filters, Retriever
from .textnorm import tokens

log = logging.getLogger(__name__)

RETRIEVE_K = 8
LLM_SOURCES = 6
_FOLLOW_UP_OPENERS = re.compile(
    r"^\s*(and|also|what about|how about|but|then|so|و|وماذا|وما|وهل|ماذا عن|وكيف|ثم|لكن)(\s|$)", re.I
)


def answer_language(question: str, override: str | None = None) -> str:
    return override if override in ("ar", "en") else (detect_lang(question) or "en")


class Answerer:
    def __init__(self, index: Index, llm: LLMClient | None = None, use_llm: bool | None = None):
        self.index = index
        self.retriever = Retriever(index)
        self.glossary = default_glossary()
        self.extractive = ExtractiveAnswerer(index.store, self.glossary)
        enabled = index.settings.llm_enabled if use_llm is None else use_llm
        self.llm = llm or (LLMClient(index.settings) if enabled else None)
        self.threshold = answerability_model()["threshold"]

    def answer(
        self,
        question: str,
        lang: str | None = None,
        previous: Answer | None = None,
        on_partial: Callable[[str], None] | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        question = " ".join(question.split())
        lang = answer_language(question, lang)
        if not question or self.index.store.is_empty():
            key = "empty_question" if not question else "store_empty"
            return Answer(question, lang, "extractive", False, phrase(key, lang))
        query, entities = self._query(question, previous)
        evidence = self.evidence(query, filters)
        notice = ""
        if self.llm is not None and evidence.hits:
            try:
                return self._generated(question, query, lang, evidence, on_partial, entities)
            except Exception as exc:  # noqa: BLE001 - any LLM failure falls back to extraction
                log.warning("LLM answer failed (%s); answering extractively", type(exc).__name__)
                notice = phrase("llm_fallback", lang)
        answer = self._extracted(question, lang, evidence, entities)
        answer.notice = notice
        return answer

    def evidence(self, query: str, filters: Filters | None = None) -> Evidence:
        """The question analysed, the re-ranked passages and their scored sentences: what an answer rests on."""
        analysis = self.extractive.analyse(query)
        vector = self.index.embedder.query(query)
        hits = self.retriever.search(query, k=RETRIEVE_K, filters=filters, vector=vector, question=analysis)
        return self.extractive.evidence(analysis, vector, hits)

    # -- follow-ups ------------------------------------------------------------------------------------------------
    def is_follow_up(self, question: str) -> bool:
        """ "And what did Turkey say?", or a question naming no place, person or organisation of its own."""
        own = [e for e in self.glossary.find(question) if e.type in ("place", "person", "org", "event")]
        return bool(_FOLLOW_UP_OPENERS.match(question)) or not own

    def _query(self, question: str, previous: Answer | None) -> tuple[str, list[str]]:
        own = [e.id for e in self.glossary.find(question) if e.type != "outlet"]
        if previous is None or not self.is_follow_up(question):
            return question, own
        if self.llm is not None:
            try:
                return self.llm.rewrite(question, previous.question, previous.text), own
            except Exception as exc:  # noqa: BLE001 - fall back to joining the previous entities
                log.warning("follow-up rewrite failed (%s)", type(exc).__name__)
        by_id = {e.id: e for e in self.glossary.entities}
        carried = [i for i in previous.entities if i not in own and i in by_id]
        names = [by_id[i].name(answer_language(question)) for i in carried]
        return " ".join([question, *names]), own + carried

    # -- extractive ------------------------------------------------------------------------------------------------
    def _extracted(self, question: str, lang: str, evidence: Evidence, entities: list[str]) -> Answer:
        answered = bool(evidence.eligible) and answerable_probability(evidence.features) >= self.threshold
        selection = self.extractive.choose(evidence)
        return self.extractive.compose(question, lang, selection, answered, entities, evidence)

    # -- generated -------------------------------------------------------------------------------------------------
    def _generated(
        self,
        question: str,
        standalone: str,
        lang: str,
        evidence: Evidence,
        on_partial: Callable[[str], None] | None,
        entities: list[str],
    ) -> Answer:
        from .citations import check_citations

        sources = evidence.hits[:LLM_SOURCES]  # re-ranked by the question analysis
        raw = self.llm.generate(standalone, lang, sources, on_partial)  # a follow-up, as rewritten
        if not raw.strip():
            raise LLMUnusableError("empty answer")
        checked = check_citations(raw, len(sources))
        if not checked.sentences:
            if NO_ANSWER in raw:
                answer = self.extractive.refusal(question, lang, evidence, entities)
                answer.mode = "llm"
                return answer
            raise LLMUnusableError("no sentence with a valid citation")
        citations = []
        for final, original in enumerate(checked.order, 1):
            hit = sources[original - 1]
            claims = [s.text for s in checked.sentences if original in s.sources]
            citations.append(Citation.of(final, hit, self._quote(hit, claims)))
        if not self._carries_asked(evidence.question, citations):
            raise LLMUnusableError("the cited sentences do not contain what was asked")
        return Answer(question, lang, "llm", True, checked.text, citations, entities=entities)

    def _carries_asked(self, question: Question, citations: list[Citation]) -> bool:
        """A "when" answer must rest on a sentence with a date, a "how many" one on a number …"""
        if not question.typed:
            return True
        return any(carries(question.asks, c.quote, question, self.glossary, c.lang == question.lang) for c in citations)

    def _quote(self, hit: Hit, claims: list[str]) -> str:
        """The source sentence each claim rests on: the closest by the embedding model, across languages."""
        spans, vectors = self.index.store.sentences([hit.chunk_id]).get(hit.chunk_id, ([(hit.start, hit.end)], None))
        sentences = [hit.text[s - hit.start : e - hit.start] for s, e in spans]
        if len(sentences) == 1:
            return sentences[0]
        picked: list[int] = []
        for claim in claims:
            claim = re.sub(r"\[\d+\]", "", claim)
            # The names and numbers of the claim must be in its quote: they are what crosses languages.
            names = {e.id for e in self.glossary.find(claim)} | {t for t in tokens(claim) if t.isdigit()}
            held = np.array(
                [len(names & ({e.id for e in self.glossary.find(s)} | set(tokens(s)))) for s in sentences], float
            ) / max(1, len(names))
            if vectors is not None:
                scores = vectors @ self.index.embedder.query(claim) + 0.3 * held
            else:
                words = set(tokens(claim))
                scores = np.array([len(words & set(tokens(s))) for s in sentences], dtype=float) + held
            best = int(np.argmax(scores))
            if best not in picked:
                picked.append(best)
        return " … ".join(sentences[i] for i in sorted(picked))
