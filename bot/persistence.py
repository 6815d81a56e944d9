"""PTB persistence over the bot's database, holding per-user data (the /lang choice) as JSON only.

Why a BasePersistence rather than a column read by hand: the handlers (and the subscription handlers) already read
`context.user_data["lang"]`, PTB loads it once at start and writes back only the users whose updates changed it.
Why not PicklePersistence: a pickle names classes, so renaming one broke every stored value after an upgrade, and
it kept the remembered answers too (those now live in `remembered_answers`, bounded). Chat, bot and callback data
are not persisted: bot data is a `BotData` of live objects (the index, a thread pool, engines), rebuilt at start."""

from __future__ import annotations

import json

from sqlalchemy import JSON, BigInteger, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column
from telegram.ext import BasePersistence, PersistenceInput

from .db import Base, migrate

FLUSH_EVERY = 10.0  # seconds between two writes of changed user data (and at shutdown)


class UserData(Base):
    __tablename__ = "user_data"
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[dict] = mapped_column(JSON)


def json_only(data: dict) -> dict:
    """`data` if it survives a JSON round trip unchanged (string keys, plain values); else TypeError."""
    try:
        same = json.loads(json.dumps(data)) == data
    except (TypeError, ValueError) as error:
        raise TypeError(f"user_data must hold JSON values only: {error}") from error
    if not same:
        raise TypeError("user_data must hold JSON values only (string keys, no tuples or sets)")
    return data


class DatabasePersistence(BasePersistence):
    def __init__(self, engine: Engine, update_interval: float = FLUSH_EVERY):
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True, callback_data=False),
            update_interval=update_interval,
        )
        self.engine = engine
        migrate(engine)

    async def get_user_data(self) -> dict[int, dict]:
        with Session(self.engine) as session:
            return {row.user_id: dict(row.data) for row in session.scalars(select(UserData))}

    async def update_user_data(self, user_id: int, data: dict) -> None:
        self.save_user(user_id, data)

    def save_user(self, user_id: int, data: dict) -> None:
        """One user's data, replaced (deleted when empty); TypeError if it is not plain JSON."""
        with Session(self.engine) as session, session.begin():
            if data:
                session.merge(UserData(user_id=user_id, data=json_only(dict(data))))
            else:
                session.execute(delete(UserData).where(UserData.user_id == user_id))

    async def drop_user_data(self, user_id: int) -> None:
        await self.update_user_data(user_id, {})

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        pass

    # -- not persisted ------------------------------------------------------------------------------------------
    async def get_chat_data(self) -> dict[int, dict]:
        return {}

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        pass

    async def drop_chat_data(self, chat_id: int) -> None:
        pass

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        pass

    async def get_bot_data(self) -> dict:
        return {}

    async def update_bot_data(self, data: dict) -> None:
        pass

    async def refresh_bot_data(self, bot_data: dict) -> None:
        pass

    async def get_callback_data(self) -> None:
        return None

    async def update_callback_data(self, data: object) -> None:
        pass

    async def get_conversations(self, name: str) -> dict:
        return {}

    async def update_conversation(self, name: str, key: tuple, new_state: object) -> None:
        pass

    async def flush(self) -> None:
        pass
