"""Telegram handlers: one per function, each adapting an update to the ChatService and sending its reply."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from retrieval.answering import reply_language
from retrieval.answers import Answer
from retrieval.ingest import ingest
from retrieval.phrases import phrase

from .formatting import esc, split_html, to_plain
from .health import IndexHealth, IndexUnreadableError
from .remembered import AnswerMemory
from .service import ChatService, Reply

log = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=2)  # a question older than this (queued while the bot was down) is answered with a note


# -- helpers ------------------------------------------------------------------------------------------------------
def service_of(context: ContextTypes.DEFAULT_TYPE) -> ChatService:
    return context.bot_data["service"]


def chosen_lang(context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """The language the user picked with /lang, if any."""
    return context.user_data.get("lang") if context.user_data is not None else None


def user_lang(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str = "") -> str:
    """The language to reply in to this user (see `reply_language`), given what they just wrote."""
    user = update.effective_user
    return reply_language(text, chosen_lang(context), user.language_code if user else None)


def health_of(context: ContextTypes.DEFAULT_TYPE) -> IndexHealth:
    if "health" not in context.bot_data:
        context.bot_data["health"] = IndexHealth(service_of(context).index)
    return context.bot_data["health"]


def late_note(message: Message, lang: str) -> str:
    """A line saying the answer is late, for a question asked long before it is answered; else ''."""
    asked = message.date if message.date.tzinfo else message.date.replace(tzinfo=UTC)
    if datetime.now(UTC) - asked < LATE_AFTER:
        return ""
    return f"<i>{esc(phrase('late_answer', lang, time=asked.strftime('%Y-%m-%d %H:%M')))}</i>\n\n"


def thread_of(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in reply.buttons]
    )


async def send_reply(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    reply: Reply,
    thread_id: int | None = None,
    reply_to: int | None = None,
    edit: Message | None = None,
    on_migrated: Callable[[int, int], None] | None = None,
) -> list[Message]:
    """Send a reply split to Telegram's limit, buttons under the last piece; plain text if the HTML is refused;
    a group that became a supergroup is followed to its new id."""
    pieces = split_html(reply.html)
    sent: list[Message] = []
    for i, piece in enumerate(pieces):
        markup = keyboard(reply) if i == len(pieces) - 1 else None
        target = edit if (i == 0 and edit is not None) else None
        try:
            sent.append(await _send_piece(context, chat_id, piece, markup, thread_id, reply_to, target))
        except ChatMigrated as migrated:
            context.application.migrate_chat_data(old_chat_id=chat_id, new_chat_id=migrated.new_chat_id)
            if "answers" in context.bot_data:
                await asyncio.to_thread(answers_of(context).move_chat, chat_id, migrated.new_chat_id)
            if on_migrated is not None:
                on_migrated(chat_id, migrated.new_chat_id)
            chat_id = migrated.new_chat_id
            sent.append(await _send_piece(context, chat_id, piece, markup, thread_id, None, None))
    return sent


async def _send_piece(context, chat_id, piece, markup, thread_id, reply_to, target) -> Message:
    for parse_mode, text in ((ParseMode.HTML, piece), (None, to_plain(piece))):
        try:
            if target is not None:
                result = await target.edit_text(
                    text, parse_mode=parse_mode, reply_markup=markup, disable_web_page_preview=True
                )
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
        except BadRequest as error:
            if parse_mode is None or "parse entities" not in str(error).lower():
                raise
            log.warning("Telegram refused the HTML (%s); sending plain text", error)
    raise AssertionError("unreachable")


def answers_of(context: ContextTypes.DEFAULT_TYPE) -> AnswerMemory:
    return context.bot_data["answers"]


async def remember(context: ContextTypes.DEFAULT_TYPE, messages: list[Message], answer: Answer) -> None:
    """Kept (as JSON, in the bot's database) for the buttons under these messages and replies to them."""
    if messages:
        ids = [m.message_id for m in messages]
        await asyncio.to_thread(answers_of(context).remember, messages[0].chat_id, ids, answer)


async def previous_answer(context: ContextTypes.DEFAULT_TYPE, message: Message) -> Answer | None:
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        return None
    return await asyncio.to_thread(answers_of(context).get, message.chat_id, replied.message_id)


class StreamEditor:
    """Shows an LLM answer as it is written by editing one message, at most once per `interval` seconds.

    `push` is called from the worker thread that runs the model; edits run on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, message: Message, interval: float):
        self.loop, self.message, self.interval = loop, message, interval
        self.last = 0.0
        self.busy = False

    def push(self, text: str) -> None:
        now = time.monotonic()
        if self.busy or now - self.last < self.interval or not text.strip():
            return
        self.last, self.busy = now, True
        asyncio.run_coroutine_threadsafe(self._edit(text), self.loop)

    async def _edit(self, text: str) -> None:
        try:
            await self.message.edit_text(esc(text)[:4000] + " …", parse_mode=ParseMode.HTML)
        except RetryAfter:
            self.last = time.monotonic() + 5  # flood control: skip partial edits for a while
        except BadRequest as error:
            if "not modified" not in str(error).lower():
                log.warning("streamed edit failed: %s", error)
        except TelegramError as error:
            log.warning("streamed edit failed: %s", error)
        finally:
            self.busy = False


# -- questions ----------------------------------------------------------------------------------------------------
async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    service = service_of(context)
    preferred = chosen_lang(context)
    ui = user_lang(update, context, question)
    thread_id = thread_of(message)
    # A question that waited (queued while the bot was busy or down) was accepted then: no per-user rate limit now.
    waited = bool(late_note(message, ui))
    refusal = service.check(question, ui, user.id if user and not waited else None)
    if refusal is not None:
        await send_reply(context, chat.id, refusal, thread_id, message.message_id)
        return
    delay = service.settings.typing_delay
    if delay <= 0:  # always: show it before the work starts
        await show_typing(context, chat.id, thread_id, 0)
    typing = asyncio.create_task(show_typing(context, chat.id, thread_id, delay)) if delay > 0 else None
    loop = asyncio.get_running_loop()
    placeholder, on_partial = None, None
    if service.answerer.llm is not None:
        lang = reply_language(question, preferred)
        placeholder = (
            await send_reply(context, chat.id, service.text("thinking", lang), thread_id, message.message_id)
        )[0]
        interval = (
            service.settings.edit_interval if chat.type == ChatType.PRIVATE else (service.settings.group_edit_interval)
        )
        on_partial = StreamEditor(loop, placeholder, interval).push
    health = health_of(context)
    work = partial(service.answer, question, preferred, await previous_answer(context, message), on_partial)

    def checked_work() -> Reply:
        health.check()  # in the worker, right before the index is read
        try:
            return work()
        except Exception:
            health.check()  # an error because the index broke mid-answer: the same polite state
            raise

    try:
        reply = await loop.run_in_executor(context.bot_data["executor"], checked_work)
    except IndexUnreadableError:
        reply = service.text("index_unavailable", ui)
    finally:
        if typing is not None:
            typing.cancel()
    note = late_note(message, reply.answer.lang if reply.answer else ui)
    if note:
        reply = Reply(note + reply.html, reply.buttons, reply.answer)
    sent = await send_reply(context, chat.id, reply, thread_id, message.message_id, edit=placeholder)
    if reply.answer is not None:
        await remember(context, sent, reply.answer)


async def show_typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int, thread_id: int | None, delay: float) -> None:
    """ "typing…" only for answers that take a while: a chat action costs a request under flood control too."""
    await asyncio.sleep(delay)
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id)
    except TelegramError as error:
        log.info("typing action failed: %s", error)


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await answer_question(update, context, update.effective_message.text)


async def on_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = update.effective_message.text or ""
    question = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    await answer_question(update, context, question)


async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups: only messages that mention the bot or reply to one of its messages are questions."""
    message = update.effective_message
    text = message.text or ""
    replied = message.reply_to_message
    is_reply = replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id
    mention = f"@{context.bot.username}".lower()
    mentioned = False
    for entity, value in message.parse_entities([MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION]).items():
        if value.lower() == mention or (entity.user is not None and entity.user.id == context.bot.id):
            mentioned = True
            text = text.replace(value, " ")
    if mentioned or is_reply:
        await answer_question(update, context, " ".join(text.split()))


async def on_not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    reply = service_of(context).text("not_text", user_lang(update, context))
    await send_reply(context, message.chat_id, reply, thread_of(message), message.message_id)


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command no handler knows, in a private chat: point to /help (in groups it may be another bot's)."""
    message = update.effective_message
    command = (message.text or "").split()[0].split("@")[0][:64]
    reply = service_of(context).text("unknown_command", user_lang(update, context), command=command)
    await send_reply(context, message.chat_id, reply, thread_of(message), message.message_id)


# -- commands -----------------------------------------------------------------------------------------------------
async def _fixed(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str) -> None:
    message = update.effective_message
    reply = service_of(context).text(key, user_lang(update, context))
    await send_reply(context, message.chat_id, reply, thread_of(message))


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _fixed(update, context, "welcome")


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _fixed(update, context, "help")


async def on_about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _fixed(update, context, "about")


async def on_lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    choice, reply = service_of(context).set_lang(" ".join(context.args or []), user_lang(update, context))
    if choice is not None:
        context.user_data["lang"] = choice
    await send_reply(context, message.chat_id, reply, thread_of(message))


async def on_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    service, health, lang = service_of(context), health_of(context), user_lang(update, context)

    def checked_overview() -> Reply:
        health.check()
        return service.overview(lang)

    try:
        reply = await asyncio.get_running_loop().run_in_executor(context.bot_data["executor"], checked_overview)
    except IndexUnreadableError:
        reply = service.text("index_unavailable", lang)
    await send_reply(context, message.chat_id, reply, thread_of(message))


async def on_ingest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    service = service_of(context)
    lang = user_lang(update, context)
    if user is None or user.id not in service.settings.admin_user_ids:
        await send_reply(context, message.chat_id, service.text("not_allowed", lang), thread_of(message))
        return
    if not context.args:
        await send_reply(context, message.chat_id, service.text("ingest_usage", lang), thread_of(message))
        return
    started = service.text("ingest_started", lang, what=" ".join(context.args))
    progress = (await send_reply(context, message.chat_id, started, thread_of(message)))[0]
    report = await asyncio.get_running_loop().run_in_executor(
        context.bot_data["executor"], partial(ingest, service.index, list(context.args))
    )
    lines = [report.summary(), *(f"failed: {f.origin}: {f.reason}" for f in report.failures[:20])]
    await send_reply(context, message.chat_id, Reply(esc("\n".join(lines))), edit=progress)


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The buttons under an answer: "Sources" shows the quoted sentences; 👍/👎 record feedback."""
    query = update.callback_query
    message = query.message
    answer = await asyncio.to_thread(answers_of(context).get, message.chat.id, message.message_id) if message else None
    lang = answer.lang if answer else user_lang(update, context)
    if answer is None:
        await query.answer(phrase("answer_expired", lang), show_alert=True)
        return
    if query.data == "src":
        await query.answer()
        reply = service_of(context).quotes(answer)
        await send_reply(context, message.chat.id, reply, thread_of(message), message.message_id)
    elif query.data in ("fb:+", "fb:-"):
        vote = 1 if query.data == "fb:+" else -1
        user_id = update.effective_user.id if update.effective_user else None
        await asyncio.to_thread(context.bot_data["feedback"].record, user_id, message.chat.id, vote, answer)
        await query.answer(phrase("thanks_feedback", lang))
    else:
        await query.answer()


async def on_migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: its remembered answers (for buttons and follow-ups) move to the new chat id."""
    message = update.effective_message
    context.application.migrate_chat_data(message=message)
    if message.migrate_to_chat_id:
        old, new = message.chat_id, message.migrate_to_chat_id
    else:
        old, new = message.migrate_from_chat_id, message.chat_id
    await asyncio.to_thread(answers_of(context).move_chat, old, new)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every error ends here: the user gets a short apology, the log a traceback (secrets redacted)."""
    error = context.error
    if isinstance(error, Forbidden):
        chat = update.effective_chat if isinstance(update, Update) else None
        log.info("the bot cannot write to chat %s (blocked or removed): %s", chat.id if chat else "?", error)
        return
    log.error("error while handling an update", exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            reply = service_of(context).text("error_apology", user_lang(update, context))
            message = update.effective_message
            await context.bot.send_message(
                update.effective_chat.id,
                reply.html,
                parse_mode=ParseMode.HTML,
                reply_to_message_id=message.message_id if message else None,  # which question it is about
                allow_sending_without_reply=True,
                message_thread_id=thread_of(message) if message else None,
            )
        except TelegramError:
            pass
