"""An ingest killed with SIGKILL leaves a consistent index, and a rerun completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from retrieval.index import Index
from retrieval.search import Retriever
from retrieval.settings import Settings

from .helpers import BRIEF, brief, counts, write_corpus

ARTICLES = 24  # enough that a kill after the first one lands mid-way


def test_sigkill_mid_ingest_then_rerun(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_corpus(corpus, ARTICLES)
    data = tmp_path / "data"
    env_data = {"BRIEF_DATA_DIR": str(data), "EMBEDDING_BATCH": "2"}  # several commits in a small corpus
    process = subprocess.Popen(
        [BRIEF, "ingest", str(corpus)], env={**os.environ, **env_data}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    db_path = data / "store.sqlite3"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if db_path.exists() and counts(db_path).get("indexed", 0) >= 1:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    killed = counts(db_path)
    assert 1 <= killed.get("indexed", 0) < ARTICLES, f"killed mid-way: {killed}"

    # Consistent after the kill: search sees only fully indexed articles.
    settings = Settings(_env_file=None, brief_data_dir=data)
    index = Index(settings, embedder=embedder)
    indexed = {a.id for a in index.store.iter_articles()}
    for hit in Retriever(index).search("shells near Goris", k=20, per_article=None):
        assert hit.article_id in indexed
    index.close()

    rerun = brief(data, "ingest", str(corpus))
    assert rerun.returncode == 0, rerun.stderr
    assert counts(db_path) == {"indexed": ARTICLES}
    index = Index(Settings(_env_file=None, brief_data_dir=data), embedder=embedder)
    stats = index.store.stats()
    assert index.vectors.count("chunks") == stats["chunks"]
    assert index.vectors.count("articles") == ARTICLES
    again = brief(data, "ingest", str(corpus))
    assert f"0 new, 0 updated, {ARTICLES} unchanged" in again.stdout
