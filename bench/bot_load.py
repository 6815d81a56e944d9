"""Load on the running bot, through a Bot API server on 127.0.0.1 (fakes/telegram.py, the tests' FakeTelegram) to
the real python-telegram-bot Application in extractive mode, in two phases:

- steady: N users each ask M questions, one after another (each waits for its answer before asking again);
- burst: B users each send Q questions at the same moment (B × Q updates arrive in one getUpdates batch), as when a
  channel post sends many readers to the bot at once. The latency of a burst is mostly queueing behind the answer
  workers, so its p95 is reported on its own: a steady-rate p95 says nothing about it.

    python bench/bot_load.py [--users 10] [--questions 20] [--burst-users 20] [--burst-questions 10]

Prints answers/s and the latency from posting an update to the bot's answer arriving (p50, p95, max) per phase.

With `--under-ingest`, issue 11's case instead: answers while the bot ingests a large feed. A store of about
`--chunks` chunks (default 13,000; Arabic and English texts of the shared evaluation sets, see bench/big_store.py) is
built once and cached under bench/.work/bot_load/; each run works on a copy. A feed of `--feed-items` new articles
(texts held back from the store) is served on 127.0.0.1, and the bot runs as a real `brief run` process (its own
CPU and interpreter lock, as in production) with FEEDS pointing at it, polled every `--poll-seconds`; the feed is
served empty until the baseline phase ends. Users ask at a steady `--rate` (questions/s in all): first
`--baseline-seconds` with no ingest, then while the bot's own feed poll (its JobQueue job, on its ingest executor)
ingests the feed, from the poll's fetch of the feed until the poller records the end in `feed_state`. Prints the
engine, the bot's peak RSS, the ingest's articles/s and chunks/s, and a table of answer latency per phase.

    python bench/bot_load.py --under-ingest [--chunks 13000] [--feed-items 300] [--users 10] [--rate 4]
                             [--baseline-seconds 30] [--poll-seconds 5] [--ingest-timeout 1800] [--rebuild]

EMBEDDING_ENGINE (and other settings) pass through from the environment; the store is cached per engine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import big_store  # noqa: E402 - bench/big_store.py
from big_store import Text  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.context import BotApplication  # noqa: E402
from bot.service import ChatService  # noqa: E402
from fakes.telegram import FakeTelegram  # noqa: E402
from retrieval.answering import Answerer  # noqa: E402
from retrieval.index import Index  # noqa: E402
from retrieval.ingest import ingest  # noqa: E402
from retrieval.phrases import phrase  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

QUESTIONS = [
    "What did Peskov say about Russian mediation?",
    "ماذا قال بيسكوف عن الوساطة الروسية؟",
    "How many people fled Karabakh in September 2023?",
    "كم عدد الجنود الأذربيجانيين الذين قتلوا في اشتباكات أيلول 2022؟",
    "What is the Trump Route for International Peace and Prosperity?",
    "When did Russian peacekeepers start leaving Karabakh?",
    "Where did Azerbaijan set up a checkpoint on the Lachin corridor?",
    "How many people were killed in the September 2023 offensive?",
    "ما هو ممر لاتشين؟",
    "What is the capital of Peru?",
]


async def user(
    fake: FakeTelegram,
    user_id: int,
    questions: int | None,
    latencies: list[float],
    *,
    until: Callable[[], bool] | None = None,
    every: float = 0.0,
    spans: list[tuple[float, float]] | None = None,
) -> None:
    """Ask `questions` questions one after another (None: until `until()` is true), each waiting for its answer and
    at most one every `every` seconds; `spans` also gets each question's (posted, answered) clock times."""
    i = 0
    while (questions is None or i < questions) and not (until is not None and until()):
        pushed = fake.message(QUESTIONS[(user_id + i) % len(QUESTIONS)], chat_id=user_id, user_id=user_id)
        asked = pushed["message"]["message_id"]
        started = time.perf_counter()
        await fake.wait_reply(asked)
        answered = time.perf_counter()
        latencies.append((answered - started) * 1000)
        if spans is not None:
            spans.append((started, answered))
        i += 1
        if every:
            await asyncio.sleep(max(0.0, started + every - answered))


