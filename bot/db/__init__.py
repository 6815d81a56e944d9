"""The bot's one database (SQLite under the data directory, or PostgreSQL through DATABASE_URL): subscriptions,
deliveries, feedback, remembered answers, per-user preferences and the update journal.

Its schema is migrated by Alembic at open, from scripts shipped inside this package (no alembic.ini at run time).
A database made before Alembic (tables but no `alembic_version`) is recognised as the baseline and upgraded in
place, never re-created."""

from __future__ import annotations

import logging
import threading
import weakref
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.orm import DeclarativeBase

from retrieval.errors import BriefError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"  # the schema of the releases before Alembic: schema_version, subscriptions, deliveries
_LOCK_KEY = 0x62726965  # PostgreSQL advisory lock: two bot processes starting together migrate one at a time


class Base(DeclarativeBase):
    """Every table of the bot's database (the migrations, not this metadata, create them)."""


class DatabaseTooNewError(BriefError, RuntimeError):
    """The database was migrated by a newer release than this code."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision of the shipped migrations."""
    newest = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if newest is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return newest


_migrated: weakref.WeakSet[Engine] = weakref.WeakSet()
_one_at_a_time = threading.Lock()  # Alembic's `context`/`op` are module globals: one migration per process at once


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; a pre-Alembic database is stamped as the baseline first.
    Once per engine: the stores sharing one engine each ask for it."""
    with _one_at_a_time:
        if engine not in _migrated:
            _migrate(engine)
            _migrated.add(engine)


def _migrate(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config = alembic_config(connection)
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "subscriptions" in tables:
            log.warning("the bot database predates migrations: recognised as revision %s, upgrading it", BASELINE)
            command.stamp(config, BASELINE)
        try:
            command.upgrade(config, "head")
        except CommandError as error:
            if "Can't locate revision" not in str(error):
                raise
            raise DatabaseTooNewError(
                "the bot database was upgraded by a newer release of Caucasus Brief: upgrade this one"
            ) from error


def open_database(url: str) -> Engine:
    """An engine on the bot's database, its schema migrated."""
    engine = create_engine(url)
    migrate(engine)
    return engine
