"""The ingest pipeline: sources → articles → chunks → store (pending) → vectors, in bounded batches → indexed.

Embedding is the slow part (seconds per call on a CPU), so it runs in calls of at most `embedding_batch` texts.
After each call the finished chunks' vectors are stored and the chunks marked embedded: an interrupted ingest keeps
that work, and finishing a pending article embeds only the rest. An article becomes `indexed` (searchable) once all
its chunks are. Articles an earlier run left pending are finished only when asked (`resume`), so they never hold up
new input. Every write happens under the data directory's ingest lock (see ingest_lock.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .chunking import chunk_article
from .dedup import SAME_STORY, Fingerprint, content_hash
from .index import Index
from .ingest_lock import IngestBusyError, IngestInterrupted, ingest_lock
from .models import Article, Chunk
from .phrases import phrase
from .sources import Failure, Fetcher, read_source
from .store import StoredArticle
from .vectors import date_key

log = logging.getLogger(__name__)

__all__ = [
    "IngestBusyError",
    "IngestInterrupted",
    "IngestReport",
    "Ingester",
    "drop_pending",
    "ingest",
    "reindex",
    "run_ingest",
]


@dataclass
class IngestReport:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    failed: int = 0
    chunks: int = 0  # chunks embedded by this run
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    resumed: int = 0  # articles an earlier run left pending, finished by this one
    indexed: int = 0  # articles made searchable by this run
    interrupted: bool = False

    def summary(self) -> str:
        resumed = f", {self.resumed} resumed" if self.resumed else ""
        return (
            f"articles: {self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.duplicate} duplicate, {self.failed} failed{resumed}; {self.chunks} chunks; {self.seconds:.1f} s"
        )


@dataclass
class _Unit:
    """Texts embedded for one chunk (the chunk, then its sentences when it has several) or an article's opening."""

    article_id: str
    chunk: Chunk | None
    texts: list[str]


@dataclass
class _Job:
    """One article being embedded: its stored record and how many of its units are still to be stored."""

    record: StoredArticle
    remaining: int = 0
    vector: np.ndarray | None = None

    @property
    def meta(self) -> dict:
        article = self.record.article
        return {
            "article_id": article.id,
            "story_id": self.record.story_id,
            "source": article.source,
            "published": date_key(article.published),
        }


