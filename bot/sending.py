"""Sending to Telegram, for handlers and scheduled deliveries alike: a reply split to Telegram's limit, buttons
under its last piece, plain text when the HTML is refused, and a group that became a supergroup followed to its
new id."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated

from .context import BriefContext
from .formatting import split_html, to_plain
from .service import Reply

log = logging.getLogger(__name__)


def thread_of(message: Message) -> int | None:
    """The forum topic a message is in, so the reply goes to the same topic."""
    return message.message_thread_id if message.is_topic_message else None


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in reply.buttons]
    )


async def send_reply(
    context: BriefContext,
    chat_id: int,
    reply: Reply,
    thread_id: int | None = None,
    reply_to: int | None = None,
    edit: Message | None = None,
    on_migrated: Callable[[int, int], None] | None = None,
) -> list[Message]:
    """Send a reply split to Telegram's limit, buttons under the last piece; plain text if the HTML is refused;
    a group that became a supergroup is followed to its new id (its remembered answers and `on_migrated` too)."""
    pieces = split_html(reply.html)
    sent: list[Message] = []
    for i, piece in enumerate(pieces):
        markup = keyboard(reply) if i == len(pieces) - 1 else None
        target = edit if (i == 0 and edit is not None) else None
        try:
            sent.append(await _send_piece(context, chat_id, piece, markup, thread_id, reply_to, target))
        except ChatMigrated as migrated:
            new_chat_id = migrated.new_chat_id
            context.application.migrate_chat_data(old_chat_id=chat_id, new_chat_id=new_chat_id)
            await asyncio.to_thread(context.bot_data.answers.move_chat, chat_id, new_chat_id)
            if on_migrated is not None:
                on_migrated(chat_id, new_chat_id)
            chat_id = new_chat_id
            sent.append(await _send_piece(context, chat_id, piece, markup, thread_id, None, None))
    return sent


async def _send_piece(
    context: BriefContext,
    chat_id: int,
    piece: str,
    markup: InlineKeyboardMarkup | None,
    thread_id: int | None,
    reply_to: int | None,
    target: Message | None,
) -> Message:
    """One piece as HTML, or as plain text when Telegram cannot parse the HTML (any other error is raised)."""
    try:
        return await _send_text(context, chat_id, piece, ParseMode.HTML, markup, thread_id, reply_to, target)
    except BadRequest as error:
        if "parse entities" not in str(error).lower():
            raise
        log.warning("Telegram refused the HTML (%s); sending plain text", error)
    return await _send_text(context, chat_id, to_plain(piece), None, markup, thread_id, reply_to, target)


async def _send_text(
    context: BriefContext,
    chat_id: int,
    text: str,
    parse_mode: str | None,
    markup: InlineKeyboardMarkup | None,
    thread_id: int | None,
    reply_to: int | None,
    target: Message | None,
) -> Message:
    if target is not None:
        result = await target.edit_text(text, parse_mode=parse_mode, reply_markup=markup, disable_web_page_preview=True)
        return result if isinstance(result, Message) else target
    return await context.bot.send_message(
        chat_id,
        text,
        parse_mode=parse_mode,
        reply_markup=markup,
        message_thread_id=thread_id,
        reply_to_message_id=reply_to,
        allow_sending_without_reply=True,
        disable_web_page_preview=True,
    )
