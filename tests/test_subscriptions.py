"""Daily briefings: schedules across DST, the delivery record, and delivery end to end with an injected clock.

The store-level and end-to-end tests run twice: on SQLite and on a real PostgreSQL server (`bot_database_url`)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from telegram.ext import CallbackContext

from bot.delivery import deliver_due, job_name
from bot.schedule import Schedule, ScheduleError, parse_schedule
from bot.subscriptions import SubscriptionStore
from fakes.telegram import FakeTelegram
from retrieval.index import Index

from .bot_harness import Bot, text_of


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- schedules ------------------------------------------------------------------------------------------------------
def test_parse_schedule_arguments():
    assert parse_schedule([], "ar") == Schedule(8, 0, "UTC", "ar")
    assert parse_schedule(["07:30", "Asia/Baku", "en"], "ar") == Schedule(7, 30, "Asia/Baku", "en")
    assert parse_schedule(["ar", "+04:00", "21:05"], "en") == Schedule(21, 5, "+04:00", "ar")
    with pytest.raises(ScheduleError) as bad_time:
        parse_schedule(["25:00"], "en")
    assert (bad_time.value.key, bad_time.value.value) == ("bad_time", "25:00")
    with pytest.raises(ScheduleError) as bad_zone:
        parse_schedule(["Mars/Olympus"], "en")
    assert bad_zone.value.key == "bad_timezone"


def test_slots_follow_local_time_across_a_dst_change():
    berlin = Schedule(8, 0, "Europe/Berlin", "en")  # clocks go forward on 29 March 2026
    assert berlin.at(utc(2026, 3, 28).date()) == utc(2026, 3, 28, 7, 0)
    assert berlin.at(utc(2026, 3, 29).date()) == utc(2026, 3, 29, 6, 0)
    assert berlin.next_slot(utc(2026, 3, 28, 7, 30)) == utc(2026, 3, 29, 6, 0)
    assert berlin.last_slot(utc(2026, 3, 29, 6, 30)) == utc(2026, 3, 29, 6, 0)
    assert berlin.last_slot(utc(2026, 3, 29, 5, 59)) == utc(2026, 3, 28, 7, 0)
    new_york = Schedule(8, 0, "America/New_York", "en")  # clocks go back on 1 November 2026
    assert new_york.at(utc(2026, 10, 31).date()) == utc(2026, 10, 31, 12, 0)
    assert new_york.at(utc(2026, 11, 1).date()) == utc(2026, 11, 1, 13, 0)
    baku = Schedule(8, 0, "Asia/Baku", "ar")  # no DST: always UTC+4
    assert baku.next_slot(utc(2026, 6, 1, 5, 0)) == utc(2026, 6, 2, 4, 0)


def test_a_missed_slot_is_due_within_two_hours_only_and_only_once():
    schedule = Schedule(8, 0, "UTC", "en")
    slot = utc(2026, 5, 1, 8, 0)
    assert schedule.due(slot + timedelta(minutes=119), set()) == slot
    assert schedule.due(slot + timedelta(minutes=121), set()) is None
    assert schedule.due(slot + timedelta(minutes=30), {slot}) is None


def test_store_claims_a_slot_once_and_survives_reopening(bot_database_url):
    url = bot_database_url
    store = SubscriptionStore(url)
    sub = store.subscribe(101, "user", Schedule(8, 0, "UTC", "en"), 101)
    slot = utc(2026, 5, 1, 8, 0)
    assert store.claim(sub.id, 101, slot) is True
    assert store.claim(sub.id, 101, slot) is False
    store.delivered(sub.id, slot, ["a1", "a2"], slot + timedelta(seconds=3))
    reopened = SubscriptionStore(url)
    assert reopened.slots(sub.id) == {slot}
    assert reopened.sent_articles(sub.id) == {"a1", "a2"}
    assert reopened.claim(sub.id, 101, slot) is False
    reopened.move_chat(101, 202)
    assert reopened.get(101) is None and reopened.get(202).id == sub.id


def test_concurrent_claims_from_many_connections_win_each_slot_once(bot_database_url):
    """Two bot processes each have their own engine: the unique claim, not the process, is the guard."""
    setup = SubscriptionStore(bot_database_url)
    subs = [setup.subscribe(chat, "user", Schedule(8, 0, "UTC", "en"), chat) for chat in range(300, 320)]
    slot = utc(2026, 5, 1, 8, 0)
    racers = 6
    stores = [SubscriptionStore(bot_database_url) for _ in range(racers)]  # each its own engine and pool
    together = threading.Barrier(racers, timeout=30)

    def race(store: SubscriptionStore) -> list[int]:
        won = []
        for sub in subs:
            together.wait()  # every racer claims this slot at the same moment
            if store.claim(sub.id, sub.chat_id, slot):
                won.append(sub.id)
        return won

    with ThreadPoolExecutor(racers) as pool:
        won = [(n, sub_id) for n, claims in enumerate(pool.map(race, stores)) for sub_id in claims]
    assert sorted(sub_id for _, sub_id in won) == sorted(sub.id for sub in subs), "every slot claimed exactly once"
    assert all(len(setup.deliveries(sub.id)) == 1 for sub in subs)


# -- end to end -----------------------------------------------------------------------------------------------------
@pytest.fixture
async def running(bot_index, bot_database_url):
    fake = FakeTelegram()
    base = await fake.start()
    runner = Bot(bot_index, fake, base, database_url=bot_database_url)
    await runner.start()
    yield runner
    await runner.stop()
    await fake.stop()


async def test_subscribe_schedules_a_job_and_delivers_each_slot_once_across_a_restart(running):
    fake = running.fake
    fake.message("/subscribe 08:00 Asia/Baku ar", chat_id=501, user_id=501)
    reply = await fake.wait_for(lambda c: int(c.params["chat_id"]) == 501)
    assert "تم الاشتراك" in text_of(reply) and "08:00 (Asia/Baku)" in text_of(reply)
    store: SubscriptionStore = running.app.bot_data.subscriptions
    sub = store.get(501)
    (job,) = running.app.job_queue.get_jobs_by_name(job_name(sub))
    assert job.next_t.astimezone(UTC).time().isoformat() == "04:00:00"

    slot = utc(2026, 6, 1, 4, 0)
    context = CallbackContext(running.app)
    assert await deliver_due(context, slot + timedelta(minutes=1)) == 1
    briefing = fake.sent(chat_id=501)[-1]
    # The corpus ends in 2025: the week before a June 2026 slot has no news, said in the subscription's language.
    assert text_of(briefing).startswith("لا توجد مقالات جديدة عن النزاع بين") and "[1]" not in text_of(briefing)
    assert await deliver_due(context, slot + timedelta(minutes=5)) == 0, "the same slot is not sent twice"

    await running.restart()
    context = CallbackContext(running.app)
    assert await deliver_due(context, slot + timedelta(minutes=90)) == 0, "nor after a restart"
    next_slot = slot + timedelta(days=1)
    assert await deliver_due(context, next_slot + timedelta(minutes=100)) == 1, "a missed slot within 2 h is sent"
    assert await deliver_due(context, next_slot + timedelta(days=1, minutes=130)) == 0, "beyond 2 h it is not"
    assert len(store.deliveries(sub.id)) == 2
    assert running.app.job_queue.get_jobs_by_name(job_name(sub)), "jobs are rebuilt from the database at start"

    fake.message("/subscription", chat_id=501, user_id=501)
    info = await fake.wait_for(lambda c: int(c.params["chat_id"]) == 501 and "in Arabic. Next one:" in text_of(c))
    assert "08:00" in text_of(info)
    fake.message("/unsubscribe", chat_id=501, user_id=501)
    await fake.wait_for(lambda c: int(c.params["chat_id"]) == 501 and "Unsubscribed" in text_of(c))
    assert store.get(501).active is False


async def test_forbidden_deactivates_and_chat_migration_moves_the_subscription(running):
    fake, app = running.fake, running.app
    store: SubscriptionStore = app.bot_data.subscriptions
    blocked = store.subscribe(601, "user", Schedule(9, 0, "UTC", "en"), 601)
    group = store.subscribe(-602, "group", Schedule(9, 0, "UTC", "en"), 7)
    now = utc(2026, 6, 1, 9, 10)
    fake.failures["sendMessage"] = [
        (403, {"description": "Forbidden: bot was blocked by the user"}),
        (
            400,
            {
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": -100602},
            },
        ),
    ]
    sent = await deliver_due(CallbackContext(app), now)
    assert sent == 1
    assert store.get(601).active is False and store.by_id(blocked.id).active is False
    assert store.get(-602) is None and store.get(-100602).id == group.id
    assert fake.sent(chat_id=-100602), "the briefing went to the supergroup"


async def test_only_group_admins_subscribe_a_group(running):
    fake = running.fake
    fake.message("/subscribe 07:00 Asia/Yerevan", chat_id=-701, user_id=702, chat_type="supergroup")
    await fake.wait_for(lambda c: int(c.params["chat_id"]) == -701 and "administrators" in text_of(c))
    assert running.app.bot_data.subscriptions.get(-701) is None
    fake.member_status = "administrator"
    fake.message("/subscribe 07:00 Asia/Yerevan", chat_id=-701, user_id=703, chat_type="supergroup")
    await fake.wait_for(lambda c: int(c.params["chat_id"]) == -701 and "Subscribed" in text_of(c))
    assert running.app.bot_data.subscriptions.get(-701).kind == "group"


async def test_bad_subscribe_arguments_get_a_clear_message(running):
    fake = running.fake
    fake.message("/subscribe 8am Mars/Olympus", chat_id=801, user_id=801)
    reply = await fake.wait_for(lambda c: int(c.params["chat_id"]) == 801)
    assert "I do not know the time zone “8am”" in text_of(reply)
    fake.message("/subscribe 24:30", chat_id=801, user_id=801, language_code="ar")
    await fake.wait_for(lambda c: int(c.params["chat_id"]) == 801 and "ليس وقتًا صحيحًا" in text_of(c))


async def test_briefing_command_sends_one_now(running):
    running.fake.message("/briefing", chat_id=901, user_id=901)
    reply = await running.fake.wait_for(lambda c: int(c.params["chat_id"]) == 901)
    assert text_of(reply).startswith("No new articles about the conflict between")


async def test_the_bot_polls_configured_feeds(bot_index, tmp_path):
    from bot.delivery import poll_feeds_job
    from retrieval.search import Retriever

    from .servers import ConditionalFeed, serving

    fake = FakeTelegram()
    base = await fake.start()
    with serving(ConditionalFeed) as feeds:
        runner = Bot(
            bot_index,
            fake,
            base,
            database_url=f"sqlite:///{tmp_path / 's.sqlite3'}",
            feeds=[f"{feeds}/feed.xml", f"{feeds}/broken.xml"],
        )
        await runner.start()
        try:
            assert runner.app.job_queue.get_jobs_by_name("feeds")
            await poll_feeds_job(CallbackContext(runner.app))
        finally:
            await runner.stop()
            await fake.stop()
    assert "Ijevan" in Retriever(bot_index).search("border crossing Ijevan", k=1)[0].title


async def test_channel_set_up_says_exactly_what_is_missing(running):
    fake = running.fake
    fake.channels["@karabakh_news"] = -100777
    say = []

    async def ask(text: str) -> str:
        before = len(fake.sent(chat_id=950))
        fake.message(text, chat_id=950, user_id=950)
        await fake.wait_for(lambda c: len(fake.sent(chat_id=950)) > before)
        say.append(text_of(fake.sent(chat_id=950)[-1]))
        return say[-1]

    assert "cannot find the channel @nowhere" in await ask("/channel @nowhere 08:00")
    assert "not an administrator of @karabakh_news" in await ask("/channel @karabakh_news 08:00")
    fake.members[(-100777, 950)] = "administrator"
    fake.bot_can_post = False
    fake.members[(-100777, 4242)] = "administrator"
    assert "make me an administrator of the channel with the right to post" in await ask(
        "/channel @karabakh_news 08:00 Asia/Yerevan ar"
    )
    fake.bot_can_post = True
    done = await ask("/channel @karabakh_news 08:00 Asia/Yerevan ar")
    assert "@karabakh_news will get a briefing every day at 08:00 (Asia/Yerevan), in Arabic" in done
    store: SubscriptionStore = running.app.bot_data.subscriptions
    assert store.get(-100777).kind == "channel"
    assert "@karabakh_news" in await ask("/channels")
    await deliver_due(
        CallbackContext(running.app), Schedule(8, 0, "Asia/Yerevan", "ar").last_slot(utc(2026, 6, 1, 4, 30))
    )
    assert fake.sent(chat_id=-100777), "the channel got its briefing"
    assert "No more briefings in @karabakh_news" in await ask("/channel @karabakh_news off")
    assert store.get(-100777).active is False


async def test_anyone_may_ask_a_group_summary_a_few_times(running):
    fake = running.fake
    for user in (961, 962, 963):
        fake.message("/summary 7d", chat_id=-960, user_id=user, chat_type="supergroup")
    await fake.wait_for(lambda c: int(c.params["chat_id"]) == -960 and "please wait" in text_of(c))
    await fake.wait_for(lambda c: len(fake.sent(chat_id=-960)) == 3)
    texts = [text_of(c) for c in fake.sent(chat_id=-960)]
    assert sum(t.startswith("No new articles") for t in texts) == 2


async def test_a_summary_with_a_bad_window_says_why(running):
    fake = running.fake
    fake.message("/summary 9999999d", chat_id=-970, user_id=971, chat_type="supergroup")
    await fake.wait_for(lambda c: len(fake.sent(chat_id=-970)) == 1)
    [reply] = [text_of(c) for c in fake.sent(chat_id=-970)]
    assert reply == "“9999999d” is too long a window: at most 3660 days.", "the same one line as `brief briefing`"


async def test_many_subscribers_due_at_once_all_get_their_briefing(running):
    fake, app = running.fake, running.app
    store: SubscriptionStore = app.bot_data.subscriptions
    for chat in range(1001, 1041):
        store.subscribe(chat, "user", Schedule(7, 0, "UTC", "en"), chat)
    fake.failures["sendMessage"] = [
        (429, {"description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}})
    ]
    sent = await deliver_due(CallbackContext(app), utc(2026, 7, 1, 7, 5))
    assert sent == 40
    assert {int(c.params["chat_id"]) for c in fake.sent()} >= set(range(1001, 1041))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_briefing_that_fails_to_build_is_retried_and_delivered_exactly_once(running, caplog):
    """The vector index is down for the first pass (a Chroma server nobody listens for), back for the next."""
    fake, app = running.fake, running.app
    store: SubscriptionStore = app.bot_data.subscriptions
    service = app.bot_data.service
    sub = store.subscribe(1101, "user", Schedule(9, 0, "UTC", "en"), 1101)
    slot = utc(2024, 4, 18, 9, 0)  # the window holds the Reuters peacekeepers story of 17 April 2024
    settings = service.index.settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": free_port()})
    working, service.index = service.index, Index(settings, embedder=service.index.embedder)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.delivery"):
            assert await deliver_due(CallbackContext(app), slot + timedelta(minutes=5)) == 0
    finally:
        service.index.close()
        service.index = working
    assert not fake.sent(chat_id=1101)
    assert store.deliveries(sub.id) == [], "the claim was released"
    failure = next(r for r in caplog.records if "1101" in r.getMessage())
    assert "IndexUnavailableError" in failure.getMessage() and "cannot reach the Chroma server" in failure.getMessage()
    assert not failure.exc_info, "a product error (BriefError) says what to fix: no traceback, it is no bug"

    assert await deliver_due(CallbackContext(app), slot + timedelta(minutes=15)) == 1, "the next pass sends it"
    assert await deliver_due(CallbackContext(app), slot + timedelta(minutes=25)) == 0
    (briefing,) = fake.sent(chat_id=1101)
    # Two wire copies of the story, one date: which leads follows their ids, and a file's id comes from its absolute
    # path (so from where the repository is checked out).
    copies = [
        "Russia starts pulling peacekeepers out of Karabakh region",
        "Russian peacekeepers begin withdrawal from Karabakh",
    ]
    assert any(title in text_of(briefing) for title in copies), text_of(briefing)
    (delivery,) = store.deliveries(sub.id)
    assert delivery.sent_at is not None and json.loads(delivery.article_ids)


async def test_one_subscribers_telegram_error_does_not_stop_the_next(running, caplog):
    fake, app = running.fake, running.app
    store: SubscriptionStore = app.bot_data.subscriptions
    broken = store.subscribe(1201, "user", Schedule(6, 0, "UTC", "en"), 1201)
    fine = store.subscribe(1202, "user", Schedule(6, 0, "UTC", "en"), 1202)
    fake.chat_failures[1201] = (400, {"description": "Bad Request: chat not found"})
    now = utc(2026, 8, 1, 6, 5)
    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        assert await deliver_due(CallbackContext(app), now) == 1
    assert fake.sent(chat_id=1201, failed=True) and not fake.sent(chat_id=1201)
    assert fake.sent(chat_id=1202), "the next subscriber got its briefing"
    assert [d.sent_at is not None for d in store.deliveries(fine.id)] == [True]
    assert store.deliveries(broken.id) == [], "the failed slot is free for the next pass"
    assert any("1201" in r.getMessage() and "chat not found" in r.getMessage().lower() for r in caplog.records)

    del fake.chat_failures[1201]
    assert await deliver_due(CallbackContext(app), now + timedelta(minutes=10)) == 1
    assert len(fake.sent(chat_id=1201)) == 1 and len(fake.sent(chat_id=1202)) == 1


def deliver_from_another_bot(bot_index, url: str, now: datetime, ready: threading.Barrier) -> list[int]:  # noqa: F811
    """A second bot (its own Application, engine, event loop and Telegram) delivering against the same database, in
    a thread: both bots' deliveries really run at the same time. Returns the chats it sent a briefing to."""

    async def run() -> list[int]:
        fake = FakeTelegram()
        runner = Bot(bot_index, fake, await fake.start(), database_url=url)
        await runner.start()
        try:
            ready.wait()
            await deliver_due(CallbackContext(runner.app), now)
            return [int(c.params["chat_id"]) for c in fake.sent()]
        finally:
            await runner.stop()
            await fake.stop()

    return asyncio.run(run())


