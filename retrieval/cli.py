"""`brief`: the command line over the retrieval core."""

from __future__ import annotations

import json
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .errors import BriefError
from .phrases import phrase
from .settings import Settings

if TYPE_CHECKING:  # the index, ingest and search load Chroma, MinHash and the model: only commands that need them
    from .index import Index
    from .models import Hit


def _date(ctx, param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use YYYY-MM-DD") from exc


def open_index() -> Index:
    from .index import Index

    return Index(Settings())


class CommandFailure(click.ClickException):
    """What ends a command: "error: …", one line per line of the message, and the exit status (2 by default)."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        for line in self.format_message().splitlines():
            click.echo(f"error: {line}", err=True)


class _Brief(click.Group):
    """The product's errors (BriefError) that reach a command are its one-line failure, not a traceback, whichever
    command meets them; the error's own exit code is kept (75 for a busy ingest lock)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BriefError as exc:
            raise CommandFailure(str(exc), exc.exit_code) from exc


@click.group(cls=_Brief)
def main() -> None:
    """Caucasus Brief: cited briefings on the Armenia–Azerbaijan conflict from ingested news."""


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C (or SIGTERM) asks the running ingest to stop after the current embedding call, keeping its work; a
    second one quits at once (the store stays consistent either way: each write is one transaction)."""
    stop = threading.Event()

    def handler(signum, frame) -> None:
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
def _chunk_bar(show: bool | None) -> Iterator[Callable[[int, int], None]]:
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


def _waiting(data_dir: Path, timeout: float) -> Callable[[], None]:
    seconds = "∞" if timeout < 0 else f"{timeout:g}"
    return lambda: click.echo(phrase("ingest_waiting", "en", dir=data_dir.resolve(), seconds=seconds), err=True)


PROGRESS_OPTION = click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (chunks embedded / total, rate, ETA). Default: only when stderr is a terminal.",
)


def _run_ingest(index: Index, sources: tuple[str, ...], resume: bool, progress: bool | None, before=None):
    """One locked, interruptible, progress-reporting ingest; `before` runs first under the same lock (reindex)."""
    from .ingest import Ingester, IngestInterrupted

    settings = index.settings
    with _stop_on_signals() as stop, _chunk_bar(progress) as on_progress:
        ingester = Ingester(
            index, on_progress=on_progress, stop=stop, on_wait=_waiting(settings.data_dir, settings.ingest_lock_timeout)
        )
        try:
            with ingester.locked():
                if before is not None:
                    before()
                report = ingester.run(sources, resume=resume)
        except IngestInterrupted:  # stopped while waiting for the lock: nothing was done
            report = ingester.report
            report.interrupted = True
    return report


@main.command("ingest")
@click.argument("sources", nargs=-1)
@click.option(
    "--resume", is_flag=True, help="Then finish the articles an interrupted ingest left pending (see `brief pending`)."
)
@PROGRESS_OPTION
def ingest_command(sources: tuple[str, ...], resume: bool, progress: bool | None) -> None:
    """Ingest files, folders, JSONL, HTML, RSS/Atom feeds and URLs.

    Ctrl-C stops after the current embedding call and keeps what is done; `--resume` finishes the rest."""
    if not sources and not resume:
        raise click.UsageError("give the files, folders or URLs to ingest (or --resume to finish pending articles)")
    index = open_index()
    report = _run_ingest(index, sources, resume, progress)
    for failure in report.failures:
        click.echo(f"failed: {failure.origin}: {failure.reason}", err=True)
    click.echo(report.summary())
    pending = index.store.stats()["pending"]
    if report.interrupted:
        click.echo(phrase("ingest_interrupted", "en", indexed=report.indexed, pending=pending), err=True)
        sys.exit(EXIT_INTERRUPTED)
    if pending:
        click.echo(phrase("pending_note", "en", pending=pending), err=True)
    sys.exit(1 if report.failed else 0)


@main.command("pending")
@click.option("--drop", is_flag=True, help="Discard them (their sources can be ingested again later).")
def pending_command(drop: bool) -> None:
    """Articles an interrupted ingest left pending (not searchable yet); `brief ingest --resume` finishes them."""
    index = open_index()
    rows = index.store.pending_articles()
    if not rows:
        click.echo(phrase("pending_none", "en"))
        return
    if drop:
        from .ingest_lock import ingest_lock

        data_dir, timeout = index.settings.data_dir, index.settings.ingest_lock_timeout
        with ingest_lock(data_dir, timeout, _waiting(data_dir, timeout)):
            dropped = index.drop_pending()
        click.echo(phrase("pending_dropped", "en", dropped=len(dropped)))
        return
    click.echo(phrase("pending_header", "en", pending=len(rows)))
    for row in rows:
        title = textwrap.shorten(row["title"] or "(untitled)", 60, placeholder=" …")
        click.echo(f"  {row['id']}  {row['embedded']}/{row['chunks']}  {title}  ({row['origin'] or '-'})")


def _print_hits(hits: list[Hit]) -> None:
    if not hits:
        click.echo("No matching passages.")
    for n, hit in enumerate(hits, 1):
        when = hit.published or "undated"
        click.echo(f"{n}. [{hit.lang}] {hit.source or 'unknown outlet'} · {when} · {hit.title}")
        click.echo(textwrap.indent(textwrap.shorten(hit.text, 300, placeholder=" …"), "   "))
        if hit.url:
            click.echo(f"   {hit.url}")


@main.command("search")
@click.argument("query")
@click.option("--k", default=10, show_default=True, help="How many passages.")
@click.option("--lang", type=click.Choice(["ar", "en"]), help="Only passages in this language.")
@click.option("--source", "sources", multiple=True, help="Only this outlet (repeatable).")
@click.option("--since", callback=_date, help="Published on or after YYYY-MM-DD.")
@click.option("--until", callback=_date, help="Published on or before YYYY-MM-DD.")
@click.option(
    "--per-article", default=1, show_default=True, help="Passages shown per article (the best first; 0: no limit)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit (per query with '-').")
def search_command(query, k, lang, sources, since, until, per_article, as_json) -> None:
    """Search the index; QUERY '-' reads one query per line from stdin."""
    from .search import Filters, Retriever

    filters = Filters(lang=lang, sources=list(sources), since=since, until=until)
    retriever = Retriever(open_index())
    if query == "-":
        for line in sys.stdin:
            if not line.strip():
                continue
            hits = retriever.search(line.strip(), k=k, filters=filters, per_article=per_article or None)
            if as_json:
                payload = {"query": line.strip(), "hits": [h.to_json() for h in hits]}
                click.echo(json.dumps(payload, ensure_ascii=False))
            else:
                click.echo(f"## {line.strip()}")
                _print_hits(hits)
        return
    hits = retriever.search(query, k=k, filters=filters, per_article=per_article or None)
    if as_json:
        for hit in hits:
            click.echo(json.dumps(hit.to_json(), ensure_ascii=False))
    else:
        _print_hits(hits)


def _answerer():
    from .answering import Answerer

    return Answerer(open_index())


@main.command("ask")
@click.argument("question")
@click.option("--lang", type=click.Choice(["ar", "en"]), help="Answer in this language (default: the question's).")
@click.option("--json", "as_json", is_flag=True, help="The answer record as JSON (one line per question with '-').")
def ask_command(question: str, lang: str | None, as_json: bool) -> None:
    """Answer QUESTION with cited sources; QUESTION '-' reads one question per line from stdin."""
    from .answering import check_question, reply_language
    from .render import render_text

    if question != "-" and (refusal := check_question(question, Settings().max_question_chars)) is not None:
        raise CommandFailure(refusal.text(reply_language(question, lang)))
    answerer = _answerer()
    questions = (line.strip() for line in sys.stdin) if question == "-" else iter([question])
    for text in questions:
        if not text:
            continue  # a blank line between questions; an overlong one is answered by a refusal record
        answer = answerer.answer(text, lang=lang)
        if as_json:
            click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            click.echo(render_text(answer) + ("\n" if question == "-" else ""))


@main.command("briefing")
@click.option("--since", "since_text", help="24h, 7d or YYYY-MM-DD (default: the last 24 hours).")
@click.option("--until", callback=_date, help="Last day included, YYYY-MM-DD (default: today).")
@click.option("--lang", type=click.Choice(["ar", "en"]), default="en", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Stories with their article ids and citations.")
def briefing_command(since_text: str | None, until: date | None, lang: str, as_json: bool) -> None:
    """A briefing of the stories published in a window, grouped and cited, its sources listed under it."""
    from .briefing import WindowError, compose_briefing, parse_window

    until = until or date.today()
    try:
        since = parse_window(since_text, until)
    except WindowError as error:  # said in the briefing's language
        raise CommandFailure(error.text(lang)) from error
    index = open_index()
    llm = None
    if index.settings.llm_enabled:
        from .llm import LLMClient

        llm = LLMClient(index.settings)
    briefing = compose_briefing(index, since, until, lang, llm=llm)
    if as_json:
        click.echo(json.dumps(briefing.to_json(), ensure_ascii=False))
    else:
        click.echo(briefing.text)


@main.command("feeds")
@click.argument("urls", nargs=-1)
@click.option("--poll", is_flag=True, help="Fetch every feed now (URLs given, else the FEEDS setting) before showing.")
def feeds_command(urls: tuple[str, ...], poll: bool) -> None:
    """Each feed's last success, last error and item counts; with --poll, exits 1 when a feed failed."""
    from .feed_state import FeedStates
    from .feeds import FeedPoller

    index = open_index()
    failed = []
    if poll:
        # Asked from the terminal: wait for a running ingest as `brief ingest` does, rather than skip the feed.
        poller = FeedPoller(index, lock_timeout=index.settings.ingest_lock_timeout)
        for result in poller.poll_all(urls or index.settings.feeds, now=True):
            detail = result.error or f"{result.new} new of {result.seen}"
            click.echo(f"{result.status:12} {result.url}  {detail}")
            if result.status in ("failed", "busy"):
                failed.append(result)
    feeds = FeedStates(index.store.path).all()
    if not feeds:
        click.echo("No feed has been polled yet (set FEEDS, or run `brief feeds --poll URL`).")
    for feed in feeds:
        click.echo(
            f"{feed.url}\n  last success: {feed.last_success or 'never'}; items: {feed.items_new} "
            f"new of {feed.items_seen} seen"
        )
        if feed.last_error:
            click.echo(f"  last error: {feed.last_error} at {feed.error_at} ({feed.failures} in a row)")
    for result in failed:
        click.echo(f"error: feed {result.url} failed: {result.error}", err=True)
    if failed:
        sys.exit(1)


@main.command("stats")
@click.option("--json", "as_json", is_flag=True)
def stats_command(as_json: bool) -> None:
    """Counts by language, outlet and month."""
    stats = open_index().store.stats()
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False))
        return
    first, last = stats["date_range"]
    click.echo(f"{stats['articles']} articles, {stats['stories']} stories, {stats['chunks']} chunks")
    if stats["pending"]:
        click.echo(phrase("pending_note", "en", pending=stats["pending"]))
    click.echo(f"published: {first or '-'} … {last or '-'}")
    for title, key in (("by language", "by_lang"), ("by outlet", "by_source"), ("by month", "by_month")):
        click.echo(f"{title}:")
        for name, count in stats[key].items():
            click.echo(f"  {name or '(unknown)'}: {count}")


@main.command("reindex")
@PROGRESS_OPTION
def reindex_command(progress: bool | None) -> None:
    """Re-embed every stored article with the configured embedding model (after changing it)."""
    index = open_index()
    report = _run_ingest(index, (), True, progress, before=index.reset_vectors)
    pending = index.store.stats()["pending"]
    if report.interrupted:
        click.echo(phrase("ingest_interrupted", "en", indexed=report.indexed, pending=pending), err=True)
        sys.exit(EXIT_INTERRUPTED)
    model = index.embedder.name
    click.echo(
        phrase("reindex_done", "en", articles=report.indexed, chunks=report.chunks, model=model, seconds=report.seconds)
    )


if __name__ == "__main__":
    main()
