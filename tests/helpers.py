"""Helpers the test modules share (test modules never import one another; fixtures live in conftest.py): the repo's
corpus paths, an embedded store of a few sources, the `brief` console script run as a user runs it, a free local
port, a throw-away corpus of small border reports, another writer holding the ingest lock, and the groundedness
check of an answer."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from retrieval.embeddings import Embedder
from retrieval.index import Index
from retrieval.ingest import ingest
from retrieval.ingest_lock import ingest_lock
from retrieval.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CORPUS = Path(__file__).resolve().parent / "corpus"
SEED_FILE = SEEDS / "000_104105c63aa4b763.txt"

BRIEF = str(Path(sys.executable).with_name("brief"))
PLACES = ["Goris", "Jermuk", "Sotk", "Tavush", "Lachin", "Shusha", "Agdam", "Kalbajar", "Fuzuli", "Jabrayil"]


def brief(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHROMA_", "EMBEDDING_", "OPENAI_"))}
    env["BRIEF_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [BRIEF, *args], input=stdin, capture_output=True, text=True, env=env, timeout=300, cwd=data_dir.parent
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_corpus(folder: Path, n: int) -> None:
    """`n` small English reports, one article each, different enough not to be near-duplicates."""
    rng = random.Random(5)
    for i in range(n):
        place = PLACES[i % len(PLACES)]
        sentences = [
            f"Report {i}: officials in {place} described incident number {i * 7 + 3} on the border.",
            f"Witnesses counted {rng.randint(2, 900)} shells near {place} on day {i}.",
            f"The ministry said {rng.randint(1, 60)} people were evacuated from village {i}.",
        ]
        (folder / f"report_{i:03}.txt").write_text(f"Border report {i} from {place}\n\n" + " ".join(sentences), "utf-8")


def counts(db_path: Path) -> dict[str, int]:
    """Articles by status, read straight from the store as another process sees it."""
    try:  # closed at once: a connection left open loses its POSIX locks when this process copies the file
        with closing(sqlite3.connect(db_path, timeout=10)) as db:
            return dict(db.execute("SELECT status, count(*) FROM articles GROUP BY status").fetchall())
    except sqlite3.OperationalError:  # the file exists, its schema not yet: nothing indexed
        return {}


def assert_grounded(answer, index):
    """Every line cites [n], every n resolves to a stored article, every quote is verbatim in that article."""
    assert answer.citations
    numbers = {c.n for c in answer.citations}
    for line in answer.text.splitlines():
        if line.endswith(":") and "[" not in line:
            continue  # a framing line ("Outlets give different figures:")
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", line)}
        assert cited and cited <= numbers, line
    for citation in answer.citations:
        article = index.store.get(citation.article_id).article
        for part in citation.quote.split(" … "):
            assert part in article.text
        assert citation.source == article.source and citation.url == article.url


def jsonl(path: Path, *records: dict) -> Path:
    """A JSONL source file of article records (the form whose metadata ingest keeps as given)."""
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    return path


@contextmanager
def ingest_lock_held_elsewhere(data_dir: Path) -> Iterator[None]:
    """The data directory's ingest lock held by another writer (`brief ingest`, the bot's feed poll) while the
    block runs. The lock is per thread, so a thread stands in for the other process."""
    held, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with ingest_lock(data_dir, 0):
            held.set()
            release.wait(120)

    thread = threading.Thread(target=other_writer)
    thread.start()
    try:
        assert held.wait(10)
        yield
    finally:
        release.set()
        thread.join()


@contextmanager
def ingested(directory: Path, embedder: Embedder, *sources: Path) -> Iterator[Index]:
    """An embedded store holding `sources`, for a module's tests to share (embedding is the slow part)."""
    index = Index(Settings(_env_file=None, brief_data_dir=directory, chroma_host=None), embedder=embedder)
    try:
        assert ingest(index, [str(s) for s in sources]).failed == 0
        yield index
    finally:
        index.close()
