"""The article store and lexical index: one SQLite file beside Chroma, the source of truth for what is indexed.

An article is `pending` from the moment its chunks are written here until its vectors are in Chroma; search only
sees `indexed` articles, so an ingest killed half-way leaves nothing half-visible. Each chunk is marked `embedded`
once its vectors are stored, so finishing a pending article (`brief ingest --resume`) embeds only the rest.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np

from .migrations import migrate
from .models import Article, Chunk
from .textnorm import tokens

ArticleStatus = Literal["pending", "indexed"]  # stored, its vectors being written / searchable

# Search's candidate chunks with their articles' facts. CROSS JOIN fixes the order (SQLite's documented way): each
# chunk by its key, then its article. Left to itself the planner walked every indexed article (the status index)
# and probed its chunks: 40 ms per call at 13k chunks against 1 ms.
CHUNK_ROWS = (
    "SELECT c.id AS chunk_id, c.article_id, c.start, c.end, c.lang AS chunk_lang, c.text,"
    " a.title, a.source, a.url, a.published, a.lang, a.story_id, c.vector AS chunk_vector, a.vector AS article_vector"
    " FROM chunks c CROSS JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks}) AND a.status = 'indexed'"
)


@dataclass
class StoredArticle:
    article: Article
    content_hash: str
    story_id: str
    status: ArticleStatus


def published_of(row: sqlite3.Row) -> date | None:
    """The stored ISO text of an article's date as the one in-memory date type."""
    return date.fromisoformat(row["published"]) if row["published"] else None


def _row_article(row: sqlite3.Row) -> Article:
    return Article(
        id=row["id"],
        title=row["title"],
        text=row["text"],
        source=row["source"],
        via=row["via"],
        url=row["url"],
        published=published_of(row),
        lang=row["lang"],
        origin=row["origin"],
    )


def blob(vector: np.ndarray) -> bytes:
    """A vector as the store keeps it (float32, native order), and back with `vector_of`."""
    return np.asarray(vector, np.float32).tobytes()


def vector_of(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float32)


def fts_query(terms: Iterable[str]) -> str:
    """An FTS5 OR-query of bare terms, each quoted so no user text is read as FTS syntax."""
    unique = dict.fromkeys(t for t in terms if t)
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)


