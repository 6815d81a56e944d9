"""Telegram handlers: one per function, each adapting an update to the ChatService and sending its reply."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, timedelta
from functools import partial

from telegram import CallbackQuery, Chat, Message, Update
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from retrieval.answering import reply_language
from retrieval.answers import Answer
from retrieval.ingest import ingest
from retrieval.phrases import phrase

from .context import BriefContext
from .feedback import Vote
from .formatting import esc
from .health import IndexUnreadableError
from .sending import send_reply, thread_of
from .service import Action, ChatService, Reply

log = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=2)  # a question older than this (queued while the bot was down) is answered with a note


# -- helpers ------------------------------------------------------------------------------------------------------
class NotAMessageError(TypeError):
    """A handler registered for messages was given an update without one (a wiring mistake, not user input)."""


def message_of(update: Update) -> Message:
    """The message of an update that a message or command handler was registered for."""
    message = update.effective_message
    if message is None:
        raise NotAMessageError(f"update {update.update_id} carries no message")
    return message


def chat_of(update: Update) -> Chat:
    """The chat of an update that a message or command handler was registered for."""
    chat = update.effective_chat
    if chat is None:
        raise NotAMessageError(f"update {update.update_id} carries no chat")
    return chat


def service_of(context: BriefContext) -> ChatService:
    return context.bot_data.service


def chosen_lang(context: BriefContext) -> str | None:
    """The language the user picked with /lang, if any."""
    return context.user_data.get("lang") if context.user_data is not None else None


def user_lang(update: Update, context: BriefContext, text: str = "") -> str:
    """The language to reply in to this user (see `reply_language`), given what they just wrote."""
    user = update.effective_user
    return reply_language(text, chosen_lang(context), user.language_code if user else None)


def late_note(context: BriefContext, message: Message, lang: str) -> str:
    """A line saying the answer is late, for a question asked long before it is answered; else ''."""
    asked = message.date if message.date.tzinfo else message.date.replace(tzinfo=UTC)
    if context.bot_data.now() - asked < LATE_AFTER:
        return ""
    return f"<i>{esc(phrase('late_answer', lang, time=asked.strftime('%Y-%m-%d %H:%M')))}</i>\n\n"


async def remember(context: BriefContext, messages: list[Message], answer: Answer) -> None:
    """Kept (as JSON, in the bot's database) for the buttons under these messages and replies to them."""
    if messages:
        ids = [m.message_id for m in messages]
        await asyncio.to_thread(context.bot_data.answers.remember, messages[0].chat_id, ids, answer)


async def previous_answer(context: BriefContext, message: Message) -> Answer | None:
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        return None
    return await asyncio.to_thread(context.bot_data.answers.get, message.chat_id, replied.message_id)


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
async def answer_question(update: Update, context: BriefContext, question: str) -> None:
    message, chat, user = message_of(update), chat_of(update), update.effective_user
    service = service_of(context)
    preferred = chosen_lang(context)
    ui = user_lang(update, context, question)
    thread_id = thread_of(message)
    # A question that waited (queued while the bot was busy or down) was accepted then: no per-user rate limit now.
    waited = bool(late_note(context, message, ui))
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
    health = context.bot_data.health
    work = partial(service.answer, question, preferred, await previous_answer(context, message), on_partial)

    def checked_work() -> Reply:
        health.check()  # in the worker, right before the index is read
        try:
            return work()
        except Exception:
            health.check()  # an error because the index broke mid-answer: the same polite state
            raise

    try:
        reply = await loop.run_in_executor(context.bot_data.executor, checked_work)
    except IndexUnreadableError:
        reply = service.text("index_unavailable", ui)
    finally:
        if typing is not None:
            typing.cancel()
    note = late_note(context, message, reply.answer.lang if reply.answer else ui)
    if note:
        reply = Reply(note + reply.html, reply.buttons, reply.answer)
    async with context.bot_data.sending_answer(chat.id):
        sent = await send_reply(context, chat.id, reply, thread_id, message.message_id, edit=placeholder)
        if reply.answer is not None:
            await remember(context, sent, reply.answer)


async def show_typing(context: BriefContext, chat_id: int, thread_id: int | None, delay: float) -> None:
    """ "typing…" only for answers that take a while: a chat action costs a request under flood control too."""
    await asyncio.sleep(delay)
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id)
    except TelegramError as error:
        log.info("typing action failed: %s", error)


async def on_private_text(update: Update, context: BriefContext) -> None:
    await answer_question(update, context, message_of(update).text or "")


async def on_ask(update: Update, context: BriefContext) -> None:
    text = message_of(update).text or ""
    question = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    await answer_question(update, context, question)


