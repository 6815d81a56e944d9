"""Answer a question: retrieval, then the LLM when configured, else (or when the LLM fails) extraction."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .answer_types import carries
from .answers import Answer, Citation, unquoted_dateline
from .errors import LLMUnusableError
from .extractive import Evidence, ExtractiveAnswerer, answerability_model, answerable_probability
from .glossary import default_glossary
from .index import Index
from .lang import detect_lang
from .llm import NO_ANSWER, LLMClient, fallback_notice
from .models import Hit
from .phrases import phrase
from .question import Question
from .search import Filters, Retriever
from .textnorm import tokens

RETRIEVE_K = 8
LLM_SOURCES = 6
_FOLLOW_UP_OPENERS = re.compile(
    r"^\s*(and|also|what about|how about|but|then|so|و|وماذا|وما|وهل|ماذا عن|وكيف|ثم|لكن)(\s|$)", re.I
)
# The joining word of a follow-up ("and …", "و…"): it links to the previous answer and says nothing to search for.
_CONJUNCTION = re.compile(r"^\s*(?:(?:and|also|but|then|so|ثم|لكن|و)\s+|و(?=ماذا|ما|هل|كيف|من|متى|أين|كم|لماذا))", re.I)
ACTORS = ("place", "person", "org", "event")  # what a question is about, as opposed to its topic words
CARRIED_SHARE = 0.5  # a carried entity weighs at most this share of the follow-up's lightest own word or entity


def reply_language(text: str = "", chosen: str | None = None, locale: str | None = None) -> str:
    """The one rule for the language of a reply (CLI, console, bot; answers and fixed replies alike): the user's own
    choice (--lang, /lang), else an Arabic locale (Telegram's language_code), else the language of what they wrote,
    else English. An answer passes no locale: an English question is answered in English whatever the interface."""
    if chosen in ("ar", "en"):
        return chosen
    if locale and locale.lower().startswith("ar"):
        return "ar"
    return (detect_lang(text) if text.strip() else None) or "en"


@dataclass(frozen=True)
class QuestionRefusal:
    """Why a question is not looked up at all: the phrase key and its values, rendered in the asker's language."""

    key: str
    values: dict = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return phrase(self.key, lang, **self.values)


def check_question(question: str, limit: int) -> QuestionRefusal | None:
    """The one rule for what may be asked (CLI, console chat and bot): not empty, at most `limit` characters."""
    question = " ".join(question.split())
    if not question:
        return QuestionRefusal("empty_question")
    if len(question) > limit:
        return QuestionRefusal("question_too_long", {"length": len(question), "limit": limit})
    return None


@dataclass
class Query:
    """What is searched for a question: its text, its entities, and for a follow-up what the previous answer adds."""

    text: str  # embedded and searched
    entities: list[str] = field(default_factory=list)
    context: str = ""  # names of the previous answer's entities, for weighing sentences (not searched)
    carried: frozenset[str] = frozenset()  # their ids: they weigh less than the question's own words
    quoted: frozenset[str] = frozenset()  # sentences the previous answer quoted: a follow-up asks for more


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
        lang = reply_language(question, lang)
        refusal = check_question(question, self.index.settings.max_question_chars)
        if refusal is not None or self.index.store.is_empty():
            text = refusal.text(lang) if refusal is not None else phrase("store_empty", lang)
            return Answer(question, lang, "extractive", False, text)
        query = self._query(question, previous)
        answer = self._answer(question, lang, query, on_partial, filters)
        if previous is not None and answer.text == previous.text:
            # Nothing beyond the previous answer: saying so beats repeating it word for word.
            return Answer(question, lang, answer.mode, False, phrase("nothing_new", lang), entities=query.entities)
        return answer

    def _answer(
        self, question: str, lang: str, query: Query, on_partial: Callable[[str], None] | None, filters: Filters | None
    ) -> Answer:
        evidence = self.evidence(query, filters)
        notice = ""
        if self.llm is not None and evidence.hits:
            try:
                return self._generated(question, query.text, lang, evidence, on_partial, query.entities)
            except Exception as error:  # noqa: BLE001 - logged by kind (a bug with its traceback); extraction answers
                notice = phrase(fallback_notice(error, "the generated answer"), lang)
        with self.index.quiet.question():
            answer = self._extracted(question, lang, evidence, query.entities)
        answer.notice = notice
        return answer

    def evidence(self, query: str | Query, filters: Filters | None = None) -> Evidence:
        """The question analysed, the re-ranked passages and their scored sentences: what an answer rests on.

        For a follow-up, carried entities weigh less than the question's own words, and the sentences the previous
        answer quoted are not offered again."""
        query = Query(query) if isinstance(query, str) else query
        with self.index.quiet.question():
            analysis = self.extractive.analyse(f"{query.text} {query.context}".strip())
            _lighten(analysis.entity_weights, analysis.terms, query.carried)
            vector = self.index.embedder.query(query.text)
            hits = self.retriever.search(query.text, k=RETRIEVE_K, filters=filters, vector=vector, question=analysis)
            evidence = self.extractive.evidence(analysis, vector, hits)
            if query.quoted:  # quotes are kept without their dateline: compare like with like
                evidence.ranked = [s for s in evidence.ranked if unquoted_dateline(s.text) not in query.quoted]
                evidence.eligible = [s for s in evidence.eligible if unquoted_dateline(s.text) not in query.quoted]
                evidence.features = self.extractive.features(evidence)
        return evidence

    # -- follow-ups ------------------------------------------------------------------------------------------------
    def is_follow_up(self, question: str) -> bool:
        """ "And what did Turkey say?", or a question naming no place, person or organisation of its own."""
        own = [e for e in self.glossary.find(question) if e.type in ("place", "person", "org", "event")]
        return bool(_FOLLOW_UP_OPENERS.match(question)) or not own

    def _query(self, question: str, previous: Answer | None) -> Query:
        """A follow-up is searched with its own words first. When it names what it is about ("and what did
        Azerbaijan say?"), the previous answer's entities only break ties; when it does not ("and what did he say
        about the ceasefire?"), their names stand in for its subject. Either way the sentences the previous answer
        quoted are left out: a follow-up asks for something more."""
        found = [e for e in self.glossary.find(question) if e.type != "outlet"]
        own = [e.id for e in found]
        if previous is None or not self.is_follow_up(question):
            return Query(question, own)
        quoted = frozenset(part for c in previous.citations for part in c.quote.split(" … "))
        if self.llm is not None:
            try:
                return Query(self.llm.rewrite(question, previous.question, previous.text), own, quoted=quoted)
            except Exception as error:  # noqa: BLE001 - logged by kind; the previous entities are joined instead
                fallback_notice(error, "the follow-up rewrite")
        by_id = {e.id: e for e in self.glossary.entities}
        carried = [i for i in previous.entities if i not in own and i in by_id]
        names = " ".join(by_id[i].name(reply_language(question)) for i in carried)
        stripped = _CONJUNCTION.sub("", question).strip() or question
        if any(e.type in ACTORS for e in found):
            return Query(stripped, own + carried, names, frozenset(carried), quoted)
        return Query(f"{stripped} {names}".strip(), own + carried, quoted=quoted)

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
        assert self.llm is not None  # called only when a model is configured
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


def _lighten(entity_weights: dict[str, float], terms: dict[str, float], carried: frozenset[str]) -> None:
    """Carried entities weigh at most CARRIED_SHARE of the lightest of the question's own words and entities."""
    own = [w for e, w in entity_weights.items() if e not in carried] + list(terms.values())
    if not carried or not own:
        return
    cap = CARRIED_SHARE * min(own)
    for entity in carried & set(entity_weights):
        entity_weights[entity] = min(entity_weights[entity], cap)