class Store:
    """One SQLite connection per thread (the bot answers in worker threads); WAL lets readers and a writer coexist."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            migrate(self.db, self.path)  # the schema is `retrieval.migrations`: an older release's store is upgraded
        except BaseException:
            self.close()
            raise

    @property
    def db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    # -- articles -----------------------------------------------------------------------------------------------
    def get(self, article_id: str) -> StoredArticle | None:
        row = self.db.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        if not row:
            return None
        return StoredArticle(_row_article(row), row["content_hash"], row["story_id"], row["status"])

    def id_with_hash(self, content_hash: str) -> str | None:
        row = self.db.execute("SELECT id FROM articles WHERE content_hash = ? LIMIT 1", (content_hash,)).fetchone()
        return row["id"] if row else None

    def pending_ids(self) -> list[str]:
        return [r["id"] for r in self.db.execute("SELECT id FROM articles WHERE status = 'pending' ORDER BY rowid")]

    def chunk_ids_of(self, article_ids: Sequence[str], lang: str) -> list[str]:
        """The ids of these articles' chunks in one language (cheaper here than a Chroma `where` on article ids)."""
        out: list[str] = []
        for i in range(0, len(article_ids), 500):
            batch = list(article_ids[i : i + 500])
            marks = ",".join("?" * len(batch))
            sql = f"SELECT id FROM chunks WHERE article_id IN ({marks}) AND lang = ? ORDER BY article_id, idx"
            out += [r["id"] for r in self.db.execute(sql, [*batch, lang])]
        return out

    def chunks_of(self, article_id: str) -> list[Chunk]:
        rows = self.db.execute("SELECT * FROM chunks WHERE article_id = ? ORDER BY idx", (article_id,))
        return [
            Chunk(
                r["id"],
                r["article_id"],
                r["idx"],
                r["text"],
                r["start"],
                r["end"],
                r["lang"],
                [tuple(span) for span in json.loads(r["sentences"])],
            )
            for r in rows
        ]

    def put_pending(
        self,
        article: Article,
        content_hash: str,
        story_id: str,
        chunks: list[Chunk],
        bands: list[tuple[int, str]],
        signature: bytes,
    ) -> None:
        """Write an article, its chunks and lexical terms in one transaction, marked pending."""
        with self.transaction():
            self._delete(article.id)
            self.db.execute(
                "INSERT INTO articles(id, title, text, source, via, url, published, lang, origin, content_hash,"
                " story_id, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                (
                    article.id,
                    article.title,
                    article.text,
                    article.source,
                    article.via,
                    article.url,
                    article.published.isoformat() if article.published else None,
                    article.lang,
                    article.origin,
                    content_hash,
                    story_id,
                ),
            )
            self.db.executemany(
                "INSERT INTO chunks(id, article_id, idx, start, end, lang, text, sentences)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (c.id, c.article_id, c.index, c.start, c.end, c.lang, c.text, json.dumps(c.sentences))
                    for c in chunks
                ],
            )
            self.db.executemany(
                "INSERT INTO chunk_terms(chunk_id, lang, terms) VALUES (?, ?, ?)",
                [(c.id, c.lang, " ".join(tokens(c.text))) for c in chunks],
            )
            self.db.execute(
                "INSERT INTO article_terms(article_id, lang, terms) VALUES (?, ?, ?)",
                (article.id, article.lang, " ".join(tokens(article.title + "\n" + article.text))),
            )
            self.db.executemany(
                "INSERT INTO story_bands(band, hash, article_id) VALUES (?, ?, ?)",
                [(band, value, article.id) for band, value in bands],
            )
            self.db.execute("INSERT INTO signatures(article_id, minhash) VALUES (?, ?)", (article.id, signature))

    def embedded_chunk_ids(self, article_id: str) -> set[str]:
        """The article's chunks whose vectors are already stored (by an earlier, interrupted run)."""
        rows = self.db.execute("SELECT id FROM chunks WHERE article_id = ? AND embedded = 1", (article_id,))
        return {r["id"] for r in rows}

    def chunks_to_embed(self, article_id: str) -> int:
        row = self.db.execute("SELECT count(*) FROM chunks WHERE article_id = ? AND embedded = 0", (article_id,))
        return row.fetchone()[0]

    def mark_chunks_embedded(
        self, chunk_vectors: Iterable[tuple[str, np.ndarray]], sentence_vectors: Iterable[tuple[str, int, bytes]]
    ) -> None:
        """Store the chunks' own and sentence vectors and record that their vectors are in the index, in one
        transaction."""
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO sentence_vectors(chunk_id, idx, vector) VALUES (?, ?, ?)", sentence_vectors
            )
            self.db.executemany(
                "UPDATE chunks SET embedded = 1, vector = ? WHERE id = ?", [(blob(v), i) for i, v in chunk_vectors]
            )

    def mark_indexed(self, article_ids: Iterable[str], article_vectors: Iterable[tuple[str, np.ndarray]] = ()) -> None:
        """Store the articles' vectors and make the articles visible to search, in one transaction."""
        with self.transaction():
            self.db.executemany(
                "UPDATE articles SET vector = ? WHERE id = ?", [(blob(v), i) for i, v in article_vectors]
            )
            self.db.executemany("UPDATE articles SET status = 'indexed' WHERE id = ?", [(i,) for i in article_ids])

    def missing_vectors(self, table: str, after: str, limit: int) -> list[str]:
        """Ids (in order, past `after`) of embedded chunks or indexed articles (`table`) stored before their vectors
        were kept here."""
        done = "embedded = 1" if table == "chunks" else "status = 'indexed'"  # the partial index's own terms (m005)
        sql = (
            f"SELECT id FROM {table} INDEXED BY {table}_missing_vector WHERE vector IS NULL AND {done} AND id > ?"
            " ORDER BY id LIMIT ?"
        )
        return [row[0] for row in self.db.execute(sql, (after, limit))]

    def set_vectors(self, table: str, vectors: Iterable[tuple[str, np.ndarray]]) -> None:
        """Vectors copied from the index for rows that had none (`missing_vectors`)."""
        with self.transaction():
            self.db.executemany(
                f"UPDATE {table} SET vector = ? WHERE id = ? AND vector IS NULL", [(blob(v), i) for i, v in vectors]
            )

    def pending_articles(self) -> list[dict]:
        """What an interrupted ingest left: id, title, origin, chunks and chunks embedded, oldest first."""
        rows = self.db.execute(
            "SELECT a.id, a.title, a.origin, a.ingested_at, count(c.id) AS chunks, coalesce(sum(c.embedded), 0)"
            " AS embedded FROM articles a LEFT JOIN chunks c ON c.article_id = a.id WHERE a.status = 'pending'"
            " GROUP BY a.id ORDER BY a.rowid"
        )
        return [dict(r) for r in rows]

    def drop_pending(self) -> list[str]:
        """Delete every pending article (and its chunks and terms); returns their ids, for the vector index."""
        with self.transaction():
            ids = self.pending_ids()
            for article_id in ids:
                self._delete(article_id)
        return ids

    def sentences(self, chunk_ids: Iterable[str]) -> dict[str, tuple[list[tuple[int, int]], np.ndarray | None]]:
        """Chunk id → (sentence spans into the article text, their vectors or None if not stored)."""
        out: dict[str, tuple[list[tuple[int, int]], np.ndarray | None]] = {}
        for chunk_id in dict.fromkeys(chunk_ids):
            row = self.db.execute("SELECT sentences FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
            if row is None:
                continue
            spans = [tuple(span) for span in json.loads(row["sentences"])]
            rows = self.db.execute(
                "SELECT vector FROM sentence_vectors WHERE chunk_id = ? ORDER BY idx", (chunk_id,)
            ).fetchall()
            vectors = np.stack([vector_of(r["vector"]) for r in rows]) if rows else None
            out[chunk_id] = (spans, vectors if vectors is not None and len(vectors) == len(spans) else None)
        return out

    def mark_all_pending(self) -> None:
        with self.transaction():
            self.db.execute("UPDATE articles SET status = 'pending', vector = NULL")
            self.db.execute("UPDATE chunks SET embedded = 0, vector = NULL")

    def _delete(self, article_id: str) -> None:
        chunk_ids = [r["id"] for r in self.db.execute("SELECT id FROM chunks WHERE article_id = ?", (article_id,))]
        self.db.executemany("DELETE FROM chunk_terms WHERE chunk_id = ?", [(i,) for i in chunk_ids])
        self.db.execute("DELETE FROM article_terms WHERE article_id = ?", (article_id,))
        self.db.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # -- near-duplicates ----------------------------------------------------------------------------------------
    def band_matches(self, bands: list[tuple[int, str]], exclude: str) -> dict[str, str]:
        """Articles sharing at least one LSH band with `bands`: article id → story id."""
        found: dict[str, str] = {}
        for band, value in bands:
            for row in self.db.execute(
                "SELECT a.id, a.story_id FROM story_bands b JOIN articles a ON a.id = b.article_id"
                " WHERE b.band = ? AND b.hash = ? AND a.id != ?",
                (band, value, exclude),
            ):
                found[row["id"]] = row["story_id"]
        return found

    def signature(self, article_id: str) -> bytes | None:
        row = self.db.execute("SELECT minhash FROM signatures WHERE article_id = ?", (article_id,)).fetchone()
        return row["minhash"] if row else None

    # -- lookups for search -------------------------------------------------------------------------------------
    def chunk_rows(self, chunk_ids: list[str]) -> dict[str, sqlite3.Row]:
        """Indexed chunks with their article facts, by chunk id (pending and orphaned ids are left out)."""
        rows: dict[str, sqlite3.Row] = {}
        for i in range(0, len(chunk_ids), 500):
            batch = chunk_ids[i : i + 500]
            marks = ",".join("?" * len(batch))
            for row in self.db.execute(CHUNK_ROWS.format(marks=marks), batch):
                rows[row["chunk_id"]] = row
        return rows

    def story_members(self, story_ids: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for story_id in set(story_ids):
            out[story_id] = [
                r["id"]
                for r in self.db.execute(
                    "SELECT id FROM articles WHERE story_id = ? AND status = 'indexed' ORDER BY published, id",
                    (story_id,),
                )
            ]
        return out

    def lexical_chunks(self, query: str, limit: int, langs: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
        """Chunk ids of each language ranked by BM25 over the normalised terms (higher score is better), from one
        pass over the index: matching the terms is most of a query's cost, and a query per language matched them all
        once per language."""
        return self._lexical("chunk_terms", "chunk_id", query, limit, langs)

    def lexical_articles(self, query: str, limit: int, langs: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
        return self._lexical("article_terms", "article_id", query, limit, langs)

    def _lexical(
        self, table: str, key: str, query: str, limit: int, langs: Sequence[str]
    ) -> dict[str, list[tuple[str, float]]]:
        out: dict[str, list[tuple[str, float]]] = {lang: [] for lang in langs}
        if not query or not langs:
            return out
        marks = ",".join("?" * len(langs))
        sql = (
            f"WITH hits AS MATERIALIZED (SELECT {key} AS id, lang, bm25({table}) AS rank, rowid AS n"
            f" FROM {table} WHERE {table} MATCH ?)"
            " SELECT id, lang, rank FROM (SELECT id, lang, rank, row_number() OVER (PARTITION BY lang ORDER BY rank, n)"
            f" AS place FROM hits WHERE lang IN ({marks})) WHERE place <= ? ORDER BY lang, place"
        )
        for r in self.db.execute(sql, [query, *langs, limit]):
            out[r["lang"]].append((r["id"], -r["rank"]))
        return out

    def document_frequencies(self, terms: Iterable[str]) -> tuple[dict[str, int], int]:
        """How many passages hold each term, and how many passages hold any of them: what makes a word rare among
        the passages about the question's subject. Counting against those, not against the whole store, keeps the
        weights the same when pages on other subjects are added."""
        wanted = [t for t in dict.fromkeys(terms) if t]
        if not wanted:
            return {}, 0
        total = self.db.execute(
            "SELECT count(*) FROM chunk_terms WHERE chunk_terms MATCH ?", (fts_query(wanted),)
        ).fetchone()[0]
        marks = ",".join("?" * len(wanted))
        rows = self.db.execute(f"SELECT term, doc FROM chunk_vocab WHERE term IN ({marks})", wanted).fetchall()
        return {r["term"]: r["doc"] for r in rows}, total

    # -- stats --------------------------------------------------------------------------------------------------
    def stats(self) -> dict:
        one = self.db.execute
        indexed = "FROM articles WHERE status = 'indexed'"
        return {
            "articles": one(f"SELECT count(*) {indexed}").fetchone()[0],
            "pending": one("SELECT count(*) FROM articles WHERE status = 'pending'").fetchone()[0],
            "chunks": one(
                "SELECT count(*) FROM chunks c JOIN articles a ON a.id = c.article_id WHERE a.status = 'indexed'"
            ).fetchone()[0],
            "stories": one(f"SELECT count(DISTINCT story_id) {indexed}").fetchone()[0],
            "by_lang": dict(one(f"SELECT lang, count(*) {indexed} GROUP BY lang ORDER BY 2 DESC").fetchall()),
            "by_source": dict(one(f"SELECT source, count(*) {indexed} GROUP BY source ORDER BY 2 DESC, 1").fetchall()),
            "by_month": dict(
                one(
                    f"SELECT coalesce(substr(published, 1, 7), 'undated'), count(*) {indexed} GROUP BY 1 ORDER BY 1"
                ).fetchall()
            ),
            "date_range": list(one(f"SELECT min(published), max(published) {indexed}").fetchone()),
        }

    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM articles WHERE status = 'indexed' LIMIT 1").fetchone() is None

    def latest(self, n: int) -> list[Article]:
        rows = self.db.execute(
            "SELECT * FROM articles WHERE status = 'indexed'"
            " ORDER BY published IS NULL, published DESC, ingested_at DESC LIMIT ?",
            (n,),
        )
        return [_row_article(row) for row in rows]

    def published_between(self, since: date, until: date) -> list[Article]:
        rows = self.db.execute(
            "SELECT * FROM articles WHERE status = 'indexed' AND published BETWEEN ? AND ? ORDER BY published, id",
            (since.isoformat(), until.isoformat()),
        )
        return [_row_article(row) for row in rows]

    def story_ids(self, article_ids: Iterable[str]) -> dict[str, str]:
        """Article id → story id, in one query per 500 ids."""
        ids, out = list(dict.fromkeys(article_ids)), dict[str, str]()
        for i in range(0, len(ids), 500):
            batch = ids[i : i + 500]
            marks = ",".join("?" * len(batch))
            out.update(self.db.execute(f"SELECT id, story_id FROM articles WHERE id IN ({marks})", batch).fetchall())
        return out

    def iter_articles(self) -> Iterator[Article]:
        for row in self.db.execute("SELECT * FROM articles WHERE status = 'indexed' ORDER BY published, id"):
            yield _row_article(row)


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
