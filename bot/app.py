"""The python-telegram-bot Application: handlers, persistence, flood control, command menus, polling or webhook."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from retrieval.errors import BriefError
from retrieval.settings import Settings

from . import handlers, subscription_handlers
from .delivery import start_schedules
from .health import IndexHealth
from .journal import JournaledProcessor, JournaledQueue, UpdateJournal
from .retrying import RetryingRateLimiter
from .service import ChatService
from .storage import BotStores

log = logging.getLogger(__name__)

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


async def set_commands(application: Application) -> None:
    """Command menus in English (default) and Arabic, for private chats and for groups."""
    bot = application.bot
    for lang, commands in COMMANDS.items():
        language_code = "ar" if lang == "ar" else None
        menu = [BotCommand(name, text) for name, text in commands]
        await bot.set_my_commands(menu, language_code=language_code)
        group_menu = [c for c in menu if c.command in GROUP_COMMANDS]
        await bot.set_my_commands(group_menu, scope=BotCommandScopeAllGroupChats(), language_code=language_code)


async def post_init(application: Application) -> None:
    await set_commands(application)
    await start_schedules(application)
    await application.update_queue.resume(application.bot)  # what a crash left unanswered, before new updates


async def shutdown_executor(application: Application) -> None:
    application.bot_data["executor"].shutdown(wait=False, cancel_futures=True)


def build_application(settings: Settings, service: ChatService) -> Application:
    if settings.telegram_token is None:
        raise ValueError("TELEGRAM_TOKEN is not set: get a token from @BotFather, or use `brief chat` to try the bot")
    only_new = filters.UpdateType.MESSAGE  # an edited message is not a new question
    # One database (migrated at open) for subscriptions, feedback, remembered answers, /lang and the journal.
    stores = BotStores.open(settings.subscriptions_url, settings.data_dir)
    token = settings.telegram_token.get_secret_value()
    bot_id = int(token.split(":")[0]) if token.split(":")[0].isdigit() else 0  # a token is "<bot id>:<secret>"
    journal = UpdateJournal(stores.engine, bot_id)  # the bot's database also journals incoming updates
    application = (
        ApplicationBuilder()
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
    application.bot_data.update(
        service=service,
        executor=ThreadPoolExecutor(max(1, settings.answer_workers), thread_name_prefix="answer"),
        feedback=stores.feedback,
        subscriptions=stores.subscriptions,
        answers=stores.answers,
        health=IndexHealth(service.index),
    )
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
    application.add_error_handler(handlers.on_error)
    return application


def webhook_options(settings: Settings) -> dict:
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
        settings.telegram_token.get_secret_value(),
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_base_file_url,
    )
    where = settings.telegram_base_url
    try:
        async with bot:  # initialize() calls getMe
            pass
    except InvalidToken as error:
        raise BotApiUnreachableError(f"the Telegram Bot API at {where} refused the token (TELEGRAM_TOKEN)") from error
    except NetworkError as error:
        reason = str(error).removeprefix("httpx.")
        raise BotApiUnreachableError(f"could not reach the Telegram Bot API at {where}: {reason}") from error
    except TelegramError as error:
        raise BotApiUnreachableError(f"the Telegram Bot API at {where} answered getMe with: {error}") from error


def run(settings: Settings, service: ChatService) -> None:
    """Polling, or a webhook when WEBHOOK_URL is set; blocks until stopped."""
    application = build_application(settings, service)
    if settings.webhook_url:
        application.run_webhook(**webhook_options(settings))
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
