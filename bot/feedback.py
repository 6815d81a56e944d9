"""👍/👎 on answers, kept with the question and the articles it cited, for later review."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from retrieval.answers import Answer


class FeedbackStore:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS feedback (at TEXT NOT NULL DEFAULT (datetime('now')), user_id INTEGER,"
                " chat_id INTEGER, vote INTEGER NOT NULL, question TEXT NOT NULL, mode TEXT NOT NULL,"
                " answered INTEGER NOT NULL, article_ids TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def record(self, user_id: int | None, chat_id: int, vote: int, answer: Answer) -> None:
        articles = json.dumps([c.article_id for c in answer.citations])
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO feedback(user_id, chat_id, vote, question, mode, answered, article_ids)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user_id, chat_id, vote, answer.question, answer.mode, int(answer.answered), articles),
            )

    def all(self) -> list[dict]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM feedback ORDER BY rowid")]
