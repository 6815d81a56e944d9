"""Today's ingest against this tree's, side by side in one run, as ratios (issue 11).

"Today" is the code at a baseline git revision (default: `git merge-base HEAD main`), exported with `git archive`
into bench/.work/ingest-speed/<rev>/ and run with this venv's python and PYTHONPATH pointing there (no second
install); "new" is the working tree. For each, on the same texts:

- end-to-end `brief ingest` (the console script's entry point, read from each tree's pyproject.toml) into a fresh
  data directory: articles/s and chunks/s, and the process's peak RSS, on (a) XQuAD-R paragraphs written as article
  files and (b) a news-like JSONL file (bench/news/articles, copies marked as updates past its 33 articles);
- query embedding p50/p95 alone, then while an ingest runs in the same process (a thread ingesting, as the bot's feed
  poll does, while the main thread embeds a question every 50 ms), each question embedded as the bot's answers do
  it in a tree that has these: inside `index.quiet.question()`, at `bot.app.SWITCH_INTERVAL`;
- `brief run` itself (`--only bot`, not in the default set: ≈ 10 min): each tree ingests `--bot-store` articles of
  the shared sets, then runs as a bot process (bench/bot_load.py's `bot_under_ingest`: a fake Bot API, 10 users at 4
  questions/s) while its own feed poll ingests `--bot-feed` more: the bot's peak RSS, answer p50/p95 with no ingest
  and during the feed ingest, and the feed's articles/s.

    python bench/ingest_speed.py [--articles N] [--baseline REV] [--queries N] [--repeat N]
                                 [--only xquad,news,queries,bot]

EMBEDDING_ENGINE, EMBEDDING_THREADS, EMBEDDING_BATCH, OMP_* and the like pass through the environment to both sides
unchanged. On a shared machine the numbers are indicative: compare the ratios of one run, not runs with each other.
Interference only ever slows a run, so with `--repeat N` each side ingests each corpus N times, turn about, and its
fastest run counts (as `timeit` takes the minimum); on this 2-core machine one ingest's time moves by ±15%.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work" / "ingest-speed"
XQUAD = ROOT.parent / "shared" / "eval" / "xquad_r" / "passages.jsonl"
NEWS = ROOT / "bench" / "news" / "articles"
QUESTIONS = [
    "How many soldiers did Azerbaijan say it lost in the September 2022 border clashes?",
    "ما الذي اتفقت عليه أرمينيا وأذربيجان في واشنطن؟",
    "When did the Russian peacekeepers leave Karabakh?",
    "كم عدد اللاجئين الذين غادروا ناغورنو كاراباخ؟",
]

# Run in the tree under test (PYTHONPATH) as `python -c PROBE corpus data_dir queries`: query latencies alone, then
# while a thread ingests the corpus through that tree's own Ingester, in the same process.
PROBE = r"""
import contextlib, json, sys, threading, time
from retrieval.index import Index
from retrieval.ingest import Ingester
from retrieval.settings import Settings
corpus, data_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
questions = json.loads(sys.argv[4])
index = Index(Settings(_env_file=None, brief_data_dir=data_dir, chroma_host=None))
try:  # the interpreter's switch interval `brief run` sets, in a tree that sets one
    from bot.app import SWITCH_INTERVAL
    sys.setswitchinterval(SWITCH_INTERVAL)
except ImportError:
    pass
quiet = getattr(index, "quiet", None)  # a question's index work, which vector writes give way to (if the tree has it)
def timed(i):
    started = time.perf_counter()
    with quiet.question() if quiet is not None else contextlib.nullcontext():
        index.embedder.query(questions[i % len(questions)] + f" ({i})")
    return (time.perf_counter() - started) * 1000
timed(0)
alone = [timed(i) for i in range(n)]
done = threading.Event()
def ingest():
    try:
        Ingester(index).run([corpus])
    finally:
        done.set()
thread = threading.Thread(target=ingest)
thread.start()
busy, i = [], 0
while not done.is_set():
    busy.append(timed(i))
    i += 1
    time.sleep(0.05)
thread.join()
print(json.dumps({"alone": alone, "busy": busy}))
"""

# Runs `brief` (argv[1] = "module:function") as a child and reports the child's peak RSS (kB) on the last stderr line.
MEASURED = r"""
import resource, subprocess, sys
code = subprocess.call([sys.executable, "-c", f"import sys; from {sys.argv[1].split(':')[0]} import "
                        f"{sys.argv[1].split(':')[1]} as main; sys.argv[0] = 'brief'; main()", *sys.argv[2:]])
