"""Hybrid multilingual retrieval.

Each language is searched on its own and the lists are interleaved: with every passage about the same war, a
multilingual model prefers same-language text, so a single mixed ranking buries the other language (on real news:
9% of other-language answers in a mixed top 5, against 50% with the languages ranked apart).
Within a language, a chunk's dense score is its own similarity plus its article's (article context lifts the right
sentence of the right article), fused by reciprocal rank with BM25 over chunks and over whole articles, whose query
is expanded with the glossary's names in both languages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import numpy as np

from .answer_types import carries
from .glossary import Glossary, default_glossary
from .index import Index
from .lang import detect_lang
from .models import Hit
from .question import Question, analyse, date_fit, focus_coverage
from .store import fts_query, published_of, vector_of
from .textnorm import stems, tokens
from .vectors import date_key

LANGS = ("ar", "en")
RRF_K = 60


class Ranked(NamedTuple):
    row: sqlite3.Row
    score: float  # fused within its language
    absolute: float  # calibrated dense score, comparable across languages
    context: float  # the question's similarity to the chunk's whole article


@dataclass
class Filters:
    lang: str | None = None
    sources: list[str] = field(default_factory=list)
    since: date | None = None
    until: date | None = None
    exclude_articles: frozenset[str] = frozenset()  # search as if these articles were not in the store


@dataclass
class Weights:
    """Reciprocal-rank-fusion weights of the four rankings (tuned on XQuAD-R: bench/xquad_r.py)."""

    dense: float = 1.0
    lexical_chunk: float = 0.15
    lexical_article: float = 0.15
    cross_lexical: float = 0.5  # lexical weights are scaled by this in the pool of the other language
    language_bias: float = 0.12  # how much higher the model scores same-language text (measured on XQuAD-R)
    min_share: float = 1 / 3  # each language keeps at least this share of the merged list
    dense_candidates: int = 60
    article_candidates: int = 15
    lexical_candidates: int = 60
    # Re-ranking the head of each language's list by what the question asks (bench/ontopic.py --search):
    rerank_depth: int = 30
    rerank_fused: float = 0.05  # the fused rank score, scaled so the top rank counts ~1
    rerank_focus: float = 0.30  # share of the question's entities and rare words in the chunk and its title
    rerank_typed: float = 0.05  # the chunk carries the asked kind of thing (a date for "when" …)
    rerank_date: float = 0.08  # the article's date against the period the question names


class Retriever:
    def __init__(self, index: Index, glossary: Glossary | None = None, weights: Weights | None = None):
        self.index = index
        self.glossary = glossary or default_glossary()
        self.weights = weights or Weights()

    def lexical_query(self, query: str) -> str:
        """The query's own terms plus every name, in both languages, of the entities it mentions, without their
        function words: terms are OR-ed, and the "for" and "and" of "Trump Route for International Peace and
        Prosperity" matched most English passages (BM25 over them tripled that question's lexical time)."""
        expansion = " ".join(self.glossary.expansion(query))
        return fts_query(tokens(query, drop_stopwords=True) + tokens(expansion, drop_stopwords=True))

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        per_article: int | None = 2,
        vector: np.ndarray | None = None,
        question: Question | None = None,
    ) -> list[Hit]:
        """The best `k` chunks, one story's copies collapsed, at most `per_article` chunks of one article."""
        with self.index.quiet.question():
            return self._search(query, k, filters or Filters(), per_article, vector, question)

    def _search(
        self,
        query: str,
        k: int,
        filters: Filters,
        per_article: int | None,
        vector: np.ndarray | None,
        question: Question | None,
    ) -> list[Hit]:
        query = " ".join(query.split())
        if not tokens(query):  # nothing to look for (blank, punctuation, emoji): the nearest chunks would be noise
            return []
        vector = self.index.embedder.query(query) if vector is None else vector
        question = question or analyse(query, self.glossary, self.index.store.document_frequencies)
        lexical = self.lexical_query(query)
        sources = self._canonical_sources(filters.sources)
        query_lang = detect_lang(query)
        langs = [filters.lang] if filters.lang else list(LANGS)
        store, w = self.index.store, self.weights
        lexical_chunks = store.lexical_chunks(lexical, w.lexical_candidates, langs)
        lexical_articles = store.lexical_articles(lexical, w.article_candidates, langs)
        ranked = [
            self._rank_language(
                vector, (lexical_chunks[lang], lexical_articles[lang]), lang, filters, sources, lang == query_lang
            )
            for lang in langs
        ]
        ranked = [self._rerank(items, question) for items in ranked]
        return self._collect(self._merge(ranked), k, per_article)

    def _rerank(self, items: list[Ranked], question: Question) -> list[Ranked]:
        """The head of a language's list re-ordered by evidence: the question's focus in the chunk and its title,
        the asked kind of thing, the article's date against the asked period; comparable across languages."""
        w = self.weights
        head, tail = items[: w.rerank_depth], items[w.rerank_depth :]
        rescored = []
        for item in head:
            row = item.row
            text = f"{row['title']}\n{row['text']}"
            same_lang = row["chunk_lang"] == question.lang
            coverage = focus_coverage(question, stems(text), self.glossary.ids(text), same_lang)
            typed = question.typed and carries(question.asks, row["text"], question, self.glossary, same_lang)
            score = (
                item.absolute
                + w.rerank_fused * RRF_K * item.score
                + w.rerank_focus * coverage
                + w.rerank_typed * typed
                + w.rerank_date * date_fit(question, published_of(row))
            )
            rescored.append(item._replace(absolute=score))
        rescored.sort(key=lambda item: -item.absolute)
        floor = rescored[-1].absolute if rescored else 0.0
        return rescored + [item._replace(absolute=min(item.absolute, floor)) for item in tail]

    # -- one language -------------------------------------------------------------------------------------------
    def _where(self, filters: Filters, sources: list[str]) -> dict | None:
        """The Chroma filter besides the language (each language has its own collections)."""
        clauses: list[dict] = []
        if sources:
            clauses.append({"source": {"$in": sources}})
        if filters.since:
            clauses.append({"published": {"$gte": date_key(filters.since)}})
        if filters.until:
            clauses.append({"published": {"$lte": date_key(filters.until)}})
        return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def _rank_language(
        self,
        vector: np.ndarray,
        lexical: tuple[list[tuple[str, float]], list[tuple[str, float]]],
        lang: str,
        filters: Filters,
        sources: list[str],
        same_lang: bool,
    ) -> list[Ranked]:
        """`lexical`: the language's BM25 chunk and article rankings."""
        w, vectors, store = self.weights, self.index.vectors, self.index.store
        lexical_scale = 1.0 if same_lang else w.cross_lexical
        where = self._where(filters, sources)
        dense_chunks = vectors.query_chunks(vector, w.dense_candidates, lang, where)
        dense_articles = vectors.query_articles(vector, w.article_candidates, lang, where)
        lexical_chunks, lexical_articles = lexical

        # Candidates: dense and lexical chunk hits, plus every chunk of the best articles.
        article_chunks = store.chunk_ids_of([a for a, _ in dense_articles], lang)
        candidates = [c for c, _ in dense_chunks] + [c for c, _ in lexical_chunks] + article_chunks
        rows = store.chunk_rows(list(dict.fromkeys(candidates)))
        rows = {c: r for c, r in rows.items() if self._passes(r, lang, filters, sources)}
        chunk_vectors = _vectors_of(
            rows.values(), "chunk_id", "chunk_vector", lambda ids: vectors.chunk_vectors(ids, lang)
        )
        rows = {c: r for c, r in rows.items() if c in chunk_vectors}
        if not rows:
            return []
        ids = list(rows)
        article_of = {c: rows[c]["article_id"] for c in ids}
        article_langs = {rows[c]["lang"] for c in ids}  # an article's chunks may be in another language than its own
        article_vectors = _vectors_of(
            rows.values(), "article_id", "article_vector", lambda ids: vectors.article_vectors(ids, article_langs)
        )

        chunk_matrix = np.stack([chunk_vectors[c] for c in ids])
        article_sim = np.array([float(article_vectors[article_of[c]] @ vector) for c in ids])
        dense = chunk_matrix @ vector + article_sim
        dense_rank = {ids[i]: r for r, i in enumerate(np.argsort(-dense))}
        chunk_rank = {c: r for r, (c, _) in enumerate(lexical_chunks)}
        article_rank = {a: r for r, (a, _) in enumerate(lexical_articles)}

        def fused(c: str) -> float:
            score = w.dense / (RRF_K + dense_rank[c])
            if c in chunk_rank:
                score += lexical_scale * w.lexical_chunk / (RRF_K + chunk_rank[c])
            if article_of[c] in article_rank:
                score += lexical_scale * w.lexical_article / (RRF_K + article_rank[article_of[c]])
            return score

        # Across languages the dense sum is compared, with the model's same-language preference added back.
        bias = 0.0 if same_lang else w.language_bias
        scored = [
            Ranked(rows[c], score, float(dense[i]) + bias, float(article_sim[i]))
            for i, c in enumerate(ids)
            if (score := fused(c)) > 0
        ]
        return sorted(scored, key=lambda item: -item.score)

    @staticmethod
    def _passes(row, lang: str, filters: Filters, sources: list[str]) -> bool:
        """The same filters as the Chroma `where`, for candidates that came from the lexical index."""
        if row["chunk_lang"] != lang or row["article_id"] in filters.exclude_articles:
            return False
        if sources and row["source"] not in sources:
            return False
        published = published_of(row)
        if filters.since and (published is None or published < filters.since):
            return False
        return not (filters.until and (published is None or published > filters.until))

    def _canonical_sources(self, names: list[str]) -> list[str]:
        out = []
        for name in names:
            entity = self.glossary.outlet(name)
            out.append(entity.en[0] if entity else name)
        return out

    # -- merge --------------------------------------------------------------------------------------------------
    def _merge(self, lists: list[list[Ranked]]) -> list[Ranked]:
        """Merge per-language rankings, each kept in order: the head with the higher calibrated dense score goes
        first, but every language keeps at least `min_share` of the places while it has candidates."""
        if len(lists) == 1:
            return lists[0]
        heads = [0] * len(lists)
        taken = [0] * len(lists)
        out: list[Ranked] = []
        while True:
            live = [i for i, items in enumerate(lists) if heads[i] < len(items)]
            if not live:
                return out
            owed = [i for i in live if taken[i] < int((len(out) + 1) * self.weights.min_share)]
            pick = owed[0] if owed else max(live, key=lambda i: lists[i][heads[i]].absolute)
            out.append(lists[pick][heads[pick]])
            heads[pick] += 1
            taken[pick] += 1

    def _collect(self, ranked: list[Ranked], k: int, per_article: int | None) -> list[Hit]:
        story_article: dict[str, str] = {}
        per: dict[str, int] = {}
        chosen = []
        for row, score, _, context in ranked:
            article_id, story_id = row["article_id"], row["story_id"]
            if story_article.setdefault(story_id, article_id) != article_id:
                continue  # another outlet's copy of a story already in the list
            if per_article is not None and per.get(article_id, 0) >= per_article:
                continue
            per[article_id] = per.get(article_id, 0) + 1
            chosen.append((row, score, context))
            if len(chosen) >= k:
                break
        members = self.index.store.story_members(row["story_id"] for row, _, _ in chosen)
        return [
            Hit(
                article_id=row["article_id"],
                chunk_id=row["chunk_id"],
                story_id=row["story_id"],
                url=row["url"],
                title=row["title"],
                source=row["source"],
                published=published_of(row),
                lang=row["chunk_lang"],
                text=row["text"],
                score=round(score, 6),
                context=round(context, 6),
                start=row["start"],
                end=row["end"],
                also=[a for a in members.get(row["story_id"], []) if a != row["article_id"]],
            )
            for row, score, context in chosen
        ]


def _vectors_of(
    rows: Iterable[sqlite3.Row], key: str, column: str, from_index: Callable[[list[str]], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """The vectors stored beside the rows (by `key`); any row without one asks the vector index."""
    out: dict[str, np.ndarray] = {}
    missing: dict[str, None] = {}
    for row in rows:
        if row[column] is not None:
            out[row[key]] = vector_of(row[column])
        else:
            missing[row[key]] = None
    if missing:
        out.update(from_index(list(missing)))
    return out
