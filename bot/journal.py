"""A durable journal of incoming updates, so a question the bot has accepted survives a crash.

Telegram forgets an update once the next getUpdates confirms it (or once a webhook call returns), but the bot may
still hold it in memory, queued behind slower answers. Each update is written here before it enters the
Application's queue (so before it is confirmed), marked done when its handler has finished (its reply sent), and
what is left is handled at the next start. The update id is the key: an update seen twice is handled once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, DateTime, Integer, Text, delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from telegram import Bot, Update
from telegram.ext import SimpleUpdateProcessor

from .db import Base, migrate

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # an update whose handling crashed the bot this often is given up, not retried forever
KEEP_DONE = timedelta(days=2)  # Telegram keeps unconfirmed updates 24 h: a done id must be remembered longer
PRUNE_EVERY = 1000  # done updates between two deletions of the expired ones (also done at each start)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class JournaledUpdate(Base):
    __tablename__ = "update_journal"
    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # ids are per bot
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[str] = mapped_column(Text)  # the update as Telegram sent it (JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # starts after a crash left it unfinished
    done_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class UpdateJournal:
    """The `update_journal` table in the bot's database (bot.db), for the bot `bot_id`
    (update ids are counted per bot: another token on the same database has its own)."""

    def __init__(self, engine: Engine, bot_id: int):
        self.engine, self.bot_id = engine, bot_id
        self._marked = 0
        migrate(engine)

    def record(self, item: Update) -> bool:
        """Store an incoming update; False when it was already recorded (delivered twice: handle it once)."""
        try:
            with Session(self.engine) as session, session.begin():
                session.add(
                    JournaledUpdate(bot_id=self.bot_id, update_id=item.update_id, payload=json.dumps(item.to_dict()))
                )
            return True
        except IntegrityError:
            return False

    def done(self, update_id: int) -> None:
        """Handled: only the id is kept (to recognise the update if Telegram sends it again), for KEEP_DONE."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(JournaledUpdate)
                .where(JournaledUpdate.bot_id == self.bot_id, JournaledUpdate.update_id == update_id)
                .values(done_at=_now(), payload="")
            )
            self._marked += 1
            if self._marked % PRUNE_EVERY == 0:
                session.execute(delete(JournaledUpdate).where(JournaledUpdate.done_at < _now() - KEEP_DONE))

    def unfinished(self) -> list[dict]:
        """Updates accepted but not finished by an earlier run, oldest first; each call counts an attempt, and one
        that failed MAX_ATTEMPTS times is logged and dropped (marked done) instead."""
        payloads = []
        with Session(self.engine) as session, session.begin():
            session.execute(delete(JournaledUpdate).where(JournaledUpdate.done_at < _now() - KEEP_DONE))
            rows = session.scalars(
                select(JournaledUpdate)
                .where(JournaledUpdate.bot_id == self.bot_id, JournaledUpdate.done_at.is_(None))
                .order_by(JournaledUpdate.update_id)
            )
            for row in rows:
                if row.attempts >= MAX_ATTEMPTS:
                    log.error("update %s failed %s times; giving it up", row.update_id, row.attempts)
                    row.done_at = _now()
                    continue
                row.attempts += 1
                payloads.append(json.loads(row.payload))
        return payloads


class JournaledQueue(asyncio.Queue):
    """The Application's update queue: an update is journaled before it is queued, so before the next getUpdates
    (or the webhook's answer) confirms it to Telegram; one already journaled is not queued again."""

    def __init__(self, journal: UpdateJournal):
        super().__init__()
        self.journal = journal

    async def put(self, item: object) -> None:
        # A commit waits for the disk (≈ 10 ms here): in a thread, so answers already being sent are not held up.
        if isinstance(item, Update) and not await asyncio.to_thread(self.journal.record, item):
            log.info("update %s was already received; not handled twice", item.update_id)
            return
        await super().put(item)

    async def resume(self, bot: Bot) -> int:
        """Queue the updates an earlier run accepted but did not finish; returns how many."""
        payloads = self.journal.unfinished()
        for payload in payloads:
            await super().put(Update.de_json(payload, bot))
        if payloads:
            log.warning("answering %s updates left unfinished by the last run", len(payloads))
        return len(payloads)


class JournaledProcessor(SimpleUpdateProcessor):
    """Handles updates concurrently, as before, and marks each done in the journal once its handlers finished
    (handler errors are caught by the Application and end in the error handler, so they finish too)."""

    def __init__(self, journal: UpdateJournal, max_concurrent_updates: int = 256):
        super().__init__(max_concurrent_updates)
        self.journal = journal

    async def do_process_update(self, item: object, coroutine) -> None:
        await coroutine
        if isinstance(item, Update):
            await asyncio.to_thread(self.journal.done, item.update_id)