async def burst(fake: FakeTelegram, users: int, questions: int) -> list[float]:
    """Every user sends all its questions at once; the latency of each is counted from the moment all were sent."""
    pushed = [
        fake.message(QUESTIONS[(u + i) % len(QUESTIONS)], chat_id=20_000 + u, user_id=20_000 + u)["message"]
        for u in range(users)
        for i in range(questions)
    ]
    started = time.perf_counter()

    async def one(message_id: int) -> float:
        await fake.wait_reply(message_id, timeout=600)
        return (time.perf_counter() - started) * 1000

    return list(await asyncio.gather(*(one(m["message_id"]) for m in pushed)))


def summary(latencies: list[float]) -> str:
    return (
        f"p50 {statistics.median(latencies):.0f} ms, p95 {float(np.percentile(latencies, 95)):.0f} ms, "
        f"max {max(latencies):.0f} ms"
    )


@asynccontextmanager
async def running_bot(index: Index, **overrides: Any) -> AsyncIterator[tuple[BotApplication, FakeTelegram]]:
    """The real Application in extractive mode against a FakeTelegram on 127.0.0.1, polling; stopped on exit.
    `post_init` (command menus, scheduled jobs such as the feed poll) is left to the caller, as in the tests."""
    fake = FakeTelegram()
    base = await fake.start()
    settings = index.settings.model_copy(
        update={
            "telegram_token": SecretStr("123456:bench-token-bench-token-bench-token"),
            "telegram_base_url": base,
            "telegram_base_file_url": base.replace("/bot", "/file/bot"),
            "questions_per_minute": 1_000_000,
            **overrides,
        }
    )
    service = ChatService(index, Answerer(index, use_llm=False))
    service.settings = settings
    service.rate.limit = settings.questions_per_minute
    app = build_application(settings, service)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield app, fake
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await fake.stop()


def apologies(fake: FakeTelegram) -> int:
    apology = phrase("error_apology", "en")
    return sum(1 for call in fake.sent() if apology in call.params.get("text", ""))


async def main_async(users: int, questions: int, burst_users: int, burst_questions: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, brief_data_dir=Path(tmp), chroma_host=None)
        index = Index(settings)
        report = ingest(
            index, [str(ROOT / "seeds"), str(ROOT / "tests" / "corpus"), str(ROOT / "tests" / "corpus_figures")]
        )
        async with running_bot(index) as (_, fake):
            warm: list[float] = []
            await user(fake, 10_000, 2, warm)  # model and caches warm
            latencies: list[float] = []
            started = time.perf_counter()
            await asyncio.gather(*(user(fake, 1 + u, questions, latencies) for u in range(users)))
            elapsed = time.perf_counter() - started
            burst_started = time.perf_counter()
            bursts = await burst(fake, burst_users, burst_questions) if burst_users and burst_questions else []
            burst_elapsed = time.perf_counter() - burst_started
    print(
        f"store: {report.new} articles, {report.chunks} chunks; bot in extractive mode, "
        f"{settings.answer_workers} answer workers"
    )
    print(
        f"steady: {users} users × {questions} questions, one at a time = {len(latencies)} answers in {elapsed:.1f} s: "
        f"{len(latencies) / elapsed:.1f} answers/s; latency update → answer: {summary(latencies)}"
    )
    if bursts:
        print(
            f"burst: {burst_users} users × {burst_questions} questions at once = {len(bursts)} answers in "
            f"{burst_elapsed:.1f} s: {len(bursts) / burst_elapsed:.1f} answers/s; latency update → answer: "
            f"{summary(bursts)}"
        )
    print(f"apologies (errors) among the answers: {apologies(fake)}")


