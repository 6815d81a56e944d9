"""Daily briefings on schedule: one JobQueue job per subscription, rebuilt from the database at start-up, and a
catch-up pass for slots missed while the bot was down. Every delivery is claimed before it is sent (never twice)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, time, timedelta

from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from retrieval.briefing import Briefing, compose_briefing, since_last
from retrieval.errors import BriefError
from retrieval.feeds import FeedPoller

from .formatting import briefing_html
from .handlers import send_reply
from .service import Reply
from .subscriptions import Subscription, SubscriptionStore

log = logging.getLogger(__name__)

RETRY_INTERVAL = timedelta(minutes=10)  # catch-up passes: a failed slot is tried again until CATCH_UP runs out


def job_name(sub: Subscription) -> str:
    return f"briefing:{sub.id}"


def schedule_job(application: Application, sub: Subscription) -> None:
    """(Re)schedule one subscription: PTB's run_daily in the subscription's own time zone, DST included."""
    unschedule_job(application, sub)
    schedule = sub.schedule
    application.job_queue.run_daily(
        daily_job, time=time(schedule.hour, schedule.minute, tzinfo=schedule.zone), name=job_name(sub), data=sub.id
    )


def unschedule_job(application: Application, sub: Subscription) -> None:
    for job in application.job_queue.get_jobs_by_name(job_name(sub)):
        job.schedule_removal()


async def start_schedules(application: Application) -> None:
    """At start-up: a job for every active subscription, and a catch-up pass now and every RETRY_INTERVAL for slots
    missed while the bot was down or whose delivery failed."""
    store: SubscriptionStore = application.bot_data["subscriptions"]
    for sub in store.active():
        schedule_job(application, sub)
    application.job_queue.run_repeating(catch_up_job, interval=RETRY_INTERVAL, first=0, name="briefing:catch-up")
    settings = application.bot_data["service"].settings
    if settings.feeds:
        application.job_queue.run_repeating(
            poll_feeds_job, interval=settings.feed_interval_minutes * 60, first=1, name="feeds"
        )


async def make_briefing(
    context: ContextTypes.DEFAULT_TYPE, since: date, until: date, lang: str, sent: set[str] | None = None
) -> Briefing:
    """Compose a briefing in a worker thread (index and model work), with the LLM when one is configured."""
    service = context.bot_data["service"]
    work = (service.index, since, until, lang, sent, service.answerer.llm)
    return await asyncio.get_running_loop().run_in_executor(context.bot_data["executor"], compose_briefing, *work)


async def poll_feeds_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Fresh news for the next briefing; a failing feed is logged and backed off, the others go on."""
    service = context.bot_data["service"]
    poller = FeedPoller(service.index)
    results = await asyncio.get_running_loop().run_in_executor(
        context.bot_data["executor"], poller.poll_all, service.settings.feeds
    )
    for result in results:
        if result.status == "failed":
            log.warning("feed %s failed: %s", result.url, result.error)
        elif result.new:
            log.info("feed %s: %d new articles", result.url, result.new)


async def daily_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    store: SubscriptionStore = context.bot_data["subscriptions"]
    sub = store.by_id(context.job.data)
    if sub is not None and sub.active:
        now = datetime.now(UTC)
        await deliver(context, sub, sub.schedule.last_slot(now), now)


async def catch_up_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await deliver_due(context, datetime.now(UTC))


async def deliver_due(context: ContextTypes.DEFAULT_TYPE, now: datetime) -> int:
    """Send every briefing whose latest slot is due at `now` (within the catch-up window, not yet sent). One
    subscription's failure is logged and leaves the others alone."""
    store: SubscriptionStore = context.bot_data["subscriptions"]
    sent = 0
    for sub in store.active():
        try:
            slot = sub.schedule.due(now, store.slots(sub.id))
            if slot is not None:
                sent += await deliver(context, sub, slot, now)
        except Exception:  # noqa: BLE001 - e.g. the subscription database: the next subscription still gets its turn
            log.exception("briefing for chat %s (subscription %s) failed", sub.chat_id, sub.id)
    return sent


async def deliver(context: ContextTypes.DEFAULT_TYPE, sub: Subscription, slot: datetime, now: datetime) -> bool:
    """Claim the slot, build and send the briefing. If building or sending fails, the claim is released, so the
    next catch-up pass (every RETRY_INTERVAL, within the catch-up window) tries that slot again."""
    store: SubscriptionStore = context.bot_data["subscriptions"]
    if not store.claim(sub.id, sub.chat_id, slot):
        return False  # this slot was sent (or is being sent) already
    try:
        since = since_last(now.date(), store.last_sent(sub.id))
        briefing = await make_briefing(context, since, now.date(), sub.lang, store.sent_articles(sub.id))
        await send_reply(context, sub.chat_id, Reply(briefing_html(briefing)), on_migrated=store.move_chat)
    except Forbidden as error:
        log.info("briefing for chat %s not allowed (%s): subscription deactivated", sub.chat_id, error)
        store.deactivate(sub.chat_id)
        unschedule_job(context.application, sub)
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
