"""/subscribe, /unsubscribe, /subscription and /briefing: daily briefings for a private chat or a group."""

from __future__ import annotations

from datetime import datetime

from telegram import ChatMember, ChatMemberAdministrator, ChatMemberRestricted, Update, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest

from retrieval.briefing import WindowError, parse_window, since_last
from retrieval.phrases import phrase, render_date

from .context import BriefContext
from .delivery import make_briefing, pause_chat, resume_chat, schedule_job, unschedule_job
from .formatting import briefing_html, esc
from .handlers import NotAMessageError, chat_of, message_of, service_of, user_lang
from .schedule import ScheduleError, parse_schedule
from .sending import send_reply, thread_of
from .service import Reply
from .subscriptions import ChatKind, Subscription, SubscriptionStore

ADMINS = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def store_of(context: BriefContext) -> SubscriptionStore:
    return context.bot_data.subscriptions


def user_of(update: Update) -> User:
    """Who sent a command (every message in a private chat or group has a sender)."""
    user = update.effective_user
    if user is None:
        raise NotAMessageError(f"update {update.update_id} has no sender")
    return user


async def _say(update: Update, context: BriefContext, key: str, lang: str, **values: object) -> None:
    message = message_of(update)
    await send_reply(context, message.chat_id, service_of(context).text(key, lang, **values), thread_of(message))


async def _may_manage(update: Update, context: BriefContext) -> bool:
    """Anyone manages their private chat's subscription; in a group only its administrators (getChatMember)."""
    chat = chat_of(update)
    if chat.type == ChatType.PRIVATE:
        return True
    member = await context.bot.get_chat_member(chat.id, user_of(update).id)
    return member.status in ADMINS


def describe(sub: Subscription, lang: str, now: datetime) -> dict[str, str]:
    schedule = sub.schedule
    following = schedule.next_slot(now).astimezone(schedule.zone)
    return {
        "time": f"{schedule.hour:02d}:{schedule.minute:02d}",
        "tz": schedule.tz,
        "language": phrase(f"lang_{sub.lang}", lang),
        "next": f"{render_date(following.date(), lang)} {following:%H:%M}",
    }


async def on_subscribe(update: Update, context: BriefContext) -> None:
    lang = user_lang(update, context)
    if not await _may_manage(update, context):
        await _say(update, context, "admins_only_group", lang)
        return
    try:
        schedule = parse_schedule(list(context.args or []), lang)
    except ScheduleError as error:
        await _say(update, context, error.key, lang, value=error.value)
        return
    chat, user = chat_of(update), update.effective_user
    kind = ChatKind.USER if chat.type == ChatType.PRIVATE else ChatKind.GROUP
    sub = store_of(context).subscribe(chat.id, kind, schedule, user.id if user else None)
    schedule_job(context.application, sub)
    await _say(update, context, "subscribed", schedule.lang, **describe(sub, schedule.lang, context.bot_data.now()))


async def on_unsubscribe(update: Update, context: BriefContext) -> None:
    lang = user_lang(update, context)
    if not await _may_manage(update, context):
        await _say(update, context, "admins_only_group", lang)
        return
    sub = store_of(context).get(chat_of(update).id)
    if sub is None or not store_of(context).deactivate(sub.chat_id):
        await _say(update, context, "not_subscribed", lang)
        return
    unschedule_job(context.application, sub)
    await _say(update, context, "unsubscribed", lang)


async def on_subscription(update: Update, context: BriefContext) -> None:
    lang = user_lang(update, context)
    sub = store_of(context).get(chat_of(update).id)
    if sub is None or not sub.active:
        await _say(update, context, "not_subscribed", lang)
        return
    await _say(update, context, "subscription_info", lang, **describe(sub, lang, context.bot_data.now()))


