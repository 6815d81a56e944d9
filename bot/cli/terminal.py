"""What every `brief` command shares at the terminal: the one-line failure, dates and progress options, the progress
bar, Ctrl-C, and the note that an ingest is waiting for another. Terminal I/O only; the work is retrieval/'s."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import FrameType
from typing import IO, Any

import click

from retrieval.errors import BriefError
from retrieval.phrases import phrase

# `brief ingest` and `reindex`: the embedding threads each got a malloc arena of their own, kept at its high-water
# mark; two arenas in all peaked 2–7 MB lower on 80 news articles, no slower (three runs each). Not for `brief run`:
# there its answer threads then wait on the ingest's allocations (answer p95 during a feed ingest 122–139 → 195–220 ms).
INGEST_MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = INGEST_MALLOC_ARENAS) -> None:
    """As MALLOC_ARENA_MAX does, from inside the process (before its threads start); nothing where libc is not
    glibc, or where the environment already sets it."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # musl and others without mallopt
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(M_ARENA_MAX, arenas)


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C


class CommandFailure(click.ClickException):
    """What ends a command: "error: …", one line per line of the message, and exit status 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        for line in self.format_message().splitlines():
            click.echo(f"error: {line}", err=True)


class BriefGroup(click.Group):
    """The product's errors (BriefError) that reach a command are its one-line failure, not a traceback, whichever
    command meets them; the error's own exit code is kept (75 for a busy ingest lock)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BriefError as exc:  # said as a CommandFailure is, with the error's own exit code
            CommandFailure(str(exc)).show()
            raise click.exceptions.Exit(exc.exit_code) from exc


def iso_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """A click callback: YYYY-MM-DD, or a usage error saying so."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use YYYY-MM-DD") from exc


PROGRESS_OPTION = click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (chunks embedded / total, rate, ETA). Default: only when stderr is a terminal.",
)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C (or SIGTERM) asks the running ingest to stop after the current embedding call, keeping its work; a
    second one quits at once (the store stays consistent either way: each write is one transaction)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        click.echo(phrase("ingest_stopping", "en"), err=True)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def chunk_bar(show: bool | None) -> Iterator[Callable[[int, int], None]]:
    """A progress bar of chunks embedded / chunks known so far, with rate and ETA, on stderr: shown when stderr is a
    terminal or with --progress, so pipes, logs and tests get only the summary."""
    from tqdm import tqdm

    show = sys.stderr.isatty() if show is None else show
    bar = tqdm(total=0, unit=" chunk", desc="embedding", disable=not show, file=sys.stderr, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        if total != bar.total:
            bar.total = total
            bar.refresh()
        if done > bar.n:
            bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()


def waiting_note(data_dir: Path, timeout: float) -> Callable[[], None]:
    """Said once on stderr when a command has to wait for another ingest's lock."""
    seconds = "∞" if timeout < 0 else f"{timeout:g}"
    return lambda: click.echo(phrase("ingest_waiting", "en", dir=data_dir.resolve(), seconds=seconds), err=True)
