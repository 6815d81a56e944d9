"""What the feed poller remembers of each feed: validators for conditional GETs, back-off, counts, last error.

It is the poller's own table (`feed_state`) under its own migrations (`_feed_migrations`), kept in the article
store's SQLite file: a feed's ETag / Last-Modified say what the store already holds, so they must live and die
with the articles (a fresh store with old validators would get 304s and never receive those items again), and
moving the rows of earlier releases is one transaction in one file. Nothing else reads or writes this table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from .migrations import migrate


@dataclass
class FeedState:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    last_success: str | None = None  # "YYYY-MM-DD HH:MM:SS UTC"
    last_error: str | None = None
    error_at: str | None = None
    failures: int = 0  # in a row; 0 after a success
    next_try: float = 0.0  # epoch seconds before which the feed is not fetched unless asked
    items_seen: int = 0
    items_new: int = 0


COLUMNS = [f.name for f in fields(FeedState)]


def m001_feed_state(db: sqlite3.Connection) -> None:
    """The poller's table; the rows earlier releases kept in the article store's `feeds` table move into it."""
    db.execute(
        """CREATE TABLE feed_state (
            url TEXT PRIMARY KEY,
            etag TEXT,
            last_modified TEXT,
            last_success TEXT,
            last_error TEXT,
            error_at TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            next_try REAL NOT NULL DEFAULT 0,
            items_seen INTEGER NOT NULL DEFAULT 0,
            items_new INTEGER NOT NULL DEFAULT 0
        )"""
    )
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feeds'").fetchone():
        columns = ", ".join(COLUMNS)
        db.execute(f"INSERT INTO feed_state({columns}) SELECT {columns} FROM feeds")
        db.execute("DROP TABLE feeds")


MIGRATIONS = [m001_feed_state]


class FeedStates:
    """The feed poller's records in the store file at `path`; one short connection per call (polls are rare)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        with self._connect() as db:
            migrate(db, self.path, MIGRATIONS, table="_feed_migrations")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            yield db
        finally:
            db.close()

    def get(self, url: str) -> FeedState:
        """The feed's record; a feed never polled has a fresh one (due now, no validators)."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM feed_state WHERE url = ?", (url,)).fetchone()
        return FeedState(**dict(row)) if row else FeedState(url)

    def save(self, state: FeedState) -> None:
        marks = ", ".join("?" * len(COLUMNS))
        with self._connect() as db:
            db.execute(f"INSERT OR REPLACE INTO feed_state({', '.join(COLUMNS)}) VALUES ({marks})", astuple(state))

    def all(self) -> list[FeedState]:
        with self._connect() as db:
            return [FeedState(**dict(row)) for row in db.execute("SELECT * FROM feed_state ORDER BY url")]
