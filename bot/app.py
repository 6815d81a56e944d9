"""The python-telegram-bot Application: handlers, persistence, flood control, command menus, polling or webhook."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from retrieval.errors import BriefError
from retrieval.settings import Settings

from . import handlers, subscription_handlers
from .context import CONTEXT_TYPES, BotApplication, BotData, utc_now
from .delivery import start_schedules
from .health import IndexHealth
from .journal import JournaledProcessor, JournaledQueue, UpdateJournal
from .retrying import RetryingRateLimiter
from .service import ChatService
from .storage import BotStores

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.001  # seconds; see `run`

COMMANDS = {
    "en": [
        ("ask", "Ask a question about the conflict"),
        ("sources", "What is in the article store"),
        ("briefing", "A briefing of the latest news now"),
        ("subscribe", "Daily briefing: [HH:MM] [timezone] [ar|en]"),
        ("subscription", "Your briefing subscription"),
        ("unsubscribe", "Stop the daily briefing"),
        ("summary", "Summary of the last 24h or 7d"),
        ("channel", "Briefings in a channel: @name HH:MM [timezone] [ar|en]"),
        ("channels", "Your channel briefings"),
        ("lang", "Answer language: ar or en"),
        ("help", "How to use the bot"),
        ("about", "How the bot works"),
    ],
    "ar": [
        ("ask", "اطرح سؤالًا عن النزاع"),
        ("sources", "ما في مخزن المقالات"),
        ("briefing", "موجز بآخر الأخبار الآن"),
        ("subscribe", "موجز يومي: [HH:MM] [المنطقة الزمنية] [ar|en]"),
        ("subscription", "اشتراكك في الموجز"),
        ("unsubscribe", "إيقاف الموجز اليومي"),
        ("summary", "ملخص آخر 24 ساعة أو 7 أيام"),
        ("channel", "موجزات في قناة: @name HH:MM [المنطقة الزمنية] [ar|en]"),
        ("channels", "موجزات قنواتك"),
        ("lang", "لغة الإجابة: ar أو en"),
        ("help", "كيفية استخدام البوت"),
        ("about", "كيف يعمل البوت"),
    ],
}
GROUP_COMMANDS = ("ask", "sources", "help", "summary", "briefing", "subscribe", "unsubscribe", "subscription")


async def set_commands(application: BotApplication) -> None:
    """Command menus in English (default) and Arabic, for private chats and for groups."""
    bot = application.bot
    for lang, commands in COMMANDS.items():
        language_code = "ar" if lang == "ar" else None
        menu = [BotCommand(name, text) for name, text in commands]
        await bot.set_my_commands(menu, language_code=language_code)
        group_menu = [c for c in menu if c.command in GROUP_COMMANDS]
        await bot.set_my_commands(group_menu, scope=BotCommandScopeAllGroupChats(), language_code=language_code)


async def post_init(application: BotApplication) -> None:
    await set_commands(application)
    await start_schedules(application)
    queue = application.update_queue
    if isinstance(queue, JournaledQueue):
        await queue.resume(application.bot)  # what a crash left unanswered, before new updates


async def shutdown_executor(application: BotApplication) -> None:
    application.bot_data.executor.shutdown(wait=False, cancel_futures=True)
    application.bot_data.ingest_executor.shutdown(wait=False, cancel_futures=True)


def token_of(settings: Settings) -> str:
    if settings.telegram_token is None:
        raise ValueError("TELEGRAM_TOKEN is not set: get a token from @BotFather, or use `brief chat` to try the bot")
    return settings.telegram_token.get_secret_value()


def build_application(
    settings: Settings, service: ChatService, clock: Callable[[], datetime] = utc_now
) -> BotApplication:
    """The bot, wired: its stores on the bot database, its handlers, and `clock` as the one "now" of its briefings,
    summaries, subscriptions and deliveries (the real UTC time unless a test sets another)."""
    token = token_of(settings)
    only_new = filters.UpdateType.MESSAGE  # an edited message is not a new question
    # One database (migrated at open) for subscriptions, feedback, remembered answers, /lang and the journal.
    stores = BotStores.open(settings.bot_database_url, settings.data_dir)
    bot_id = int(token.split(":")[0]) if token.split(":")[0].isdigit() else 0  # a token is "<bot id>:<secret>"
    journal = UpdateJournal(stores.engine, bot_id)  # the bot's database also journals incoming updates
    application = (
        ApplicationBuilder()
        .context_types(CONTEXT_TYPES)
        .token(token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .persistence(stores.persistence)
        .rate_limiter(RetryingRateLimiter(max_retries=3))
        .update_queue(JournaledQueue(journal))
        .concurrent_updates(JournaledProcessor(journal))
        .post_init(post_init)
        .post_shutdown(shutdown_executor)
        .build()
    )
    wire(application.bot_data, settings, service, stores, clock)
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    for name, callback in (
        ("start", handlers.on_start),
        ("help", handlers.on_help),
        ("about", handlers.on_about),
        ("lang", handlers.on_lang),
        ("sources", handlers.on_sources),
        ("ask", handlers.on_ask),
        ("ingest", handlers.on_ingest),
        ("subscribe", subscription_handlers.on_subscribe),
        ("unsubscribe", subscription_handlers.on_unsubscribe),
        ("subscription", subscription_handlers.on_subscription),
        ("briefing", subscription_handlers.on_briefing),
        ("summary", subscription_handlers.on_summary),
        ("channel", subscription_handlers.on_channel),
        ("channels", subscription_handlers.on_channels),
    ):
        application.add_handler(CommandHandler(name, callback, filters=only_new))
    application.add_handler(MessageHandler(private & filters.COMMAND & only_new, handlers.on_unknown_command))
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND & only_new, handlers.on_private_text)
    )
    application.add_handler(MessageHandler(groups & filters.TEXT & ~filters.COMMAND & only_new, handlers.on_group_text))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, handlers.on_migrate))
    application.add_handler(
        MessageHandler(private & ~filters.TEXT & ~filters.StatusUpdate.ALL & only_new, handlers.on_not_text)
    )
    application.add_handler(CallbackQueryHandler(handlers.on_callback))
    application.add_handler(
        ChatMemberHandler(subscription_handlers.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_error_handler(handlers.on_error)
    return application


def wire(
    data: BotData, settings: Settings, service: ChatService, stores: BotStores, clock: Callable[[], datetime]
) -> None:
    """Fill in the BotData the Application made (with no arguments, as PTB makes it)."""
    data.service = service
    data.executor = ThreadPoolExecutor(max(1, settings.answer_workers), thread_name_prefix="answer")
    data.ingest_executor = ThreadPoolExecutor(1, thread_name_prefix="ingest")
    data.feedback = stores.feedback
    data.subscriptions = stores.subscriptions
    data.answers = stores.answers
    data.health = IndexHealth(service.index)
    data.clock = clock


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Where the webhook listens and what Telegram is told (the secret comes back in a header on every update)."""
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": "telegram",
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
        "allowed_updates": Update.ALL_TYPES,
    }


