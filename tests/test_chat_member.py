"""The bot learns from Telegram's my_chat_member updates that it was blocked or removed (its briefings pause) and
that it was unblocked or added back (they resume), not only from a failed send."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram.ext import CallbackContext

from bot.delivery import deliver_due, job_name
from bot.journal import JournaledUpdate
from bot.schedule import Schedule
from bot.subscriptions import ChatKind, Status, SubscriptionStore

from .bot_harness import Bot, running_bot, text_of
from .helpers import SEED_FILE, ingested

SLOT = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, embedder):
    with ingested(tmp_path_factory.mktemp("members") / "data", embedder, SEED_FILE) as index:
        yield index


@pytest.fixture
async def bot(small_index):
    async with running_bot(small_index) as runner:
        yield runner


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the update was not handled in time"
        await asyncio.sleep(0.02)


def handled(bot: Bot, update_id: int) -> bool:
    """Whether the bot finished handling an update (its journal marks it done)."""
    with Session(store_of(bot).engine) as session:
        row = session.scalar(select(JournaledUpdate).where(JournaledUpdate.update_id == update_id))
        return row is not None and row.done_at is not None


def store_of(bot: Bot) -> SubscriptionStore:
    return bot.app.bot_data.subscriptions


def scheduled(bot: Bot, chat_id: int) -> bool:
    return bool(bot.app.job_queue.get_jobs_by_name(job_name(store_of(bot).get(chat_id))))


async def delivered_at(bot: Bot, slot: datetime, chat_id: int) -> int:
    """Run the delivery pass just after `slot`; how many briefings reached `chat_id`."""
    before = len(bot.fake.sent(chat_id=chat_id))
    await deliver_due(CallbackContext(bot.app), slot + timedelta(minutes=5))
    return len(bot.fake.sent(chat_id=chat_id)) - before


async def test_a_user_who_blocks_the_bot_gets_no_briefing_until_they_unblock_it(bot):
    fake, chat = bot.fake, 4101
    fake.message("/subscribe 08:00 UTC en", chat_id=chat, user_id=chat)
    await fake.wait_for(lambda c: int(c.params["chat_id"]) == chat and "Subscribed" in text_of(c))

    fake.my_chat_member(chat, "kicked", old_status="member")  # the user blocked the bot
    await until(lambda: store_of(bot).get(chat).status is Status.PAUSED)
    assert not scheduled(bot, chat)
    assert await delivered_at(bot, SLOT, chat) == 0, "no send to a chat that blocked the bot"
    assert not fake.sent(chat_id=chat, failed=True)[1:], "not even a refused one"

    fake.my_chat_member(chat, "member", old_status="kicked")  # unblocked
    await until(lambda: store_of(bot).get(chat).status is Status.ACTIVE)
    assert scheduled(bot, chat)
    assert await delivered_at(bot, SLOT + timedelta(days=1), chat) == 1


async def test_a_group_that_removes_the_bot_and_adds_it_back(bot):
    fake, group = bot.fake, -4102
    store_of(bot).subscribe(group, ChatKind.GROUP, Schedule(8, 0, "UTC", "en"), 7)
    fake.my_chat_member(group, "left", chat_type="supergroup")
    await until(lambda: store_of(bot).get(group).status is Status.PAUSED)
    assert await delivered_at(bot, SLOT, group) == 0
    fake.my_chat_member(group, "member", old_status="left", chat_type="supergroup")
    await until(lambda: store_of(bot).get(group).status is Status.ACTIVE)
    assert await delivered_at(bot, SLOT + timedelta(days=1), group) == 1


async def test_a_channel_briefing_pauses_while_the_bot_may_not_post_there(bot):
    fake, channel = bot.fake, -1004103
    store_of(bot).subscribe(channel, ChatKind.CHANNEL, Schedule(8, 0, "UTC", "en"), 7, title="@news")
    fake.my_chat_member(channel, "administrator", old_status="administrator", chat_type="channel", can_post=False)
    await until(lambda: store_of(bot).get(channel).status is Status.PAUSED)
    assert await delivered_at(bot, SLOT, channel) == 0
    fake.my_chat_member(channel, "administrator", old_status="administrator", chat_type="channel", can_post=True)
    await until(lambda: store_of(bot).get(channel).status is Status.ACTIVE)
    assert await delivered_at(bot, SLOT + timedelta(days=1), channel) == 1


async def test_an_unsubscribed_chat_stays_unsubscribed_when_the_bot_is_added_back(bot):
    fake, chat = bot.fake, 4104
    store_of(bot).subscribe(chat, ChatKind.USER, Schedule(8, 0, "UTC", "en"), chat)
    fake.message("/unsubscribe", chat_id=chat, user_id=chat)
    await fake.wait_for(lambda c: int(c.params["chat_id"]) == chat and "Unsubscribed" in text_of(c))
    for change in (fake.my_chat_member(chat, "kicked"), fake.my_chat_member(chat, "member", old_status="kicked")):
        await until(lambda change=change: handled(bot, change["update_id"]))
    fake.message("/subscription", chat_id=chat, user_id=chat)
    await fake.wait_for(lambda c: int(c.params["chat_id"]) == chat and "has no briefing subscription" in text_of(c))
    assert store_of(bot).get(chat).status is Status.STOPPED


async def test_a_forbidden_send_pauses_by_the_same_rule_and_an_unblock_resumes(bot):
    fake, chat = bot.fake, 4105
    store_of(bot).subscribe(chat, ChatKind.USER, Schedule(8, 0, "UTC", "en"), chat)
    fake.failures["sendMessage"] = [(403, {"description": "Forbidden: bot was blocked by the user"})]
    assert await delivered_at(bot, SLOT, chat) == 0
    assert store_of(bot).get(chat).status is Status.PAUSED
    fake.my_chat_member(chat, "member", old_status="kicked")
    await until(lambda: store_of(bot).get(chat).status is Status.ACTIVE)
    assert await delivered_at(bot, SLOT + timedelta(days=1), chat) == 1
