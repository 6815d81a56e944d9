"""The bot's feed poll runs beside its answers, not in their place: a slow feed never holds an answer worker."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import pytest

from .bot_harness import running_bot
from .servers import FEED, serving

SLOW = 8.0  # seconds the feed server takes to answer


class SlowFeed(BaseHTTPRequestHandler):
    requested = threading.Event()
    answered = threading.Event()

    def do_GET(self):  # noqa: N802 - http.server's naming
        SlowFeed.requested.set()
        time.sleep(SLOW)
        body = FEED.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        SlowFeed.answered.set()

    def log_message(self, *args):
        pass


async def until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_a_question_is_answered_while_a_slow_feed_poll_runs_with_one_answer_worker(bot_index):
    with serving(SlowFeed) as base:
        overrides = {"feeds": [f"{base}/feed.xml"], "answer_workers": 1, "feed_interval_minutes": 60.0}
        async with running_bot(bot_index, **overrides) as bot:
            await until(SlowFeed.requested.is_set, timeout=10)  # the poll started a second after the bot
            asked = bot.fake.message("What is the Lachin corridor?", chat_id=31, user_id=31)
            reply = await bot.fake.wait_reply(asked["message"]["message_id"], timeout=SLOW)
            assert "Lachin" in reply.params["text"]
            assert not SlowFeed.answered.is_set(), "answered while the feed poll was still waiting for its feed"
            await until(SlowFeed.answered.is_set, timeout=SLOW + 5)