# -- answers while the bot's feed poll ingests (--under-ingest) ------------------------------------------------------
class LocalFeed:
    """An RSS feed of `texts` on 127.0.0.1, each item's link a page of the same server (never the internet), and
    the clock time of the first fetch of the feed: the moment the bot's poll starts its ingest."""

    def __init__(self, texts: list[Text]):
        self.fetched: float | None = None
        self.armed = False  # until then the feed is served empty: the bot's polls find nothing new
        self.pages: dict[str, bytes] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                if self.path == "/feed.xml":
                    if outer.armed:
                        outer.fetched = outer.fetched or time.perf_counter()
                    body, kind = outer.body if outer.armed else outer.empty, "application/rss+xml; charset=utf-8"
                elif self.path in outer.pages:
                    body, kind = outer.pages[self.path], "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{base}/feed.xml"
        today = datetime.now(UTC)
        items = []
        for n, t in enumerate(texts):
            path = f"/a/{t.key}"
            title = f"{t.title or 'Item'} ({n + 1})"
            page = f"<html><head><title>{escape(title)}</title></head><body><article><p>{escape(t.text)}</p></article>"
            self.pages[path] = f"{page}</body></html>".encode()
            when = format_datetime(today - timedelta(minutes=n))
            items.append(
                f"<item><title>{escape(title)}</title><link>{base}{path}</link><guid>{base}{path}</guid>"
                f"<pubDate>{when}</pubDate><description>{escape(t.text)}</description></item>"
            )
        head = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Load feed</title>'
            f"<link>{base}/</link>"
        )
        self.body = f"{head}{''.join(items)}</channel></rss>".encode()
        self.empty = f"{head}</channel></rss>".encode()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class StoreWatch:
    """Reads the bot's article store from a connection of its own (the bot's are not touched): counts, and the
    feed poller's record of the feed (`feed_state`: written once, when a poll of the feed ends)."""

    def __init__(self, path: Path, url: str):
        self.db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self.url = url

    def counts(self) -> tuple[int, int]:
        """(indexed articles, their chunks)."""
        indexed = "FROM articles WHERE status = 'indexed'"
        articles = self.db.execute(f"SELECT count(*) {indexed}").fetchone()[0]
        chunks = self.db.execute(f"SELECT count(*) FROM chunks WHERE article_id IN (SELECT id {indexed})").fetchone()
        return articles, chunks[0]

    def feed_row(self) -> tuple[str | None, str | None, int] | None:
        """(last_success, last_error, items_new) of the feed, None before its first poll has ended."""
        try:
            row = self.db.execute(
                "SELECT last_success, last_error, items_new FROM feed_state WHERE url = ?", (self.url,)
            ).fetchone()
        except sqlite3.OperationalError:  # no such table: the poller makes it on its first poll
            return None
        return (row[0], row[1], row[2]) if row else None

    def close(self) -> None:
        self.db.close()


class IngestTimeoutError(RuntimeError):
    """The bot's feed poll did not start or end in time: no figures for the ingest phase."""


async def ingest_window(feed: LocalFeed, watch: StoreWatch, timeout: float) -> tuple[float, float, tuple]:
    """(start, end, feed_state row) of the bot's first poll of the armed feed: it starts when the bot fetches the
    feed and ends when the poller records the result in `feed_state` (last_success, or last_error for a failed
    poll). Polls run one after another, so the empty polls before it have recorded theirs by then."""
    deadline = time.perf_counter() + timeout
    while feed.fetched is None:
        if time.perf_counter() > deadline:
            raise IngestTimeoutError(f"the bot did not fetch its feed {feed.url} within {timeout:g} s")
        await asyncio.sleep(0.05)
    before = await asyncio.to_thread(watch.feed_row)
    while (row := await asyncio.to_thread(watch.feed_row)) == before or row is None:
        if time.perf_counter() > deadline:
            raise IngestTimeoutError(
                f"the bot fetched its feed but its poll recorded no end (feed_state.last_success/last_error) within "
                f"{timeout:g} s (--ingest-timeout); a poll that finds the data directory's ingest lock held records "
                f"nothing"
            )
        await asyncio.sleep(0.1)
    return feed.fetched, time.perf_counter(), row


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def latency_ms(spans: list[tuple[float, float]], percent: float) -> float:
    """The `percent` percentile of (posted, answered) spans, in ms; nan for none."""
    return float(np.percentile([(b - a) * 1000 for a, b in spans], percent)) if spans else float("nan")


def figures(spans: list[tuple[float, float]]) -> list[str]:
    """answers, answers/s, p50, p95, max (ms) of (posted, answered) spans."""
    if not spans:
        return ["0", "-", "-", "-", "-"]
    ms = [(b - a) * 1000 for a, b in spans]
    seconds = max(b for _, b in spans) - min(a for a, _ in spans)
    rate = f"{len(spans) / seconds:.1f}" if seconds > 0 else "-"
    p50, p95 = latency_ms(spans, 50), latency_ms(spans, 95)
    return [str(len(spans)), rate, f"{p50:.0f}", f"{p95:.0f}", f"{max(ms):.0f}"]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


