"""The Telegram bot harness the bot tests share: the real Application, started by hand against a FakeTelegram (a Bot
API server on 127.0.0.1, fakes/telegram.py), and a way to know the bot has finished with an update.

The `bot_index` fixture (the store these tests answer from) is in conftest.py."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr
from sqlalchemy.orm import Session
from telegram.ext import Application

from bot.app import build_application, post_init
from bot.journal import JournaledQueue, JournaledUpdate
from bot.service import ChatService
from fakes.telegram import Call, FakeTelegram
from retrieval.answering import Answerer
from retrieval.index import Index
from retrieval.settings import Settings

TOKEN = "987654321:AAH-very-secret-token-value-0123456789abcd"
LINKED = {
    "id": "armenpress-lachin-2023",
    "title": "Armenia says Lachin checkpoint violates the trilateral statement",
    "source": "Armenpress",
    "url": "https://example.org/news?id=1&lang=en",
    "published": "2023-04-24",
    "lang": "en",
    "text": "YEREVAN, April 24, 2023. Armenia's foreign ministry said the checkpoint Azerbaijan set up at the "
    "Hakari bridge on the Lachin corridor violates the trilateral statement of November 2020.",
}
MARKUP = {
    "id": "markup-article",
    "title": "Deminers <b>clear</b> fields near Aghdam & Fuzuli",
    "source": "Trend",
    "published": "2024-06-03",
    "lang": "en",
    "text": "Deminers cleared 1,200 hectares of mined fields near Aghdam & Fuzuli, Azerbaijan's mine action agency "
    "ANAMA said, adding that <b>landmines</b> had killed 3 civilians since January </a> this year.",
}


class Bot:
    """A running Application against a FakeTelegram; `restart` keeps the same data directory."""

    def __init__(self, index: Index, fake: FakeTelegram, base: str, **overrides):
        self.index, self.fake, self.base, self.overrides = index, fake, base, overrides
        # Each runner its own bot database (subscriptions, update journal): each FakeTelegram counts update ids
        # from 1, as a new bot would.
        self.overrides.setdefault("database_url", f"sqlite:///{tempfile.mkdtemp(prefix='bot-db-')}/bot.sqlite3")
        self.app: Application | None = None

    @property
    def settings(self) -> Settings:
        return self.index.settings.model_copy(
            update={
                "telegram_token": SecretStr(TOKEN),
                "telegram_base_url": self.base,
                "telegram_base_file_url": self.base.replace("/bot", "/file/bot"),
                "admin_user_ids": [7],
                "typing_delay": 0.0,
                **self.overrides,
            }
        )

    async def start(self, service: ChatService | None = None) -> None:
        settings = self.settings
        service = service or ChatService(self.index, Answerer(self.index, use_llm=False))
        service.settings = settings
        service.rate.limit = settings.questions_per_minute
        self.app = build_application(settings, service)
        await self.app.initialize()
        await post_init(self.app)  # post_init runs only under run_polling: call it as run_polling would
        await self.app.start()
        assert self.app.updater
        await self.app.updater.start_polling(poll_interval=0.0, timeout=1)

    async def stop(self) -> None:
        assert self.app and self.app.updater
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def handled(self, update_id: int) -> bool:
        """The bot's update journal marks `update_id` done: every handler it ran has finished (replies sent)."""
        assert self.app
        queue = self.app.update_queue
        assert isinstance(queue, JournaledQueue), "the Application journals its updates"
        journal = queue.journal
        with Session(journal.engine) as session:
            row = session.get(JournaledUpdate, (journal.bot_id, update_id))
            return row is not None and row.done_at is not None

    async def settled(self, update: dict, timeout: float = 30.0) -> None:
        """Return once the bot has finished with `update` (fail after `timeout`), so a test can then check what it
        did NOT send without sleeping and hoping: the fake saw the update confirmed by a later getUpdates (the bot
        took it and journaled it, or refused it as a repeat) and the journal marks it done."""
        update_id = update["update_id"]
        deadline = time.monotonic() + timeout
        while not (self.fake.confirmed > update_id and await asyncio.to_thread(self.handled, update_id)):
            assert time.monotonic() < deadline, f"the bot did not finish update {update_id} within {timeout} s"
            await asyncio.sleep(0.02)


def text_of(call: Call) -> str:
    return call.params["text"]


@asynccontextmanager
async def running_bot(index: Index, **overrides) -> AsyncIterator[Bot]:
    """A started bot on a FakeTelegram of its own; both stopped on exit."""
    fake = FakeTelegram()
    runner = Bot(index, fake, await fake.start(), **overrides)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()
        await fake.stop()
