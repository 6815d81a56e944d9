"""One writer per data directory: the lock every ingest path takes around its writes.

Two `brief ingest` runs on one directory would otherwise embed the same files twice. The lock is an OS file lock
(flock, through `filelock`): the kernel releases it when its holder dies, so a killed ingest never leaves the
directory locked. It is re-entrant within a thread (one lock object per path) and exclusive between threads and
processes. Who holds it, and for how long: `brief ingest`, `brief reindex` and `brief pending --drop` for their
whole run; the bot (`brief run`) only while it writes one feed's new articles or runs one `/ingest`, never for its
lifetime, so a command-line ingest waits at most for that, and a feed poll waits for a command-line ingest in its
worker thread (never in the event loop).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import IngestBusyError
from .phrases import phrase

__all__ = ["IngestBusyError", "IngestInterrupted", "ingest_lock", "lock_path"]

LOCK_NAME = "ingest.lock"
_POLL = 0.2  # seconds between checks for a stop request while waiting


class IngestInterrupted(Exception):
    """A stop was requested (Ctrl-C); raised only between units of work, so what is stored stays consistent."""


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_NAME


@contextmanager
def ingest_lock(
    data_dir: Path,
    timeout: float,
    on_wait: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
) -> Iterator[None]:
    """Hold the data directory's ingest lock; wait up to `timeout` seconds (negative: no limit) for another holder,
    calling `on_wait` once if it has to wait, and giving up with IngestInterrupted if `stop` is set meanwhile."""
    lock = FileLock(str(lock_path(data_dir)), is_singleton=True)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait()
        deadline = None if timeout < 0 else time.monotonic() + timeout
        while True:
            if stop is not None and stop.is_set():
                raise IngestInterrupted from None
            left = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
            try:
                lock.acquire(timeout=max(left, 0))
                break
            except Timeout:
                if deadline is not None and time.monotonic() >= deadline:
                    raise IngestBusyError(
                        phrase("ingest_busy", "en", dir=Path(data_dir).resolve(), seconds=f"{timeout:g}")
                    ) from None
    try:
        yield
    finally:
        lock.release()