print(f"PEAK_RSS_KB {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def export_baseline(rev: str) -> Path:
    """The tree at `rev`, unpacked once under bench/.work/ingest-speed/."""
    commit = git("rev-parse", rev)
    target = WORK / f"tree-{commit[:12]}"
    if not (target / "pyproject.toml").exists():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        archive = WORK / f"{commit[:12]}.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), commit], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        archive.unlink()
    return target


def entry_point(tree: Path) -> str:
    scripts = tomllib.loads((tree / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    return scripts["brief"]


def xquad_corpus(folder: Path, n: int) -> int:
    """The first `n` XQuAD-R paragraphs (Arabic and English alternating) as .txt article files."""
    paragraphs: dict[str, list[dict]] = {}
    for line in XQUAD.open(encoding="utf-8"):
        p = json.loads(line)
        paragraphs.setdefault(f"{p['lang']}_{p['paragraph_id']}", []).append(p)
    by_lang = {lang: [k for k in paragraphs if k.startswith(lang)] for lang in ("ar", "en")}
    chosen = [k for pair in zip(by_lang["ar"], by_lang["en"], strict=False) for k in pair][:n]
    folder.mkdir(parents=True, exist_ok=True)
    for key in chosen:
        sentences = sorted(paragraphs[key], key=lambda p: p["sent_pos"])
        body = " ".join(" ".join(p["text"].split()) for p in sentences)
        (folder / f"{key}.txt").write_text(f"Paragraph {key}\n\n{body}\n", "utf-8")
    return len(chosen)


def news_corpus(path: Path, n: int) -> int:
    """`n` news records in one JSONL file: the check set's articles, then copies of them marked as updates."""
    articles = []
    for file in sorted(NEWS.glob("*.txt")):
        title, _, body = file.read_text("utf-8").partition("\n")
        articles.append({"title": title.strip(), "text": body.strip(), "lang": file.name[:2], "source": "news"})
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            record = dict(articles[i % len(articles)], id=f"news-{i}")
            if i >= len(articles):
                record["text"] = f"Update {i // len(articles)}: {record['text']}"
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return n


def environment(tree: Path, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHROMA_", "BRIEF_"))}
    return {**env, "PYTHONPATH": str(tree), "BRIEF_DATA_DIR": str(data_dir), "ANONYMIZED_TELEMETRY": "False"}


def run_ingest(tree: Path, source: Path, data_dir: Path, articles: int) -> dict:
    shutil.rmtree(data_dir, ignore_errors=True)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", MEASURED, entry_point(tree), "ingest", str(source)],
        capture_output=True,
        text=True,
        env=environment(tree, data_dir),
        cwd=WORK,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"brief ingest failed in {tree}:\n{result.stderr[-2000:]}")
    rss = int(result.stderr.strip().splitlines()[-1].split()[-1])
    chunks = int(result.stdout.split(" chunks;")[0].rsplit(" ", 1)[-1])
    return {"seconds": seconds, "articles/s": articles / seconds, "chunks/s": chunks / seconds, "peak MB": rss / 1024}


def run_probe(tree: Path, source: Path, data_dir: Path, queries: int) -> dict:
    shutil.rmtree(data_dir, ignore_errors=True)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(source), str(data_dir), str(queries), json.dumps(QUESTIONS)],
        capture_output=True,
        text=True,
        env=environment(tree, data_dir),
        cwd=WORK,
    )
    if result.returncode != 0:
        raise SystemExit(f"query probe failed in {tree}:\n{result.stderr[-2000:]}")
    got = json.loads(result.stdout.strip().splitlines()[-1])
    out = {}
    for name in ("alone", "busy"):
        values = sorted(got[name])
        out[f"query p50 ms ({name})"] = statistics.median(values)
        out[f"query p95 ms ({name})"] = values[min(len(values) - 1, int(0.95 * len(values)))]
    out["queries during ingest"] = len(got["busy"])
    return out


def run_bot(tree: Path, store: Path, held: list, data_dir: Path) -> dict:
    """`brief run` of `tree` answering, then answering while its feed poll ingests `held`, on a store of its own."""
    import asyncio

    import bot_load  # bench/bot_load.py (imports this tree's bot and retrieval: the bench's side only)

    shutil.rmtree(data_dir, ignore_errors=True)
    run_ingest(tree, store, data_dir / "data", 0)
    module, _, function = entry_point(tree).partition(":")
    command = [sys.executable, "-c", f"import sys; from {module} import {function} as main; sys.argv[0] = 'brief'; "
               "main()", "run"]  # fmt: skip
    load = argparse.Namespace(users=10, rate=4.0, baseline_seconds=20.0, poll_seconds=5.0, ingest_timeout=1800.0)
    run = asyncio.run(bot_load.bot_under_ingest(command, data_dir / "data", held, load, {"PYTHONPATH": str(tree)}))
    if run.error:
        raise SystemExit(f"brief run failed in {tree}: {run.error}")
    latency = bot_load.latency_ms
    return {
        "peak MB": run.peak_mb,
        "answer p50 ms (no ingest)": latency(run.baseline, 50),
        "answer p95 ms (no ingest)": latency(run.baseline, 95),
        "answer p50 ms (feed ingest)": latency(run.during, 50),
        "answer p95 ms (feed ingest)": latency(run.during, 95),
        "feed articles/s": run.added / run.seconds,
        "apologies": run.apologies,
    }


def bot_corpora(folder: Path, store: int, feed: int) -> tuple[Path, list]:
    """A JSONL file of `store` texts of the shared sets, and `feed` others (the feed's, held back from the store)."""
    import big_store  # bench/big_store.py

    kept, held = big_store.split(big_store.shared_texts(), feed)
    path = folder / "bot-store.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i, t in enumerate(kept[:store]):
            record = {"id": f"store-{i}", "title": t.title or f"Item {i}", "text": t.text, "lang": t.lang}
            out.write(json.dumps({**record, "source": t.source}, ensure_ascii=False) + "\n")
    return path, held


def table(results: dict[str, dict[str, dict]]) -> str:
    """One row per measure: today, new, new/today."""
    lines = [f"{'measure':44} {'today':>10} {'new':>10} {'ratio':>7}", "-" * 74]
    for corpus, sides in results.items():
        for measure in sides["today"]:
            today, new = sides["today"][measure], sides["new"][measure]
            ratio = f"{new / today:.2f}" if today else "-"
            lines.append(f"{corpus + ': ' + measure:44} {today:10.2f} {new:10.2f} {ratio:>7}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=60, help="articles per corpus (default 60)")
    parser.add_argument("--baseline", help="git revision of today's code (default: git merge-base HEAD main)")
    parser.add_argument("--queries", type=int, default=20, help="query embeddings timed alone (default 20)")
    parser.add_argument("--only", default="xquad,news,queries", help="which measures (default: all)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="ingest runs per side and corpus; each side's fastest counts (default 1)"
    )
    parser.add_argument("--bot-store", type=int, default=300, help="articles in each bot's store (default 300)")
    parser.add_argument("--bot-feed", type=int, default=60, help="articles in the bot's feed (default 60)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    baseline = args.baseline or git("merge-base", "HEAD", "main")
    trees = {"today": export_baseline(baseline), "new": ROOT}
    print(
        f"today = {git('rev-parse', '--short', baseline)}, new = working tree at {git('rev-parse', '--short', 'HEAD')}"
    )
    corpora = WORK / "corpora"
    shutil.rmtree(corpora, ignore_errors=True)
    xquad_n = xquad_corpus(corpora / "xquad", args.articles)
    news_n = news_corpus(corpora / "news.jsonl", args.articles)
    only = set(args.only.split(","))
    results: dict[str, dict[str, dict]] = {}
    for name, source, n in (("xquad", corpora / "xquad", xquad_n), ("news", corpora / "news.jsonl", news_n)):
        if name in only:
            results[name] = {side: {} for side in trees}
            for _ in range(args.repeat):  # the sides take turns, so a slow spell of the machine falls on both
                for side, tree in trees.items():
                    run = run_ingest(tree, source, WORK / f"data-{side}", n)
                    if not results[name][side] or run["seconds"] < results[name][side]["seconds"]:
                        results[name][side] = run
            print(f"{name}: {json.dumps(results[name])}", file=sys.stderr, flush=True)
    if "queries" in only:
        results["queries"] = {
            side: run_probe(tree, corpora / "news.jsonl", WORK / f"probe-{side}", args.queries)
            for side, tree in trees.items()
        }
    if "bot" in only:
        store, held = bot_corpora(corpora, args.bot_store, args.bot_feed)
        results["bot"] = {side: run_bot(tree, store, held, WORK / f"bot-{side}") for side, tree in trees.items()}
        print(f"bot: {json.dumps(results['bot'])}", file=sys.stderr, flush=True)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