async def until_true(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not await asyncio.to_thread(check):
        if time.perf_counter() > deadline:
            raise IngestTimeoutError(f"{what} did not happen within {timeout:g} s")
        await asyncio.sleep(0.1)


@dataclass
class BotUnderIngest:
    """What one `brief run` process did: answers with no ingest and during its feed poll's ingest, and its peak RSS."""

    baseline: list[tuple[float, float]]  # (posted, answered) clock times
    during: list[tuple[float, float]]
    peak_mb: float
    added: int  # articles and chunks the feed poll indexed, in `seconds`
    chunks: int
    seconds: float
    apologies: int
    error: str | None = None  # the poll failed or did not end in time: no figures for the ingest


async def bot_under_ingest(
    command: list[str], data: Path, held: list[Text], args: argparse.Namespace, env: dict[str, str] | None = None
) -> BotUnderIngest:
    """Start `command` (a `brief run`) on the store in `data` with FEEDS a LocalFeed of `held`, a fake Bot API and
    users asking at `args.rate`: first `args.baseline_seconds` with the feed served empty, then while the bot's own
    feed poll (its JobQueue job, on its ingest executor) ingests it, from the poll's fetch of the feed until the
    poller records the end in `feed_state`. The bot runs in a process of its own, as in production: the fake Bot API,
    the feed and the users (this process) take none of its CPU or its interpreter lock."""
    settings = Settings(_env_file=None, chroma_host=None, brief_data_dir=data)
    feed = LocalFeed(held)
    fake = FakeTelegram()
    base = await fake.start()
    baseline: list[tuple[float, float]] = []
    spans: list[tuple[float, float]] = []
    watch = StoreWatch(settings.store_path, feed.url)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CHROMA_", "OPENAI_", "TELEGRAM_"))},
        **(env or {}),
        "BRIEF_DATA_DIR": str(data),
        "TELEGRAM_TOKEN": "123456:bench-token-bench-token-bench-token",
        "TELEGRAM_BASE_URL": base,
        "TELEGRAM_BASE_FILE_URL": base.replace("/bot", "/file/bot"),
        "QUESTIONS_PER_MINUTE": "1000000",
        "FEEDS": feed.url,
        "FEED_INTERVAL_MINUTES": str(args.poll_seconds / 60),
        "ANONYMIZED_TELEMETRY": "False",
    }
    log_path = data.parent / "bot.log"
    try:
        with log_path.open("wb") as log:
            # In the data directory's folder: no .env of the caller's, and `python -c` imports from PYTHONPATH.
            bot = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=data.parent)
            try:
                await until_true(lambda: watch.feed_row() is not None, 300, "the bot's first (empty) feed poll")
                await user(fake, 10_000, len(QUESTIONS), [])  # engine, caches and the store's pages warm
                every = args.users / args.rate

                async def asking(until: Callable[[], bool]) -> None:
                    async def one(u: int) -> None:
                        await asyncio.sleep(u * every / args.users)  # the users spread over the period
                        await user(fake, 1 + u, None, [], until=until, every=every, spans=spans)

                    await asyncio.gather(*(one(u) for u in range(args.users)))

                quiet_until = time.perf_counter() + args.baseline_seconds
                await asking(lambda: time.perf_counter() >= quiet_until)
                baseline = list(spans)
                spans.clear()
                articles_before, chunks_before = await asyncio.to_thread(watch.counts)
                feed.armed = True  # the next poll (within --poll-seconds) finds the whole feed new
                window = asyncio.ensure_future(ingest_window(feed, watch, args.ingest_timeout))
                await asking(window.done)
                start, end, row = await window
                articles_after, chunks_after = await asyncio.to_thread(watch.counts)
                peak = peak_rss_mb(bot.pid)
            except IngestTimeoutError as error:
                tail = log_path.read_text("utf-8", "replace").splitlines()[-15:]
                message = "\n".join([f"{error}; the end of the bot's log:", *tail])
                return BotUnderIngest(baseline, [], peak_rss_mb(bot.pid), 0, 0, 0.0, apologies(fake), message)
            finally:
                bot.send_signal(signal.SIGINT)
                try:
                    bot.wait(60)
                except subprocess.TimeoutExpired:
                    bot.kill()
                watch.close()
    finally:
        feed.close()
        await fake.stop()
    during = [(a, b) for a, b in spans if a >= start and b <= end]
    last_success, last_error, _ = row
    failed = None if last_success else f"the bot's feed poll failed: {last_error}"
    added, chunks = articles_after - articles_before, chunks_after - chunks_before
    return BotUnderIngest(baseline, during, peak, added, chunks, end - start, apologies(fake), failed)


