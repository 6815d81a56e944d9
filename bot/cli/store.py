"""`brief ingest`, `pending`, `reindex`, `stats` and `feeds`: filling the article store and looking at it."""

from __future__ import annotations

import json
import sys
import textwrap

import click

from retrieval.phrases import phrase

from .terminal import EXIT_INTERRUPTED, PROGRESS_OPTION, chunk_bar, limit_malloc_arenas, stop_on_signals, waiting_note


@click.command("ingest")
@click.argument("sources", nargs=-1)
@click.option(
    "--resume", is_flag=True, help="Then finish the articles an interrupted ingest left pending (see `brief pending`)."
)
@PROGRESS_OPTION
def ingest_command(sources: tuple[str, ...], resume: bool, progress: bool | None) -> None:
    """Ingest files, folders, JSONL, HTML, RSS/Atom feeds and URLs.

    Ctrl-C stops after the current embedding call and keeps what is done; `--resume` finishes the rest."""
    limit_malloc_arenas()
    from retrieval.index import Index
    from retrieval.ingest import run_ingest

    if not sources and not resume:
        raise click.UsageError("give the files, folders or URLs to ingest (or --resume to finish pending articles)")
    index = Index()
    on_wait = waiting_note(index.settings.data_dir, index.settings.ingest_lock_timeout)
    with stop_on_signals() as stop, chunk_bar(progress) as on_progress:
        report = run_ingest(index, sources, resume=resume, on_progress=on_progress, stop=stop, on_wait=on_wait)
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


@click.command("pending")
@click.option("--drop", is_flag=True, help="Discard them (their sources can be ingested again later).")
def pending_command(drop: bool) -> None:
    """Articles an interrupted ingest left pending (not searchable yet); `brief ingest --resume` finishes them."""
    from retrieval.index import Index
    from retrieval.ingest import drop_pending

    index = Index()
    rows = index.store.pending_articles()
    if not rows:
        click.echo(phrase("pending_none", "en"))
        return
    if drop:
        dropped = drop_pending(index, waiting_note(index.settings.data_dir, index.settings.ingest_lock_timeout))
        click.echo(phrase("pending_dropped", "en", dropped=len(dropped)))
        return
    click.echo(phrase("pending_header", "en", pending=len(rows)))
    for row in rows:
        title = textwrap.shorten(row["title"] or "(untitled)", 60, placeholder=" …")
        click.echo(f"  {row['id']}  {row['embedded']}/{row['chunks']}  {title}  ({row['origin'] or '-'})")


@click.command("reindex")
@PROGRESS_OPTION
def reindex_command(progress: bool | None) -> None:
    """Re-embed every stored article with the configured embedding model (after changing it)."""
    limit_malloc_arenas()
    from retrieval.index import Index
    from retrieval.ingest import reindex

    index = Index()
    on_wait = waiting_note(index.settings.data_dir, index.settings.ingest_lock_timeout)
    with stop_on_signals() as stop, chunk_bar(progress) as on_progress:
        report = reindex(index, on_progress=on_progress, stop=stop, on_wait=on_wait)
    pending = index.store.stats()["pending"]
    if report.interrupted:
        click.echo(phrase("ingest_interrupted", "en", indexed=report.indexed, pending=pending), err=True)
        sys.exit(EXIT_INTERRUPTED)
    model = index.embedder.name
    click.echo(
        phrase("reindex_done", "en", articles=report.indexed, chunks=report.chunks, model=model, seconds=report.seconds)
    )


@click.command("stats")
@click.option("--json", "as_json", is_flag=True)
def stats_command(as_json: bool) -> None:
    """Counts by language, outlet and month."""
    from retrieval.index import Index

    counts = Index().store.stats()
    if as_json:
        click.echo(json.dumps(counts, ensure_ascii=False))
        return
    first, last = counts["date_range"]
    click.echo(f"{counts['articles']} articles, {counts['stories']} stories, {counts['chunks']} chunks")
    if counts["pending"]:
        click.echo(phrase("pending_note", "en", pending=counts["pending"]))
    click.echo(f"published: {first or '-'} … {last or '-'}")
    for title, key in (("by language", "by_lang"), ("by outlet", "by_source"), ("by month", "by_month")):
        click.echo(f"{title}:")
        for name, count in counts[key].items():
            click.echo(f"  {name or '(unknown)'}: {count}")


@click.command("feeds")
@click.argument("urls", nargs=-1)
@click.option("--poll", is_flag=True, help="Fetch every feed now (URLs given, else the FEEDS setting) before showing.")
def feeds_command(urls: tuple[str, ...], poll: bool) -> None:
    """Each feed's last success, last error and item counts; with --poll, exits 1 when a feed failed."""
    from retrieval.feed_state import FeedStates
    from retrieval.feeds import FeedPoller
    from retrieval.index import Index

    index = Index()
    failed = []
    if poll and not (urls or index.settings.feeds):
        raise click.UsageError("no feed to poll: give the feed URLs, or set FEEDS")
    if poll:
        # Asked from the terminal: wait for a running ingest as `brief ingest` does, rather than skip the feed.
        poller = FeedPoller(index, lock_timeout=index.settings.ingest_lock_timeout)
        for result in poller.poll_all(urls or index.settings.feeds, now=True):
            detail = result.error or f"{result.new} new of {result.seen}"
            click.echo(f"{result.status:12} {result.url}  {detail}")
            if result.status in ("failed", "busy"):
                failed.append(result)
    states = FeedStates(index.store.path).all()
    if not states:
        click.echo("No feed has been polled yet (set FEEDS, or run `brief feeds --poll URL`).")
    for feed in states:
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
