"""Daily briefings on schedule: one JobQueue job per subscription, rebuilt from the database at start-up, and a
catch-up pass for slots missed while the bot was down. Every delivery is claimed before it is sent (never twice)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from telegram.error import Forbidden, TelegramError
from telegram.ext import JobQueue

from retrieval.briefing import Briefing, compose_briefing, since_last
from retrieval.errors import BriefError
from retrieval.feeds import FeedPoller

from .context import BotApplication, BriefContext
from .formatting import briefing_html
from .sending import send_reply
from .service import Reply
from .subscriptions import Subscription

log = logging.getLogger(__name__)

RETRY_INTERVAL = timedelta(minutes=10)  # catch-up passes: a failed slot is tried again until CATCH_UP runs out


def job_name(sub: Subscription) -> str:
    return f"briefing:{sub.id}"


def jobs_of(application: BotApplication) -> JobQueue[Any]:
    """The application's JobQueue (python-telegram-bot[job-queue] is a dependency, so there always is one)."""
    if application.job_queue is None:
        raise RuntimeError("scheduled briefings need python-telegram-bot's job-queue extra")
    return application.job_queue


def schedule_job(application: BotApplication, sub: Subscription) -> None:
    """(Re)schedule one subscription: PTB's run_daily in the subscription's own time zone, DST included."""
    unschedule_job(application, sub)
    schedule = sub.schedule
    jobs_of(application).run_daily(
        daily_job, time=time(schedule.hour, schedule.minute, tzinfo=schedule.zone), name=job_name(sub), data=sub.id
    )


def unschedule_job(application: BotApplication, sub: Subscription) -> None:
    for job in jobs_of(application).get_jobs_by_name(job_name(sub)):
        job.schedule_removal()


def pause_chat(application: BotApplication, chat_id: int) -> bool:
    """The bot may not write to this chat (a send was Forbidden, or Telegram said it was blocked or removed): its
    subscription is paused and its job removed, until `resume_chat`. True when one was paused."""
    sub = application.bot_data.subscriptions.pause(chat_id)
    if sub is not None:
        unschedule_job(application, sub)
        log.info("the bot may not write to chat %s: its briefings are paused", chat_id)
    return sub is not None


def resume_chat(application: BotApplication, chat_id: int) -> bool:
    """The bot was unblocked or added back: a subscription paused by `pause_chat` is delivered again."""
    sub = application.bot_data.subscriptions.resume(chat_id)
    if sub is not None:
        schedule_job(application, sub)
        log.info("the bot may write to chat %s again: its briefings resume", chat_id)
    return sub is not None


async def start_schedules(application: BotApplication) -> None:
    """At start-up: a job for every active subscription, and a catch-up pass now and every RETRY_INTERVAL for slots
    missed while the bot was down or whose delivery failed."""
    for sub in application.bot_data.subscriptions.active():
        schedule_job(application, sub)
    jobs = jobs_of(application)
    jobs.run_repeating(catch_up_job, interval=RETRY_INTERVAL, first=0, name="briefing:catch-up")
    settings = application.bot_data.service.settings
    if settings.feeds:
        jobs.run_repeating(poll_feeds_job, interval=settings.feed_interval_minutes * 60, first=1, name="feeds")


async def make_briefing(
    context: BriefContext, since: date, until: date, lang: str, sent: set[str] | None = None
) -> Briefing:
    """Compose a briefing in a worker thread (index and model work), with the LLM when one is configured."""
    service = context.bot_data.service
    work = (service.index, since, until, lang, sent, service.answerer.llm)
    return await asyncio.get_running_loop().run_in_executor(context.bot_data.executor, compose_briefing, *work)


async def poll_feeds_job(context: BriefContext) -> None:
    """Fresh news for the next briefing; a failing feed is logged and backed off, the others go on."""
    service = context.bot_data.service
    poller = FeedPoller(service.index)
    results = await asyncio.get_running_loop().run_in_executor(
        context.bot_data.ingest_executor, poller.poll_all, service.settings.feeds
    )
    for result in results:
        if result.status == "failed":
            log.warning("feed %s failed: %s", result.url, result.error)
        elif result.new:
            log.info("feed %s: %d new articles", result.url, result.new)


async def daily_job(context: BriefContext) -> None:
    job = context.job
    if job is None or not isinstance(job.data, int):
        raise TypeError("daily_job runs as a subscription's job, its data the subscription id")
    sub = context.bot_data.subscriptions.by_id(job.data)
    if sub is not None and sub.active:
        now = context.bot_data.now()
        await deliver(context, sub, sub.schedule.last_slot(now), now)


async def catch_up_job(context: BriefContext) -> None:
    await deliver_due(context, context.bot_data.now())


async def deliver_due(context: BriefContext, now: datetime) -> int:
    """Send every briefing whose latest slot is due at `now` (within the catch-up window, not yet sent). One
    subscription's failure is logged and leaves the others alone."""
    store = context.bot_data.subscriptions
    sent = 0
    for sub in store.active():
        try:
            slot = sub.schedule.due(now, store.slots(sub.id))
            if slot is not None:
                sent += await deliver(context, sub, slot, now)
        except Exception:  # noqa: BLE001 - e.g. the subscription database: the next subscription still gets its turn
            log.exception("briefing for chat %s (subscription %s) failed", sub.chat_id, sub.id)
    return sent


async def deliver(context: BriefContext, sub: Subscription, slot: datetime, now: datetime) -> bool:
    """Claim the slot, build and send the briefing. If building or sending fails, the claim is released, so the
    next catch-up pass (every RETRY_INTERVAL, within the catch-up window) tries that slot again."""
    store = context.bot_data.subscriptions
    if not store.claim(sub.id, sub.chat_id, slot):
        return False  # this slot was sent (or is being sent) already
    try:
        since = since_last(now.date(), store.last_sent(sub.id))
        briefing = await make_briefing(context, since, now.date(), sub.lang, store.sent_articles(sub.id))
        await send_reply(context, sub.chat_id, Reply(briefing_html(briefing)), on_migrated=store.move_chat)
    except Forbidden as error:
        log.info("briefing for chat %s not allowed (%s)", sub.chat_id, error)
        pause_chat(context.application, sub.chat_id)
        return False
    except Exception as error:  # noqa: BLE001 - index down, Telegram 400/5xx, a bug: retried, never lost
        store.release(sub.id, slot)
        log.warning(
            "briefing for chat %s (slot %s) failed, to be retried: %s: %s",
            sub.chat_id,
            slot.isoformat(),
            type(error).__name__,
            error,
            exc_info=not isinstance(error, TelegramError | BriefError),  # a traceback for bugs only
        )
        return False
    store.delivered(sub.id, slot, briefing.article_ids, now)
    return True
