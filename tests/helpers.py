"""Helpers the test modules share (test modules never import one another): the `brief` console script run as a
user runs it, a free local port, a throw-away corpus of small border reports, and the groundedness check of an
answer."""

from __future__ import annotations

import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

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
    try:
        with sqlite3.connect(db_path, timeout=10) as db:
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
