"""What every handler and job shares, typed: `context.bot_data` is a `BotData`, not a dict looked up by string.

As python-telegram-bot's `contexttypesbot.py` example: `ContextTypes(bot_data=BotData)` makes the Application
create one `BotData()` (with no arguments) and every callback sees it as `context.bot_data`; `build_application`
fills it in before anything runs. It holds live objects (the index, a thread pool, database engines), so it is
never persisted: `DatabasePersistence` stores user data only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from .feedback import FeedbackStore
from .health import IndexHealth
from .remembered import AnswerMemory
from .service import ChatService
from .subscriptions import SubscriptionStore


def utc_now() -> datetime:
    return datetime.now(UTC)


class BotData:
    """The bot's shared objects. `clock` is the one "now" of briefings, summaries, subscriptions and delivery, so a
    test (or a replay) can set the time without touching the system clock."""

    service: ChatService
    executor: ThreadPoolExecutor  # blocking index and model work runs here, off the event loop
    ingest_executor: ThreadPoolExecutor  # feed polls and /ingest: one at a time, never holding an answer worker
    feedback: FeedbackStore
    subscriptions: SubscriptionStore
    answers: AnswerMemory
    health: IndexHealth

    def __init__(self) -> None:
        self.clock: Callable[[], datetime] = utc_now
        self._sending: dict[int, set[asyncio.Event]] = {}  # chat id → answers being sent and remembered

    def now(self) -> datetime:
        """The bot's current time (aware, UTC)."""
        return self.clock().astimezone(UTC)

    @asynccontextmanager
    async def sending_answer(self, chat_id: int) -> AsyncIterator[None]:
        """Around sending an answer and remembering it: a button pressed under it in between waits for the memory
        (`remembered`) instead of finding no answer and saying it expired."""
        done = asyncio.Event()
        self._sending.setdefault(chat_id, set()).add(done)
        try:
            yield
        finally:
            done.set()
            pending = self._sending[chat_id]
            pending.discard(done)
            if not pending:
                del self._sending[chat_id]

    async def remembered(self, chat_id: int) -> None:
        """Once the answers being sent to this chat are remembered."""
        for done in list(self._sending.get(chat_id, ())):
            await done.wait()


BriefContext = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
CONTEXT_TYPES = ContextTypes(bot_data=BotData)
# The Application as handlers and jobs see it (`context.application`): its bot_data typed, the rest as PTB has it.
BotApplication = Application[Any, Any, Any, Any, BotData, Any]
