"""Subscriptions and deliveries, in the bot's database (bot.db: SQLite under the data directory, or PostgreSQL
through DATABASE_URL; its schema is migrated by Alembic)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, open_database
from .schedule import Schedule


class SchemaVersion(Base):
    """Kept for the releases before Alembic, which read it: a version above theirs makes them refuse to start."""

    __tablename__ = "schema_version"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)


class Subscription(Base):
    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # user | group | channel
    title: Mapped[str | None] = mapped_column(String(255), nullable=True)  # a channel's @name
    hour: Mapped[int] = mapped_column(Integer)
    minute: Mapped[int] = mapped_column(Integer)
    tz: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: datetime.now(UTC).replace(tzinfo=None))

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.hour, self.minute, self.tz, self.lang)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("subscription_id", "slot"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    slot: Mapped[datetime] = mapped_column(DateTime)  # UTC, naive
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    article_ids: Mapped[str] = mapped_column(Text, default="[]")


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


class SubscriptionStore:
    def __init__(self, database: str | Engine):
        """`database`: an engine on the migrated bot database, or a URL to open (and migrate) one."""
        self.engine = open_database(database) if isinstance(database, str) else database

    def subscribe(
        self, chat_id: int, kind: str, schedule: Schedule, created_by: int | None, title: str | None = None
    ) -> Subscription:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            sub = session.scalar(select(Subscription).where(Subscription.chat_id == chat_id))
            if sub is None:
                sub = Subscription(chat_id=chat_id, kind=kind)
                session.add(sub)
            sub.hour, sub.minute, sub.tz, sub.lang = schedule.hour, schedule.minute, schedule.tz, schedule.lang
            sub.active, sub.created_by, sub.title = True, created_by, title
        return sub

    def get(self, chat_id: int) -> Subscription | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.scalar(select(Subscription).where(Subscription.chat_id == chat_id))

    def by_id(self, subscription_id: int) -> Subscription | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(Subscription, subscription_id)

    def active(self) -> list[Subscription]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.scalars(select(Subscription).where(Subscription.active.is_(True))))

    def channels_of(self, user_id: int) -> list[Subscription]:
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(Subscription).where(
                Subscription.kind == "channel", Subscription.created_by == user_id, Subscription.active.is_(True)
            )
            return list(session.scalars(query.order_by(Subscription.title)))

    def deactivate(self, chat_id: int) -> bool:
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(Subscription)
                .where(Subscription.chat_id == chat_id, Subscription.active.is_(True))
                .values(active=False)
            )
            return result.rowcount > 0

    def move_chat(self, old: int, new: int) -> None:
        """A group became a supergroup: its subscription and delivery history follow it."""
        with Session(self.engine) as session, session.begin():
            session.execute(delete(Subscription).where(Subscription.chat_id == new))
            session.execute(update(Subscription).where(Subscription.chat_id == old).values(chat_id=new))
            session.execute(update(Delivery).where(Delivery.chat_id == old).values(chat_id=new))

    # -- deliveries ---------------------------------------------------------------------------------------------
    def claim(self, subscription_id: int, chat_id: int, slot: datetime) -> bool:
        """Reserve a slot before sending: a slot is claimed once, so it is never sent twice."""
        try:
            with Session(self.engine) as session, session.begin():
                session.add(Delivery(subscription_id=subscription_id, chat_id=chat_id, slot=_naive(slot)))
            return True
        except IntegrityError:
            return False

    def release(self, subscription_id: int, slot: datetime) -> None:
        """Sending failed for a passing reason: free the slot so a retry may send it."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(Delivery).where(
                    Delivery.subscription_id == subscription_id,
                    Delivery.slot == _naive(slot),
                    Delivery.sent_at.is_(None),
                )
            )

    def delivered(self, subscription_id: int, slot: datetime, article_ids: list[str], sent_at: datetime) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(Delivery)
                .where(Delivery.subscription_id == subscription_id, Delivery.slot == _naive(slot))
                .values(sent_at=_naive(sent_at), article_ids=json.dumps(article_ids))
            )

    def slots(self, subscription_id: int) -> set[datetime]:
        with Session(self.engine) as session:
            rows = session.scalars(select(Delivery.slot).where(Delivery.subscription_id == subscription_id))
            return {slot.replace(tzinfo=UTC) for slot in rows}

    def deliveries(self, subscription_id: int) -> list[Delivery]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(
                session.scalars(
                    select(Delivery).where(Delivery.subscription_id == subscription_id).order_by(Delivery.slot)
                )
            )

    def sent_articles(self, subscription_id: int) -> set[str]:
        return {a for d in self.deliveries(subscription_id) if d.sent_at for a in json.loads(d.article_ids)}

    def last_sent(self, subscription_id: int) -> datetime | None:
        sent = [d.sent_at for d in self.deliveries(subscription_id) if d.sent_at]
        return max(sent).replace(tzinfo=UTC) if sent else None
