"""The article store's schema as ordered, named migrations, in the manner of simonw/llm's `migrations.py`.

Each migration is a function `mNNN_what(db)`, applied once, in order, and recorded by name in a table
(`_migrations` for the article store); opening the store runs whatever it has not recorded yet. A file that records
a name this code does not know was written by a newer release: it is refused before anything is touched, since this
code cannot know what that release changed. Stores made before migrations were recorded (no `_migrations` table)
are brought in by the same list: every migration checks what is already there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import BriefError

Migration = Callable[[sqlite3.Connection], None]


class NewerStoreError(BriefError, RuntimeError):
    """The file was migrated by a newer release of Caucasus Brief: this one must not write to it."""


def applied(db: sqlite3.Connection, table: str) -> list[str]:
    """The names recorded in `table`, oldest first (none when the file predates migrations)."""
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    if not exists:
        return []
    return [row[0] for row in db.execute(f'SELECT name FROM "{table}" ORDER BY rowid')]


def migrate(
    db: sqlite3.Connection, path: Path | str, migrations: Sequence[Migration] | None = None, table: str = "_migrations"
) -> list[str]:
    """Apply the migrations `db` has not recorded, in order, in one write transaction; returns the names applied.

    `db` must be in autocommit mode (`isolation_level=None`): the migrations and their records commit together, so a
    crash or a second process opening the same file at the same moment leaves each migration applied exactly once.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    names = [m.__name__ for m in migrations]
    if set(_recorded(db, names, table, path)) >= set(names):
        return []  # the usual case: no write lock taken
    db.execute("BEGIN IMMEDIATE")
    try:
        done = set(_recorded(db, names, table, path))  # again: another process may have migrated meanwhile
        db.execute(
            f'CREATE TABLE IF NOT EXISTS "{table}" (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT'
            " (strftime('%Y-%m-%d %H:%M:%f', 'now')))"
        )
        ran = []
        for migration in migrations:
            if migration.__name__ in done:
                continue
            migration(db)
            db.execute(f'INSERT INTO "{table}"(name) VALUES (?)', (migration.__name__,))
            ran.append(migration.__name__)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return ran


def _recorded(db: sqlite3.Connection, names: list[str], table: str, path: Path | str) -> list[str]:
    """The recorded names, after checking that this code knows every one of them."""
    recorded = applied(db, table)
    unknown = [name for name in recorded if name not in names]
    if unknown:
        raise NewerStoreError(
            f"{path} was written by a newer release of Caucasus Brief (its migrations {', '.join(unknown)} are"
            " unknown here): upgrade Caucasus Brief, or set BRIEF_DATA_DIR to another directory"
        )
    return recorded


def _run(db: sqlite3.Connection, script: str) -> None:
    """Each statement on its own: `executescript` would commit the migration's transaction half-way."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')}


# -- the article store's migrations: append only, never edit one that has shipped --------------------------------


def m001_initial(db: sqlite3.Connection) -> None:
    """The schema of the first releases (a store of theirs already has all of it: every statement is IF NOT EXISTS).
    Not here: their `meta` table (see m003) and `feeds`, which is the feed poller's (`retrieval.feed_state`)."""
    _run(
        db,
        """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    via TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    published TEXT,
    lang TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL,
    story_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'indexed')),
    ingested_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE INDEX IF NOT EXISTS articles_status ON articles(status);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    lang TEXT NOT NULL,
    text TEXT NOT NULL,
    sentences TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS sentence_vectors (
    chunk_id TEXT NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (chunk_id, idx)
);
CREATE TABLE IF NOT EXISTS story_bands (
    band INTEGER NOT NULL,
    hash TEXT NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS story_bands_key ON story_bands(band, hash);
CREATE INDEX IF NOT EXISTS story_bands_article ON story_bands(article_id);
CREATE TABLE IF NOT EXISTS signatures (
    article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    minhash BLOB NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5(chunk_id UNINDEXED, lang UNINDEXED, terms);
CREATE VIRTUAL TABLE IF NOT EXISTS article_terms USING fts5(article_id UNINDEXED, lang UNINDEXED, terms);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vocab USING fts5vocab(chunk_terms, 'row');
""",
    )


def m002_chunks_embedded(db: sqlite3.Connection) -> None:
    """Each chunk records whether its vectors are stored, so a resumed ingest embeds only the rest. The chunks of
    articles already indexed were embedded. (Stores made between this column and recorded migrations have it.)"""
    if "embedded" in _columns(db, "chunks"):
        return
    db.execute("ALTER TABLE chunks ADD COLUMN embedded INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE chunks SET embedded = 1 WHERE article_id IN (SELECT id FROM articles WHERE status = 'indexed')")


def m003_no_schema_version(db: sqlite3.Connection) -> None:
    """Earlier stores wrote `meta.schema_version` and nothing read it; `_migrations` records the schema now. Their
    `meta` table goes too, unless it holds something else (early releases let other keys be set)."""
    if "key" not in _columns(db, "meta"):
        return
    db.execute("DELETE FROM meta WHERE key = 'schema_version'")
    if db.execute("SELECT 1 FROM meta LIMIT 1").fetchone() is None:
        db.execute("DROP TABLE meta")


def m004_vectors_in_store(db: sqlite3.Connection) -> None:
    """Each chunk and article keeps its vector (float32) beside its row: a question re-scores ~100 candidates, and
    reading their vectors back from Chroma by id took four calls of ≈ 5 ms each, a fifth of an answer. Stored by
    ingest from now on; an index opened with vectors missing here copies them from Chroma once
    (`retrieval/index.py`)."""
    for table in ("chunks", "articles"):
        if "vector" not in _columns(db, table):
            db.execute(f"ALTER TABLE {table} ADD COLUMN vector BLOB")


def m005_missing_vector_indexes(db: sqlite3.Connection) -> None:
    """Opening an index looks for rows still without a vector (`Store.missing_vectors`); with no index that walked
    every chunk and article, 0.44 s cold at 13k chunks, on every command. These hold only such rows: nearly none."""
    db.execute("CREATE INDEX IF NOT EXISTS chunks_missing_vector ON chunks(id) WHERE vector IS NULL AND embedded = 1")
    db.execute(
        "CREATE INDEX IF NOT EXISTS articles_missing_vector ON articles(id) WHERE vector IS NULL AND status = 'indexed'"
    )


MIGRATIONS: list[Migration] = [
    m001_initial,
    m002_chunks_embedded,
    m003_no_schema_version,
    m004_vectors_in_store,
    m005_missing_vector_indexes,
]