async def under_ingest(args: argparse.Namespace) -> int:
    """Issue 11's case: answer latency of a `brief run` process while its own feed poll ingests a large feed into a
    ~13k-chunk store, against the same users with no ingest (while the feed is served empty). Returns the exit
    status."""
    settings = Settings(_env_file=None, chroma_host=None)  # EMBEDDING_ENGINE and the like from the environment
    engine = big_store.load_engine(settings)
    kept, held = big_store.split(big_store.shared_texts(), args.feed_items)
    records = big_store.store_records(kept, args.chunks, settings.chunk_chars)
    built = big_store.build(settings, engine, records, rebuild=args.rebuild)
    made = f"{'cached, ' if built.cached else ''}built in {built.seconds:.0f} s"
    print(f"store: {built.articles} articles, {built.chunks} chunks ({made}: {built.data.parent.name})", flush=True)
    with tempfile.TemporaryDirectory(prefix="bot-load-") as tmp:
        data = big_store.working_copy(built, Path(tmp))
        run = await bot_under_ingest([str(Path(sys.executable).parent / "brief"), "run"], data, held, args)
    if run.error:
        print(f"error: {run.error}", file=sys.stderr, flush=True)
        return 1
    print(
        f"engine {engine.name}; `brief run` in extractive mode, {settings.answer_workers} answer workers; "
        f"{args.users} users, {args.rate:g} questions/s in all; the bot's peak RSS {run.peak_mb:.0f} MB"
    )
    print(
        f"feed ingest by the bot's own poll: {run.added} of {len(held)} new articles, {run.chunks} chunks in "
        f"{run.seconds:.1f} s: {run.added / run.seconds:.2f} articles/s, {run.chunks / run.seconds:.1f} chunks/s"
    )
    head = ["phase", "answers", "answers/s", "p50 ms", "p95 ms", "max ms"]
    print(table([head, ["no ingest", *figures(run.baseline)], ["during the feed ingest", *figures(run.during)]]))
    if run.during:
        p95 = latency_ms(run.during, 95)
        verdict = "met" if p95 <= 150 else "not met"
        print(
            f"issue 11 target, answer p95 ≤ 150 ms while an ingest runs (at ~13k chunks; this store: {built.chunks}):"
            f" {verdict} ({p95:.0f} ms)"
        )
    print(f"apologies (errors) among the answers: {run.apologies}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--burst-users", type=int, default=20, help="0: no burst phase")
    parser.add_argument("--burst-questions", type=int, default=10)
    ingest_options = parser.add_argument_group("--under-ingest: answers while the bot's feed poll ingests")
    ingest_options.add_argument("--under-ingest", action="store_true", help="measure this instead of steady/burst")
    ingest_options.add_argument("--chunks", type=int, default=13_000, help="size of the store (built once, cached)")
    ingest_options.add_argument("--feed-items", type=int, default=300, help="new articles in the feed")
    ingest_options.add_argument("--rate", type=float, default=4.0, help="questions per second, all users together")
    ingest_options.add_argument("--baseline-seconds", type=float, default=30.0, help="users asking with no ingest")
    ingest_options.add_argument("--poll-seconds", type=float, default=5.0, help="the bot's feed poll interval")
    ingest_options.add_argument("--ingest-timeout", type=float, default=1800.0, help="seconds the feed poll may take")
    ingest_options.add_argument("--rebuild", action="store_true", help="build the store again, cached or not")
    args = parser.parse_args()
    if args.under_ingest:
        sys.exit(asyncio.run(under_ingest(args)))
    asyncio.run(main_async(args.users, args.questions, args.burst_users, args.burst_questions))


if __name__ == "__main__":
    main()
