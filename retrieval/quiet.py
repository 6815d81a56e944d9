"""Index writes that give way to questions answered in the same process (the bot's feed poll beside its answers).

Chroma's embedded client holds Python's interpreter lock for the whole of a write: about 20 ms plus 0.6 ms a vector
at 13k chunks, 100 ms for 128 vectors. Every thread of the process stops meanwhile, so an answer that met a write
took that much longer. While questions are being answered, vectors are therefore written in small pieces, each when
no question is in progress (or after `patience` seconds at the latest, so that an ingest still moves on under a
stream of questions) and followed by a pause as long as the piece took: pieces back to back changed nothing (answer
p95 during a feed ingest 233 ms), with the pause it fell to 155 ms (bench/bot_load.py --under-ingest). With no
question in the last `recent` seconds (`brief ingest`, a quiet bot) writes go out whole: small pieces cost more in
all (8 × 16 vectors ≈ 170 ms against 100 ms for 128 at once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

PIECE = 16  # vectors per write while questions are answered: ≈ 20 ms, the longest a question then waits for one


class QuietWrites:
    def __init__(self, patience: float = 1.0, recent: float = 30.0):
        self.patience = patience
        self.recent = recent
        self._asking = 0
        self._last = float("-inf")
        self._changed = threading.Condition()

    @contextmanager
    def question(self) -> Iterator[None]:
        """Marks the index work of a question (re-entrant: a search inside an answer counts once more)."""
        with self._changed:
            self._asking += 1
            self._last = time.monotonic()
        try:
            yield
        finally:
            with self._changed:
                self._asking -= 1
                self._last = time.monotonic()
                self._changed.notify_all()

    def serving(self) -> bool:
        """A question was answered in the last `recent` seconds."""
        return time.monotonic() - self._last <= self.recent

    def pieces(self, count: int) -> Iterator[slice]:
        """`count` vectors as the slices to write one after another, each once the index is quiet."""
        if not self.serving():
            yield slice(0, count)
            return
        for start in range(0, count, PIECE):
            self.wait()
            started = time.monotonic()
            yield slice(start, min(start + PIECE, count))
            # Then as long again with the interpreter free: back to back, the pieces were one long stall (a thread
            # woken in between needs several ms to take the lock, and the next piece had it first), and a question
            # could not even reach `question()`.
            time.sleep(time.monotonic() - started)

    def wait(self) -> None:
        """Until no question is in progress, or `patience` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self._asking == 0, timeout=self.patience)
