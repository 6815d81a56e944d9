"""The bot's stores, all on its one database, opened (and migrated) together; files of older releases
(`feedback.sqlite3`, `bot_state.pickle`) are moved into it once."""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from retrieval.answers import Answer

from .db import open_database
from .feedback import FeedbackStore
from .persistence import DatabasePersistence, json_only
from .remembered import AnswerMemory
from .subscriptions import SubscriptionStore

log = logging.getLogger(__name__)


@dataclass
class BotStores:
    engine: Engine
    subscriptions: SubscriptionStore
    feedback: FeedbackStore
    answers: AnswerMemory
    persistence: DatabasePersistence

    @classmethod
    def open(cls, url: str, data_dir: Path) -> BotStores:
        engine = open_database(url)
        stores = cls(
            engine,
            SubscriptionStore(engine),
            FeedbackStore(engine),
            AnswerMemory(engine),
            DatabasePersistence(engine),
        )
        stores.feedback.import_file(data_dir / "feedback.sqlite3")
        stores.import_pickle(data_dir / "bot_state.pickle")
        return stores

    def import_pickle(self, path: Path) -> None:
        """An older release's PicklePersistence file: per-user data and remembered answers move here as JSON, once
        (the file is renamed `*.imported`). Whatever no longer unpickles or is not JSON is left behind, logged."""
        if not path.exists():
            return
        try:
            with path.open("rb") as file:
                state = pickle.load(file)  # our own file, written by an older release of this bot
        except Exception as error:  # a class renamed since: exactly why nothing is pickled any more
            log.warning(
                "could not read %s (%s): per-user choices and remembered answers are not carried over", path, error
            )
            state = {}
        users = answers = 0
        for user_id, data in (state.get("user_data") or {}).items():
            try:
                kept = json_only(dict(data))
            except TypeError:
                kept = {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str | int | float)}
            if kept:
                self.persistence.save_user(int(user_id), kept)
                users += 1
        for chat_id, data in (state.get("chat_data") or {}).items():
            for message_id, answer in (data.get("answers") or {}).items():
                if isinstance(answer, Answer):
                    self.answers.remember(int(chat_id), [int(message_id)], answer)
                    answers += 1
        path.rename(path.with_name(path.name + ".imported"))
        log.warning(
            "moved %s users' settings and %s remembered answers from %s into the bot database", users, answers, path
        )