async def on_group_text(update: Update, context: BriefContext) -> None:
    """In groups: only messages that mention the bot or reply to one of its messages are questions."""
    message = message_of(update)
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


async def on_not_text(update: Update, context: BriefContext) -> None:
    message = message_of(update)
    reply = service_of(context).text("not_text", user_lang(update, context))
    await send_reply(context, message.chat_id, reply, thread_of(message), message.message_id)


async def on_unknown_command(update: Update, context: BriefContext) -> None:
    """A command no handler knows, in a private chat: point to /help (in groups it may be another bot's)."""
    message = message_of(update)
    command = (message.text or "").split()[0].split("@")[0][:64]
    reply = service_of(context).text("unknown_command", user_lang(update, context), command=command)
    await send_reply(context, message.chat_id, reply, thread_of(message), message.message_id)


# -- commands -----------------------------------------------------------------------------------------------------
async def _fixed(update: Update, context: BriefContext, key: str) -> None:
    message = message_of(update)
    reply = service_of(context).text(key, user_lang(update, context))
    await send_reply(context, message.chat_id, reply, thread_of(message))


async def on_start(update: Update, context: BriefContext) -> None:
    await _fixed(update, context, "welcome")


async def on_help(update: Update, context: BriefContext) -> None:
    await _fixed(update, context, "help")


async def on_about(update: Update, context: BriefContext) -> None:
    await _fixed(update, context, "about")


async def on_lang(update: Update, context: BriefContext) -> None:
    message = message_of(update)
    choice, reply = service_of(context).set_lang(" ".join(context.args or []), user_lang(update, context))
    if choice is not None and context.user_data is not None:
        context.user_data["lang"] = choice
    await send_reply(context, message.chat_id, reply, thread_of(message))


async def on_sources(update: Update, context: BriefContext) -> None:
    message = message_of(update)
    service, health, lang = service_of(context), context.bot_data.health, user_lang(update, context)

    def checked_overview() -> Reply:
        health.check()
        return service.overview(lang)

    try:
        reply = await asyncio.get_running_loop().run_in_executor(context.bot_data.executor, checked_overview)
    except IndexUnreadableError:
        reply = service.text("index_unavailable", lang)
    await send_reply(context, message.chat_id, reply, thread_of(message))


async def on_ingest(update: Update, context: BriefContext) -> None:
    message, user = message_of(update), update.effective_user
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
        context.bot_data.ingest_executor, partial(ingest, service.index, list(context.args))
    )
    lines = [report.summary(), *(f"failed: {f.origin}: {f.reason}" for f in report.failures[:20])]
    await send_reply(context, message.chat_id, Reply(esc("\n".join(lines))), edit=progress)


async def on_callback(update: Update, context: BriefContext) -> None:
    """The buttons under an answer: "Sources" shows the quoted sentences; 👍/👎 record feedback."""
    query = update.callback_query
    if query is None:
        raise NotAMessageError(f"update {update.update_id} carries no callback query")
    message = query.message if isinstance(query.message, Message) else None  # None: too old to be accessible
    answer = None
    if message is not None:
        await context.bot_data.remembered(message.chat.id)  # pressed before its answer was remembered: wait for it
        answer = await asyncio.to_thread(context.bot_data.answers.get, message.chat.id, message.message_id)
    lang = answer.lang if answer else user_lang(update, context)
    if answer is None or message is None:
        await query.answer(phrase("answer_expired", lang), show_alert=True)
        return
    await on_button(update, context, query, message, answer)


async def on_button(
    update: Update, context: BriefContext, query: CallbackQuery, message: Message, answer: Answer
) -> None:
    action = Action.of(query.data)
    if action is Action.SOURCES:
        await query.answer()
        reply = service_of(context).quotes(answer)
        await send_reply(context, message.chat.id, reply, thread_of(message), message.message_id)
    elif action is Action.UPVOTE or action is Action.DOWNVOTE:
        vote: Vote = 1 if action is Action.UPVOTE else -1
        user_id = update.effective_user.id if update.effective_user else None
        await asyncio.to_thread(context.bot_data.feedback.record, user_id, message.chat.id, vote, answer)
        await query.answer(phrase("thanks_feedback", answer.lang))
    else:
        await query.answer()


async def on_migrate(update: Update, context: BriefContext) -> None:
    """A group became a supergroup: its remembered answers (for buttons and follow-ups) move to the new chat id."""
    message = message_of(update)
    context.application.migrate_chat_data(message=message)
    if message.migrate_to_chat_id:
        old, new = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat_id
    else:
        return
    await asyncio.to_thread(context.bot_data.answers.move_chat, old, new)


async def on_error(update: object, context: BriefContext) -> None:
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