class Ingester:
    """Writes articles into the index; embedding is batched across articles for throughput, in bounded calls.

    `on_progress(done, total)` is called with chunks embedded and chunks known so far; `stop`, when set (Ctrl-C),
    ends the run between two calls; `lock_timeout` (default: the INGEST_LOCK_TIMEOUT setting) is how long to wait
    for another ingest on the same data directory, `on_wait` is told once if it has to wait.
    """

    def __init__(
        self,
        index: Index,
        on_article: Callable[[IngestReport], None] | None = None,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        stop: threading.Event | None = None,
        lock_timeout: float | None = None,
        on_wait: Callable[[], None] | None = None,
    ):
        self.index = index
        self.store = index.store
        self.report = IngestReport()
        self.on_article = on_article or (lambda report: None)
        self.on_progress = on_progress or (lambda done, total: None)
        self.stop = stop
        self.lock_timeout = index.settings.ingest_lock_timeout if lock_timeout is None else lock_timeout
        self.on_wait = on_wait or self._log_wait
        self._queue: dict[str, int] = {}  # article id → chunks to embed, in order
        self._queued_chunks = 0
        self._deferred = False  # `run` reads every source first, so the progress bar knows the total
        self._batch = index.settings.embedding_batch
        self._done = 0
        self._total = 0

    def _log_wait(self) -> None:
        """Library callers (the bot's feed poll, its /ingest) say in the log why they are waiting."""
        seconds = f"{self.lock_timeout:g}" if self.lock_timeout >= 0 else "∞"
        log.warning("another ingest is running on %s; waiting up to %s s", self.index.settings.data_dir, seconds)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The data directory's ingest lock, re-entrant: held for a whole `run`, or around each `add` and `flush`."""
        with ingest_lock(self.index.settings.data_dir, self.lock_timeout, self.on_wait, self.stop):
            yield

    def run(self, specs: Iterable[str], resume: bool | None = None) -> IngestReport:
        """Ingest every source in `specs`, then (if `resume`; by default only when no source is given) finish the
        articles earlier runs left pending. Sources are all read and stored (pending) before embedding starts, so
        the chunk total, the rate and the ETA are known early. A stop request ends it early, `report.interrupted`."""
        specs = list(specs)
        resume = not specs if resume is None else resume
        started = time.perf_counter()
        fetcher = Fetcher(self.index.settings)
        self._deferred = True
        try:
            with self.locked():
                for spec in specs:
                    for item in read_source(spec, fetcher):
                        self._check_stop()
                        if isinstance(item, Failure):
                            self.report.failed += 1
                            self.report.failures.append(item)
                        else:
                            self.add(item)
                        self.on_article(self.report)
                if resume:
                    for article_id in self.store.pending_ids():
                        if article_id not in self._queue:
                            self.report.resumed += 1
                            self._enqueue(article_id)
                self._deferred = False
                self.flush()
        except IngestInterrupted:
            self.report.interrupted = True
        finally:
            self._deferred = False
            fetcher.close()
            self.report.seconds = time.perf_counter() - started
        return self.report

    def add(self, article: Article) -> None:
        limit = self.index.settings.max_article_chars
        if len(article.text) > limit:
            self.report.failed += 1
            reason = phrase("article_too_long", "en", chars=len(article.text), limit=limit)
            self.report.failures.append(Failure(article.origin or article.id, reason))
            return
        with self.locked():
            self._add(article)

    def _add(self, article: Article) -> None:
        digest = content_hash(article.title, article.text)
        existing = self.store.get(article.id)
        if existing and existing.content_hash == digest:
            if existing.status == "indexed":
                self.report.unchanged += 1
            else:
                self.report.new += 1
                self._enqueue(article.id)
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

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise IngestInterrupted

    def _progress(self) -> None:
        self.on_progress(self._done, self._total)

    def _enqueue(self, article_id: str, to_embed: int | None = None) -> None:
        if article_id in self._queue:
            return
        to_embed = self.store.chunks_to_embed(article_id) if to_embed is None else to_embed
        self._queue[article_id] = to_embed
        self._queued_chunks += to_embed or 1
        self._total += to_embed
        self._progress()
        if self._queued_chunks >= self._group and not self._deferred:
            self.flush()

    @property
    def _group(self) -> int:
        """Chunks planned together: enough for full calls across small articles, few enough to hold in memory."""
        return self._batch * 4

    def flush(self) -> None:
        """Embed the queued articles' chunks in bounded calls, storing each call's vectors as it returns."""
        if not self._queue:
            return
        with self.locked():
            while self._queue:
                ids, chunks = [], 0
                while self._queue and chunks < self._group:
                    article_id = next(iter(self._queue))
                    chunks += self._queue.pop(article_id) or 1
                    ids.append(article_id)
                self._queued_chunks -= chunks
                self._embed(ids)

    def _plan(self, ids: list[str]) -> tuple[list[_Unit], dict[str, _Job]]:
        """The texts still to embed for each article; articles finished or dropped meanwhile are left out."""
        settings = self.index.settings
        units: list[_Unit] = []
        jobs: dict[str, _Job] = {}
        fresh = []
        for article_id in ids:
            record = self.store.get(article_id)
            if record is None or record.status == "indexed":
                continue
            job = jobs[article_id] = _Job(record)
            chunks = self.store.chunks_of(article_id)
            done = self.store.embedded_chunk_ids(article_id)
            if not done:
                fresh.append(article_id)
            text = record.article.text
            for chunk in chunks:
                if chunk.id not in done:
                    sentences = [text[s:e] for s, e in chunk.sentences] if len(chunk.sentences) > 1 else []
                    units.append(_Unit(article_id, chunk, [chunk.text, *sentences]))
                    job.remaining += 1
            if chunks and settings.article_vector == "embed":
                opening = self._article_text(record.article, settings.article_embed_chars)
                units.append(_Unit(article_id, None, [opening]))
                job.remaining += 1
        # Vectors of an earlier version of an article (its chunks may have other ids) go before the new ones come.
        self.index.vectors.delete_articles(fresh)
        return units, jobs

    def _batches(self, texts: list[str]) -> Iterator[tuple[int, int]]:
        """Spans of at most `embedding_batch` texts and about as many chunks' worth of characters (article openings
        are longer than chunks), so every model call takes about the same, short, time."""
        budget = self._batch * self.index.settings.chunk_chars
        start = 0
        while start < len(texts):
            end, chars = start + 1, len(texts[start])
            while end < len(texts) and end - start < self._batch and chars + len(texts[end]) <= budget:
                chars += len(texts[end])
                end += 1
            yield start, end
            start = end

    def _embed(self, ids: list[str]) -> None:
        units, jobs = self._plan(ids)
        self._finish([job for job in jobs.values() if job.remaining == 0])
        texts = [text for unit in units for text in unit.texts]
        ends = np.cumsum([len(unit.texts) for unit in units]).tolist()
        pending: list[np.ndarray] = []  # vectors of texts whose unit is not stored yet
        first = offset = 0  # the first unit not stored yet, and the index of its first text
        for start, end in self._batches(texts):
            self._check_stop()
            pending.extend(self.index.embedder.passages(texts[start:end]))
            last = first
            while last < len(units) and ends[last] <= end:
                last += 1
            if last > first:
                used = ends[last - 1] - offset
                self._store(units[first:last], pending[:used], jobs)
                pending, first, offset = pending[used:], last, ends[last - 1]

    def _store(self, units: list[_Unit], vectors: list[np.ndarray], jobs: dict[str, _Job]) -> None:
        """Save finished chunks' vectors (Chroma, then the store marks them), then finish complete articles."""
        chunk_ids, chunk_vectors, chunk_meta, sentence_rows, finished = [], [], [], [], []
        row = 0
        for unit in units:
            own = vectors[row : row + len(unit.texts)]
            row += len(unit.texts)
            job = jobs[unit.article_id]
            if unit.chunk is None:
                job.vector = own[0]
            else:
                chunk = unit.chunk
                chunk_ids.append(chunk.id)
                chunk_vectors.append(own[0])
                chunk_meta.append({**job.meta, "lang": chunk.lang})
                sentences = own[:1] if len(chunk.sentences) == 1 else own[1:]
                sentence_rows += [(chunk.id, i, np.asarray(v, np.float32).tobytes()) for i, v in enumerate(sentences)]
            job.remaining -= 1
            if job.remaining == 0:
                finished.append(job)
        if chunk_ids:
            self.index.vectors.add(chunk_ids, np.asarray(chunk_vectors, np.float32), chunk_meta, [], np.zeros(0), [])
            self.store.mark_chunks_embedded(chunk_ids, sentence_rows)
        self.report.chunks += len(chunk_ids)
        self._done += len(chunk_ids)
        self._finish(finished)
        self._progress()

    def _finish(self, jobs: list[_Job]) -> None:
        """Give complete articles their own vector and make them searchable."""
        if not jobs:
            return
        article_ids, article_vectors, article_meta = [], [], []
        for job in jobs:
            article = job.record.article
            vector = job.vector
            if vector is None:  # "mean": the mean of all its chunk vectors, stored by this run or an earlier one
                stored = list(self.index.vectors.chunk_vectors_of([article.id]).values())
                if not stored:
                    continue  # an article without chunks has no vectors
                vector = np.mean(stored, axis=0)
                vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
            article_ids.append(article.id)
            article_vectors.append(vector)
            article_meta.append({**job.meta, "lang": article.lang})
        self.index.vectors.add([], np.zeros(0), [], article_ids, np.asarray(article_vectors, np.float32), article_meta)
        self.store.mark_indexed([job.record.article.id for job in jobs])
        self.report.indexed += len(jobs)


