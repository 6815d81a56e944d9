"""/subscribe, /unsubscribe, /subscription and /briefing: daily briefings for a private chat or a group."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from retrieval.briefing import WindowError, parse_window, since_last
from retrieval.phrases import phrase, render_date

from .delivery import make_briefing, schedule_job, unschedule_job
from .formatting import briefing_html, esc
from .handlers import send_reply, service_of, thread_of, user_lang
from .schedule import ScheduleError, parse_schedule
from .service import Reply
from .subscriptions import Subscription, SubscriptionStore

ADMINS = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def store_of(context: ContextTypes.DEFAULT_TYPE) -> SubscriptionStore:
    return context.bot_data["subscriptions"]


async def _say(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, lang: str, **values) -> None:
    message = update.effective_message
    await send_reply(context, message.chat_id, service_of(context).text(key, lang, **values), thread_of(message))


async def _may_manage(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Anyone manages their private chat's subscription; in a group only its administrators (getChatMember)."""
    chat, user = update.effective_chat, update.effective_user
    if chat.type == ChatType.PRIVATE:
        return True
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in ADMINS


def describe(sub: Subscription, lang: str, now: datetime) -> dict:
    schedule = sub.schedule
    following = schedule.next_slot(now).astimezone(schedule.zone)
    return {
        "time": f"{schedule.hour:02d}:{schedule.minute:02d}",
        "tz": schedule.tz,
        "language": phrase(f"lang_{sub.lang}", lang),
        "next": f"{render_date(following.date(), lang)} {following:%H:%M}",
    }


async def on_subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = user_lang(update, context)
    if not await _may_manage(update, context):
        await _say(update, context, "admins_only_group", lang)
        return
    try:
        schedule = parse_schedule(list(context.args or []), lang)
    except ScheduleError as error:
        await _say(update, context, error.key, lang, value=error.value)
        return
    chat, user = update.effective_chat, update.effective_user
    kind = "user" if chat.type == ChatType.PRIVATE else "group"
    sub = store_of(context).subscribe(chat.id, kind, schedule, user.id if user else None)
    schedule_job(context.application, sub)
    await _say(update, context, "subscribed", schedule.lang, **describe(sub, schedule.lang, datetime.now(UTC)))


async def on_unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = user_lang(update, context)
    if not await _may_manage(update, context):
        await _say(update, context, "admins_only_group", lang)
        return
    sub = store_of(context).get(update.effective_chat.id)
    if sub is None or not store_of(context).deactivate(sub.chat_id):
        await _say(update, context, "not_subscribed", lang)
        return
    unschedule_job(context.application, sub)
    await _say(update, context, "unsubscribed", lang)


async def on_subscription(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = user_lang(update, context)
    sub = store_of(context).get(update.effective_chat.id)
    if sub is None or not sub.active:
        await _say(update, context, "not_subscribed", lang)
        return
    await _say(update, context, "subscription_info", lang, **describe(sub, lang, datetime.now(UTC)))


async def on_briefing(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A briefing now: since this chat's last one (see `since_last`), or the last 24 hours."""
    message = update.effective_message
    sub = store_of(context).get(update.effective_chat.id)
    lang = sub.lang if sub else user_lang(update, context)
    now = datetime.now(UTC)
    since = since_last(now.date(), store_of(context).last_sent(sub.id) if sub else None)
    sent = store_of(context).sent_articles(sub.id) if sub else set()
    briefing = await make_briefing(context, since, now.date(), lang, sent)
    await send_reply(context, message.chat_id, Reply(briefing_html(briefing)), thread_of(message))


async def on_summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/summary [24h|7d]: anyone in a group may ask; a few per chat every ten minutes."""
    message, chat = update.effective_message, update.effective_chat
    lang = user_lang(update, context)
    if not service_of(context).summaries.allow(chat.id):
        await _say(update, context, "summary_limited", lang)
        return
    now = datetime.now(UTC)
    try:
        since = parse_window((context.args or ["24h"])[0], now.date())
    except WindowError as error:  # "/summary 9999999d": say why, as `brief briefing` does
        await send_reply(context, message.chat_id, Reply(esc(error.text(lang))), thread_of(message))
        return
    briefing = await make_briefing(context, since, now.date(), lang)
    await send_reply(context, message.chat_id, Reply(briefing_html(briefing)), thread_of(message))


async def on_channel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/channel @name HH:MM [timezone] [ar|en] or /channel @name off, from a private chat; says exactly what is
    missing: the channel, the user's admin rights there, or the bot's right to post."""
    lang = user_lang(update, context)
    args = list(context.args or [])
    if update.effective_chat.type != ChatType.PRIVATE:
        await _say(update, context, "channel_private_only", lang)
        return
    if not args or not args[0].startswith("@"):
        await _say(update, context, "channel_usage", lang)
        return
    name, rest, user = args[0], args[1:], update.effective_user
    try:
        channel = await context.bot.get_chat(name)
        member = await context.bot.get_chat_member(channel.id, user.id)
    except BadRequest:
        await _say(update, context, "channel_not_found", lang, channel=name)
        return
    if member.status not in ADMINS:
        await _say(update, context, "channel_not_admin", lang, channel=name)
        return
    store = store_of(context)
    if rest[:1] == ["off"]:
        sub = store.get(channel.id)
        if sub is not None and store.deactivate(channel.id):
            unschedule_job(context.application, sub)
        await _say(update, context, "channel_off", lang, channel=name)
        return
    me = await context.bot.get_chat_member(channel.id, context.bot.id)
    if me.status not in ADMINS or not getattr(me, "can_post_messages", False):
        await _say(update, context, "channel_bot_cannot_post", lang, channel=name)
        return
    try:
        schedule = parse_schedule(rest, lang)
    except ScheduleError as error:
        await _say(update, context, error.key, lang, value=error.value)
        return
    sub = store.subscribe(channel.id, "channel", schedule, user.id, title=name)
    schedule_job(context.application, sub)
    await _say(update, context, "channel_scheduled", lang, channel=name, **describe(sub, lang, datetime.now(UTC)))


async def on_channels(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = user_lang(update, context)
    subs = store_of(context).channels_of(update.effective_user.id)
    if not subs:
        await _say(update, context, "no_channels", lang)
        return
    now = datetime.now(UTC)
    lines = [esc(phrase("channel_scheduled", lang, channel=s.title, **describe(s, lang, now))) for s in subs]
    await send_reply(context, update.effective_message.chat_id, Reply("\n".join(lines)))
