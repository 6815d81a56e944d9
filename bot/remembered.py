"""The answers the bot sent, remembered for the buttons under them and for follow-up replies.

Kept in the bot's database as JSON (`Answer.to_json`), never pickled: renaming a class cannot break them. Bounded
both ways: at most MAX_PER_CHAT per chat and none older than KEEP, so the table does not grow with time."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, BigInteger, DateTime, delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from retrieval.answers import Answer

from .db import Base, migrate

log = logging.getLogger(__name__)

MAX_PER_CHAT = 500
KEEP = timedelta(days=30)  # a button under an older answer says the answer has expired
PRUNE_EVERY = 200  # writes between two deletions of the expired answers (also done at each start)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class RememberedAnswer(Base):
    __tablename__ = "remembered_answers"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    answer: Mapped[dict] = mapped_column(JSON)  # Answer.to_json()
    at: Mapped[datetime] = mapped_column(DateTime, default=_now, index=True)  # UTC, naive


class AnswerMemory:
    def __init__(self, engine: Engine, per_chat: int = MAX_PER_CHAT, keep: timedelta = KEEP):
        self.engine, self.per_chat, self.keep = engine, per_chat, keep
        self._writes = 0
        migrate(engine)
        self.prune()

    def remember(self, chat_id: int, message_ids: list[int], answer: Answer) -> None:
        """The answer under each of the messages that carry it (a long answer is split over several)."""
        record, now = answer.to_json(), _now()
        with Session(self.engine) as session, session.begin():
            for message_id in message_ids:
                session.merge(RememberedAnswer(chat_id=chat_id, message_id=message_id, answer=record, at=now))
            session.flush()
            newest = (
                select(RememberedAnswer.message_id)
                .where(RememberedAnswer.chat_id == chat_id)
                .order_by(RememberedAnswer.at.desc(), RememberedAnswer.message_id.desc())
                .limit(self.per_chat)
            )
            session.execute(
                delete(RememberedAnswer).where(
                    RememberedAnswer.chat_id == chat_id, RememberedAnswer.message_id.not_in(newest.scalar_subquery())
                )
            )
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            self.prune()

    def get(self, chat_id: int, message_id: int) -> Answer | None:
        """The answer sent as that message; None when unknown, expired, or unreadable."""
        with Session(self.engine) as session:
            row = session.get(RememberedAnswer, (chat_id, message_id))
            if row is None or row.at < _now() - self.keep:
                return None
            record = row.answer
        try:
            return Answer.from_json(record)
        except (TypeError, ValueError) as error:
            log.warning("remembered answer %s/%s is unreadable (%s); treated as expired", chat_id, message_id, error)
            return None

    def move_chat(self, old: int, new: int) -> None:
        """A group became a supergroup: its answers follow it."""
        moved = select(RememberedAnswer.message_id).where(RememberedAnswer.chat_id == old).scalar_subquery()
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(RememberedAnswer).where(RememberedAnswer.chat_id == new, RememberedAnswer.message_id.in_(moved))
            )
            session.execute(update(RememberedAnswer).where(RememberedAnswer.chat_id == old).values(chat_id=new))

    def prune(self) -> int:
        with Session(self.engine) as session, session.begin():
            expired = delete(RememberedAnswer).where(RememberedAnswer.at < _now() - self.keep)
            return len(session.scalars(expired.returning(RememberedAnswer.message_id)).all())

    def count(self, chat_id: int | None = None) -> int:
        with Session(self.engine) as session:
            query = select(RememberedAnswer.message_id)
            if chat_id is not None:
                query = query.where(RememberedAnswer.chat_id == chat_id)
            return len(session.scalars(query).all())