async def test_two_bots_on_one_database_send_each_slot_exactly_once(bot_index, bot_database_url):  # noqa: F811
    store = SubscriptionStore(bot_database_url)
    chats = list(range(2001, 2031))
    for chat in chats:
        store.subscribe(chat, "user", Schedule(7, 0, "UTC", "en"), chat)
    now = utc(2026, 7, 1, 7, 5)
    ready = threading.Barrier(2, timeout=60)  # a bot that failed to start breaks it instead of hanging the other
    other = asyncio.get_running_loop().run_in_executor(
        None, deliver_from_another_bot, bot_index, bot_database_url, now, ready
    )
    fake = FakeTelegram()
    runner = Bot(bot_index, fake, await fake.start(), database_url=bot_database_url)
    await runner.start()
    try:
        await asyncio.get_running_loop().run_in_executor(None, ready.wait)
        await deliver_due(CallbackContext(runner.app), now)
        theirs = await other
    finally:
        await runner.stop()
        await fake.stop()
    ours = [int(c.params["chat_id"]) for c in fake.sent()]
    sent = Counter(ours + theirs)
    assert set(sent) == set(chats) and set(sent.values()) == {1}, f"each chat exactly once: {sent}"
    assert all(d.sent_at is not None for chat in chats for d in store.deliveries(store.get(chat).id))


