"""The ingest pipeline: sources → articles → chunks → store (pending) → vectors → store (indexed)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .chunking import chunk_article
from .dedup import SAME_STORY, Fingerprint, content_hash
from .index import Index
from .models import Article
from .sources import Failure, Fetcher, read_source


@dataclass
class IngestReport:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    failed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"articles: {self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.duplicate} duplicate, {self.failed} failed; {self.chunks} chunks; {self.seconds:.1f} s"
        )


def published_key(article: Article) -> int:
    """Dates as YYYYMMDD integers so Chroma can range-filter them; 0 when unknown."""
    return int(article.published.strftime("%Y%m%d")) if article.published else 0


class Ingester:
    """Writes articles into the index; embedding is batched across articles for throughput."""

    def __init__(self, index: Index, on_article: Callable[[IngestReport], None] | None = None):
        self.index = index
        self.store = index.store
        self.report = IngestReport()
        self.on_article = on_article or (lambda report: None)
        self._queue: list[str] = []
        self._queued_chunks = 0
        self._batch = max(1, index.settings.embedding_batch) * 4

    def run(self, specs: Iterable[str]) -> IngestReport:
        started = time.perf_counter()
        fetcher = Fetcher(self.index.settings)
        try:
            for article_id in self.store.pending_ids():  # finish what a killed run left half-done
                self._enqueue(article_id, len(self.store.chunks_of(article_id)))
            for spec in specs:
                for item in read_source(spec, fetcher):
                    if isinstance(item, Failure):
                        self.report.failed += 1
                        self.report.failures.append(item)
                    else:
                        self.add(item)
                    self.on_article(self.report)
            self.flush()
        finally:
            fetcher.close()
            self.report.seconds = time.perf_counter() - started
        return self.report

    def add(self, article: Article) -> None:
        digest = content_hash(article.title, article.text)
        existing = self.store.get(article.id)
        if existing and existing.content_hash == digest:
            if existing.status == "indexed":
                self.report.unchanged += 1
            else:
                self.report.new += 1
                self._enqueue(article.id, len(self.store.chunks_of(article.id)))
            return
        twin = self.store.id_with_hash(digest)
        if twin and twin != article.id:
            self.report.duplicate += 1
            return
        chunks = chunk_article(article, self.index.settings.chunk_chars)
        fingerprint = Fingerprint.of(article.title + "\n" + article.text)
        story_id = self._story_of(article.id, fingerprint)
        self.store.put_pending(article, digest, story_id, chunks, fingerprint.bands(), fingerprint.to_bytes())
        if existing:
            self.report.updated += 1
        else:
            self.report.new += 1
        self._enqueue(article.id, len(chunks))

    @staticmethod
    def _sentence_rows(chunks, chunk_vectors, sentence_vectors) -> list[tuple[str, int, bytes]]:
        """A one-sentence chunk's vector is its sentence's vector; longer chunks had each sentence embedded."""
        rows = []
        for chunk, chunk_vector in zip(chunks, chunk_vectors, strict=True):
            if len(chunk.sentences) == 1:
                rows.append((chunk.id, 0, np.asarray(chunk_vector, np.float32).tobytes()))
            else:
                rows.extend(
                    (chunk.id, i, np.asarray(next(sentence_vectors), np.float32).tobytes())
                    for i in range(len(chunk.sentences))
                )
        return rows

    @staticmethod
    def _article_text(article: Article, limit: int) -> str:
        """Title and opening of the article, cut at a word boundary: the context its chunks are read in."""
        text = f"{article.title}\n{article.text}".strip()
        return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]

    def _story_of(self, article_id: str, fingerprint: Fingerprint) -> str:
        best, best_score = article_id, SAME_STORY
        for other_id, story_id in self.store.band_matches(fingerprint.bands(), exclude=article_id).items():
            raw = self.store.signature(other_id)
            score = fingerprint.similarity(Fingerprint.from_bytes(raw)) if raw else 0.0
            if score >= best_score:
                best, best_score = story_id, score
        return best

    def _enqueue(self, article_id: str, n_chunks: int) -> None:
        if article_id in self._queue:
            return
        self._queue.append(article_id)
        self._queued_chunks += n_chunks or 1
        if self._queued_chunks >= self._batch:
            self.flush()

    def flush(self) -> None:
        """Embed the queued articles' chunks, replace their vectors, then mark them indexed."""
        if not self._queue:
            return
        ids, self._queue, self._queued_chunks = self._queue, [], 0
        stored = {i: self.store.get(i) for i in ids}
        chunks = {i: self.store.chunks_of(i) for i in ids}
        settings = self.index.settings
        embed_articles = settings.article_vector == "embed"
        all_chunks = [c for i in ids for c in chunks[i]]
        # One model call for chunks, article openings and the sentences of multi-sentence chunks.
        texts = [c.text for c in all_chunks]
        if embed_articles:
            texts += [self._article_text(stored[i].article, settings.article_embed_chars) for i in ids if chunks[i]]
        n_chunks, n_own = len(all_chunks), len(texts) - len(all_chunks)
        split = [c for c in all_chunks if len(c.sentences) > 1]
        texts += [stored[c.article_id].article.text[s:e] for c in split for s, e in c.sentences]
        vectors = self.index.embedder.passages(texts) if texts else np.zeros((0, 0), np.float32)
        own_vectors = iter(vectors[n_chunks : n_chunks + n_own])
        sentence_rows = self._sentence_rows(all_chunks, vectors[:n_chunks], iter(vectors[n_chunks + n_own :]))

        chunk_ids, chunk_meta, article_ids, article_vectors, article_meta = [], [], [], [], []
        row = 0
        for article_id in ids:
            record = stored[article_id]
            article, n = record.article, len(chunks[article_id])
            base = {
                "article_id": article_id,
                "story_id": record.story_id,
                "source": article.source,
                "published": published_key(article),
            }
            for chunk in chunks[article_id]:
                chunk_ids.append(chunk.id)
                chunk_meta.append({**base, "lang": chunk.lang})
            if n:
                if embed_articles:
                    vector = next(own_vectors)
                else:
                    vector = vectors[row : row + n].mean(axis=0)
                    vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
                article_ids.append(article_id)
                article_vectors.append(vector)
                article_meta.append({**base, "lang": article.lang})
            row += n
        vectors_index = self.index.vectors
        vectors_index.delete_articles(ids)
        vectors_index.add(
            chunk_ids,
            vectors[:n_chunks],
            chunk_meta,
            article_ids,
            np.asarray(article_vectors, dtype=np.float32),
            article_meta,
        )
        self.store.mark_indexed(ids, sentence_rows)
        self.report.chunks += len(chunk_ids)


def ingest(index: Index, specs: Iterable[str], on_article=None) -> IngestReport:
    return Ingester(index, on_article).run(specs)