async def on_briefing(update: Update, context: BriefContext) -> None:
    """A briefing now: since this chat's last one (see `since_last`), or the last 24 hours."""
    message = message_of(update)
    sub = store_of(context).get(chat_of(update).id)
    lang = sub.lang if sub else user_lang(update, context)
    now = context.bot_data.now()
    since = since_last(now.date(), store_of(context).last_sent(sub.id) if sub else None)
    sent = store_of(context).sent_articles(sub.id) if sub else set()
    briefing = await make_briefing(context, since, now.date(), lang, sent)
    await send_reply(context, message.chat_id, Reply(briefing_html(briefing)), thread_of(message))


async def on_summary(update: Update, context: BriefContext) -> None:
    """/summary [24h|7d]: anyone in a group may ask; a few per chat every ten minutes."""
    message, chat = message_of(update), chat_of(update)
    lang = user_lang(update, context)
    if not service_of(context).summaries.allow(chat.id):
        await _say(update, context, "summary_limited", lang)
        return
    now = context.bot_data.now()
    try:
        since = parse_window((context.args or ["24h"])[0], now.date())
    except WindowError as error:  # "/summary 9999999d": say why, as `brief briefing` does
        await send_reply(context, message.chat_id, Reply(esc(error.text(lang))), thread_of(message))
        return
    briefing = await make_briefing(context, since, now.date(), lang)
    await send_reply(context, message.chat_id, Reply(briefing_html(briefing)), thread_of(message))


async def on_channel(update: Update, context: BriefContext) -> None:
    """/channel @name HH:MM [timezone] [ar|en] or /channel @name off, from a private chat; says exactly what is
    missing: the channel, the user's admin rights there, or the bot's right to post."""
    lang = user_lang(update, context)
    args = list(context.args or [])
    if chat_of(update).type != ChatType.PRIVATE:
        await _say(update, context, "channel_private_only", lang)
        return
    if not args or not args[0].startswith("@"):
        await _say(update, context, "channel_usage", lang)
        return
    name, rest, user = args[0], args[1:], user_of(update)
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
    if not isinstance(me, ChatMemberAdministrator) or not me.can_post_messages:
        await _say(update, context, "channel_bot_cannot_post", lang, channel=name)
        return
    try:
        schedule = parse_schedule(rest, lang)
    except ScheduleError as error:
        await _say(update, context, error.key, lang, value=error.value)
        return
    sub = store.subscribe(channel.id, ChatKind.CHANNEL, schedule, user.id, title=name)
    schedule_job(context.application, sub)
    await _say(update, context, "channel_scheduled", lang, channel=name, **describe(sub, lang, context.bot_data.now()))


async def on_channels(update: Update, context: BriefContext) -> None:
    lang = user_lang(update, context)
    subs = store_of(context).channels_of(user_of(update).id)
    if not subs:
        await _say(update, context, "no_channels", lang)
        return
    now = context.bot_data.now()
    lines = [esc(phrase("channel_scheduled", lang, channel=s.title, **describe(s, lang, now))) for s in subs]
    await send_reply(context, message_of(update).chat_id, Reply("\n".join(lines)))


def may_post(member: ChatMember, chat_type: str) -> bool:
    """Whether the bot, as this member of a chat, can send the chat its briefings."""
    if member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        return False  # removed from a group or channel, or blocked by the user in a private chat
    if isinstance(member, ChatMemberRestricted):
        return member.is_member and member.can_send_messages
    if chat_type == ChatType.CHANNEL:
        return isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages)
    return True


async def on_my_chat_member(update: Update, context: BriefContext) -> None:
    """Telegram says the bot was blocked, removed, unblocked or added back: the chat's briefings (a user's, a
    group's or a channel's) pause or resume by the same rule as a Forbidden send (`pause_chat`, `resume_chat`)."""
    change = update.my_chat_member
    if change is None:
        raise NotAMessageError(f"update {update.update_id} carries no my_chat_member change")
    if may_post(change.new_chat_member, change.chat.type):
        resume_chat(context.application, change.chat.id)
    else:
        pause_chat(context.application, change.chat.id)
