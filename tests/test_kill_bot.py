"""`brief run` killed with SIGKILL while questions wait inside it: after a restart each is answered, once.

Telegram forgets an update as soon as the next getUpdates confirms it, which happens while earlier questions are
still being answered; only the bot's own journal of accepted updates can bring them back."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bot.journal import JournaledUpdate
from fakes.telegram import FakeTelegram

from .bot_harness import TOKEN, Bot
from .helpers import BRIEF, SEED_FILE, ingested

QUESTIONS = [
    "What did Peskov say about Russian mediation?",
    "ماذا قال بيسكوف عن الوساطة الروسية؟",
    "What did Russia say about the ceasefire agreements?",
]
USERS, PER_USER = 3, 1  # three questions: one answered before the kill, two left inside the bot


async def until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def done_in_journal(database: str, update_id: int) -> bool:
    """The bot's update journal (in its database) marks the update done: its answer was sent."""
    engine = create_engine(database)
    try:
        with Session(engine) as session:
            row = session.get(JournaledUpdate, (int(TOKEN.split(":")[0]), update_id))  # ids are per bot
            return row is not None and row.done_at is not None
    finally:
        engine.dispose()


def answers_to(fake: FakeTelegram, message_id: int) -> list[str]:
    return [
        c.params["text"]
        for c in fake.sent("sendMessage")
        if (c.params.get("reply_parameters") or {}).get("message_id") == message_id
    ]


async def test_sigkill_with_questions_queued_then_each_is_answered_once_after_restart(tmp_path, embedder, caplog):
    caplog.set_level(logging.INFO)
    data = tmp_path / "data"
    fake = FakeTelegram()
    base = await fake.start()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHROMA_", "EMBEDDING_", "OPENAI_", "TELEGRAM_"))}
    env = {
        **clean,
        "BRIEF_DATA_DIR": str(data),
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": base,
        "TELEGRAM_BASE_FILE_URL": base.replace("/bot", "/file/bot"),
        "ANSWER_WORKERS": "1",  # one: retrieval/textnorm.py shares snowball stemmers, not thread-safe
        "TYPING_DELAY": "30",
    }
    asked_at = int(time.time()) - 600  # asked ten minutes ago, while the bot was busy or down
    asked = [
        fake.message(QUESTIONS[(u + i) % len(QUESTIONS)], chat_id=700 + u, user_id=700 + u, date=asked_at)
        for u in range(USERS)
        for i in range(PER_USER)
    ]
    ids = [a["message"]["message_id"] for a in asked]
    fake.hold_sends_after = 1  # one answer goes out, then the bot is stuck sending the next: kill it there
    database = f"sqlite:///{data / 'subscriptions.sqlite3'}"  # the bot database `brief run` uses by default
    with ingested(data, embedder, SEED_FILE) as index, (tmp_path / "bot.log").open("wb") as log:
        process = subprocess.Popen([BRIEF, "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            await until(lambda: fake.held >= 1, 30, "the second answer")
            (first,) = [a for a in asked if answers_to(fake, a["message"]["message_id"])]
            await until(lambda: done_in_journal(database, first["update_id"]), 10, "the sent answer marked done")
            assert fake.confirmed > asked[-1]["update_id"], "Telegram has forgotten every question: all confirmed"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert process.returncode == -signal.SIGKILL
        assert len([i for i in ids if answers_to(fake, i)]) == 1
        await asyncio.sleep(0.2)  # the fake sees the dead bot's connections close: its held sends are dropped
        fake.release()

        # The restart: the same Application `brief run` builds, on the same data, in this process (the model is
        # already loaded here, which saves a second start-up).
        restarted = Bot(index, fake, base, database_url=database, answer_workers=1)
        await restarted.start()
        try:
            await until(lambda: all(answers_to(fake, i) for i in ids), 30, "every question answered after the restart")
            for update in asked:  # each finished, so a second answer would be here by now
                await restarted.settled(update)
        finally:
            await restarted.stop()
            await fake.stop()
    assert "answering 2 updates left unfinished by the last run" in caplog.text
    for update in asked:
        (text,) = answers_to(fake, update["message"]["message_id"])  # exactly once
        arabic = update["message"]["text"].startswith("ماذا")
        assert text.startswith("<i>عذرًا على تأخر الإجابة" if arabic else "<i>Sorry for the late answer"), text
        assert "[1]" in text, "a cited answer"
    assert TOKEN.split(":")[1] not in (tmp_path / "bot.log").read_text("utf-8", "replace")


def test_an_update_that_keeps_crashing_the_bot_is_given_up_after_three_starts(tmp_path, caplog):
    from sqlalchemy import create_engine
    from telegram import Update

    from bot.journal import MAX_ATTEMPTS, UpdateJournal

    journal = UpdateJournal(create_engine(f"sqlite:///{tmp_path / 'bot.sqlite3'}"), bot_id=1)
    message = {"message_id": 5, "date": 0, "chat": {"id": 9, "type": "private"}, "text": "poison"}
    assert journal.record(Update.de_json({"update_id": 77, "message": message}, None))
    assert not journal.record(Update.de_json({"update_id": 77, "message": message}, None)), "recorded once"
    other_bot = UpdateJournal(journal.engine, bot_id=2)
    assert other_bot.unfinished() == [], "update ids are per bot"
    for _ in range(MAX_ATTEMPTS):  # each start answers it again (and, here, crashes before it is done)
        assert [u["update_id"] for u in journal.unfinished()] == [77]
    assert journal.unfinished() == []
    assert "update 77 failed 3 times; giving it up" in caplog.text
