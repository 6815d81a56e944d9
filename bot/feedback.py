"""👍/👎 on answers, kept with the question and the articles it cited, for later review, in the bot's database."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from retrieval.answers import Answer

from .db import Base, migrate

log = logging.getLogger(__name__)

Vote = Literal[1, -1]  # 👍 / 👎


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Feedback(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=_now)  # UTC, naive
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    vote: Mapped[int] = mapped_column(Integer)  # 1 or -1
    question: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(20))
    answered: Mapped[bool] = mapped_column(Boolean)
    article_ids: Mapped[str] = mapped_column(Text)  # JSON list of the cited article ids


class FeedbackStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        migrate(engine)

    def record(self, user_id: int | None, chat_id: int, vote: Vote, answer: Answer) -> None:
        articles = json.dumps([c.article_id for c in answer.citations])
        with Session(self.engine) as session, session.begin():
            session.add(
                Feedback(
                    user_id=user_id,
                    chat_id=chat_id,
                    vote=vote,
                    question=answer.question,
                    mode=answer.mode,
                    answered=answer.answered,
                    article_ids=articles,
                )
            )

    def all(self) -> list[dict]:
        columns = [c.name for c in Feedback.__table__.columns]
        with Session(self.engine) as session:
            rows = session.scalars(select(Feedback).order_by(Feedback.id))
            return [{name: getattr(row, name) for name in columns} for row in rows]

    def import_file(self, path: Path) -> int:
        """Move the votes of an older release's `feedback.sqlite3` into this database, once: the file is renamed
        `*.imported` afterwards. Returns how many votes were moved."""
        if not path.exists():
            return 0
        with sqlite3.connect(path) as old:
            old.row_factory = sqlite3.Row
            rows = [dict(r) for r in old.execute("SELECT * FROM feedback ORDER BY rowid")]
        with Session(self.engine) as session, session.begin():
            for row in rows:
                at = datetime.fromisoformat(row["at"]) if row.get("at") else _now()
                session.add(
                    Feedback(
                        at=at,
                        user_id=row["user_id"],
                        chat_id=row["chat_id"],
                        vote=row["vote"],
                        question=row["question"],
                        mode=row["mode"],
                        answered=bool(row["answered"]),
                        article_ids=row["article_ids"],
                    )
                )
        path.rename(path.with_name(path.name + ".imported"))
        log.warning("moved %s votes from %s into the bot database", len(rows), path)
        return len(rows)
