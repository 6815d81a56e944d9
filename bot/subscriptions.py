"""Subscriptions and deliveries, in the bot's database (bot.db: SQLite under the data directory, or PostgreSQL
through DATABASE_URL; its schema is migrated by Alembic)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum

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
    false,
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


class ChatKind(StrEnum):
    """Where a subscription's briefings go (stored as these strings)."""

    USER = "user"  # a private chat
    GROUP = "group"
    CHANNEL = "channel"


class Status(StrEnum):
    """A subscription is delivered (active), waits for the bot to be allowed back in its chat (paused: the bot was
    blocked or removed), or was ended by /unsubscribe or /channel off (stopped)."""

    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


class Subscription(Base):
    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # a ChatKind
    title: Mapped[str | None] = mapped_column(String(255), nullable=True)  # a channel's @name
    hour: Mapped[int] = mapped_column(Integer)
    minute: Mapped[int] = mapped_column(Integer)
    tz: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Not active because the bot may not write to the chat: active again when it may (see Status).
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=lambda: datetime.now(UTC).replace(tzinfo=None))

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.hour, self.minute, self.tz, self.lang)

    @property
    def status(self) -> Status:
        if self.active:
            return Status.ACTIVE
        return Status.PAUSED if self.paused else Status.STOPPED


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
        self, chat_id: int, kind: ChatKind, schedule: Schedule, created_by: int | None, title: str | None = None
    ) -> Subscription:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            sub = session.scalar(select(Subscription).where(Subscription.chat_id == chat_id))
            if sub is None:
                sub = Subscription(chat_id=chat_id, kind=kind)
                session.add(sub)
            sub.hour, sub.minute, sub.tz, sub.lang = schedule.hour, schedule.minute, schedule.tz, schedule.lang
            sub.active, sub.paused, sub.created_by, sub.title = True, False, created_by, title
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
                Subscription.kind == ChatKind.CHANNEL, Subscription.created_by == user_id, Subscription.active.is_(True)
            )
            return list(session.scalars(query.order_by(Subscription.title)))

    def deactivate(self, chat_id: int) -> bool:
        """/unsubscribe, /channel off: stopped (a paused subscription too); False when there was none to stop."""
        with Session(self.engine) as session, session.begin():
            stopped = session.scalars(
                update(Subscription)
                .where(Subscription.chat_id == chat_id, Subscription.active.is_(True) | Subscription.paused.is_(True))
                .values(active=False, paused=False)
                .returning(Subscription.id)
            ).all()
            return bool(stopped)

    def pause(self, chat_id: int) -> Subscription | None:
        """The bot may not write to the chat (blocked, removed): no briefings until `resume`. The subscription paused
        now, or None when the chat had no active one."""
        return self._switch(chat_id, Status.ACTIVE, active=False, paused=True)

    def resume(self, chat_id: int) -> Subscription | None:
        """The bot may write to the chat again: a subscription paused by `pause` is active again (one the user
        stopped stays stopped). The subscription resumed, or None."""
        return self._switch(chat_id, Status.PAUSED, active=True, paused=False)

    def _switch(self, chat_id: int, status: Status, *, active: bool, paused: bool) -> Subscription | None:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            sub = session.scalar(select(Subscription).where(Subscription.chat_id == chat_id).with_for_update())
            if sub is None or sub.status is not status:
                return None
            sub.active, sub.paused = active, paused
            return sub

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