async def test_answer_buttons_work_after_a_restart_and_nothing_is_pickled(running):
    """Remembered answers and /lang live in the bot database (SQLite or PostgreSQL) as JSON: no pickle file."""
    fake = running.fake
    fake.message("What did Peskov say about Russian mediation?", chat_id=1301, user_id=1301)
    await fake.wait_for(lambda c: int(c.params["chat_id"]) == 1301 and "According to" in text_of(c))
    message = {**fake.messages[(1301, max(k[1] for k in fake.messages if k[0] == 1301))]}
    await running.restart()
    fake.callback("src", message, user_id=1301)
    quotes = await fake.wait_for(lambda c: int(c.params["chat_id"]) == 1301 and "<blockquote>" in text_of(c))
    assert "روسيا ستواصل التوسط" in text_of(quotes)
    fake.callback("fb:-", message, user_id=1301)
    await fake.wait_for(lambda c: c.params.get("text") == "Thank you for the feedback.", method="answerCallbackQuery")
    (vote,) = [v for v in running.app.bot_data.feedback.all() if v["chat_id"] == 1301]
    assert vote["vote"] == -1 and "Peskov" in vote["question"]
    data_dir = running.index.settings.data_dir
    assert not list(data_dir.glob("*.pickle")) and not (data_dir / "feedback.sqlite3").exists()