def ingest(index: Index, specs: Iterable[str], on_article=None, resume: bool | None = None) -> IngestReport:
    return Ingester(index, on_article).run(specs, resume=resume)


def run_ingest(
    index: Index,
    specs: Iterable[str],
    *,
    resume: bool | None = None,
    before: Callable[[], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    on_wait: Callable[[], None] | None = None,
) -> IngestReport:
    """One whole ingest under a single hold of the data directory's lock (`before`, if given, runs first under it),
    stoppable through `stop`. Stopped while still waiting for the lock, nothing was done: the report is empty and
    `interrupted`, as it is when stopped mid-run."""
    ingester = Ingester(index, on_progress=on_progress, stop=stop, on_wait=on_wait)
    try:
        with ingester.locked():
            if before is not None:
                before()
            return ingester.run(specs, resume=resume)
    except IngestInterrupted:
        ingester.report.interrupted = True
        return ingester.report


def reindex(
    index: Index,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    on_wait: Callable[[], None] | None = None,
) -> IngestReport:
    """Re-embed every stored article with the configured model (after changing it): the vectors are dropped and every
    article marked pending under the same hold of the lock as the re-embedding, so no other ingest sees it half-done."""
    before = index.reset_vectors
    return run_ingest(index, (), resume=True, before=before, on_progress=on_progress, stop=stop, on_wait=on_wait)


def drop_pending(index: Index, on_wait: Callable[[], None] | None = None) -> list[str]:
    """Discard what interrupted ingests left pending, under the ingest lock (an ingest running now may finish them)."""
    settings = index.settings
    with ingest_lock(settings.data_dir, settings.ingest_lock_timeout, on_wait):
        return index.drop_pending()
