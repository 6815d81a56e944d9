"""Whether the article index can be read, checked before each answer.

An embedded Chroma index and the SQLite store keep serving whatever they hold in memory after their files are
deleted, so some questions would get answers from a cache and others errors. Checking the files (or the Chroma
server's heartbeat) before each answer makes an unreadable index one state: every user is told politely, and the
admin's log gets one error when it breaks and one line when it is back.
"""

from __future__ import annotations

import logging
import os
import threading

from retrieval.errors import BriefError
from retrieval.index import Index

log = logging.getLogger(__name__)


class IndexUnreadableError(BriefError, RuntimeError):
    """The article index cannot be read: its files are gone or unreadable, or its server does not answer."""


class IndexHealth:
    def __init__(self, index: Index):
        """Made at start: the index files present then must stay (a bot started before any ingest has none yet)."""
        self.index = index
        self.broken: str | None = None
        self._lock = threading.Lock()
        settings = index.settings
        files = [settings.store_path] + ([] if settings.chroma_host else [settings.chroma_path / "chroma.sqlite3"])
        self.files = [path for path in files if path.exists()]

    def problem(self) -> str | None:
        """Why the index cannot be read now, or None. Blocking (a server heartbeat): call it from a worker."""
        settings = self.index.settings
        if settings.chroma_host:
            try:
                self.index.vectors.client.heartbeat()
            except Exception as error:  # any failure to answer means unreadable; the reason goes to the log
                return f"the Chroma server at {settings.chroma_host}:{settings.chroma_port} does not answer: {error}"
        for path in self.files:
            if not os.access(path, os.R_OK):
                return f"{path} is missing or unreadable"
        return None

    def check(self) -> None:
        """Raise IndexUnreadableError when the index cannot be read; log each change of state once."""
        problem = self.problem()
        with self._lock:
            changed, self.broken = problem != self.broken, problem
        if problem is not None:
            if changed:
                log.error(
                    "the article index cannot be read (%s): every question gets an apology until it is back "
                    "(restore the data directory or rebuild it with `brief ingest`, then restart)",
                    problem,
                )
            raise IndexUnreadableError(problem)
        if changed:
            log.warning("the article index can be read again")