class BotApiUnreachableError(BriefError, RuntimeError):
    """The Bot API could not be reached, or refused the token, when the bot started."""


async def check_bot_api(settings: Settings) -> None:
    """One getMe before starting, so an unreachable Bot API or a refused token is one clear error (the address
    is named, the token is not), not PTB's bootstrap traceback."""
    bot = Bot(
        token_of(settings),
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_base_file_url,
    )
    where = settings.telegram_base_url
    # PTB logs a response it cannot parse (a web server's HTML page) in full before raising: the error below says it.
    unparsed = logging.getLogger("telegram.request.BaseRequest")
    quiet, unparsed.disabled = unparsed.disabled, True
    try:
        async with bot:  # initialize() calls getMe
            pass
    except InvalidToken as error:
        raise BotApiUnreachableError(f"the Telegram Bot API at {where} refused the token (TELEGRAM_TOKEN)") from error
    except NetworkError as error:
        reason = _one_line(error).removeprefix("httpx.")
        raise BotApiUnreachableError(f"could not reach the Telegram Bot API at {where}: {reason}") from error
    except TelegramError as error:
        raise BotApiUnreachableError(
            f"the Telegram Bot API at {where} answered getMe with: {_one_line(error)}"
        ) from error
    finally:
        unparsed.disabled = quiet


def _one_line(error: TelegramError) -> str:
    """PTB's message without the server's response it quotes when that is no Bot API answer (an HTML page)."""
    return str(error).split(". Parsing the server response")[0].splitlines()[0][:200]


def run(settings: Settings, service: ChatService) -> None:
    """Polling, or a webhook when WEBHOOK_URL is set; blocks until stopped."""
    # Answers run in worker threads beside the feed poll's ingest. A thread back from SQLite, ONNX Runtime or Chroma
    # waits for the interpreter lock until a busy thread yields it: up to 5 ms each time by default, dozens of times
    # an answer. 1 ms: answer p95 during a feed ingest 128–135 ms against 135–174 (bench/bot_load.py --under-ingest).
    sys.setswitchinterval(SWITCH_INTERVAL)
    application = build_application(settings, service)
    if settings.webhook_url:
        application.run_webhook(**webhook_options(settings))
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
