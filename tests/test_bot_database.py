"""The bot's one database: Alembic migrations (also from a database of the release before them), remembered
answers and per-user data as JSON with bounds, feedback, the journal — on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import json
import pickle
import sqlite3
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text, update
from telegram import Update

import bot.journal  # noqa: F401 - its table is part of the metadata compared below
from bot.db import Base, DatabaseTooNewError, head, migrate, open_database
from bot.feedback import FeedbackStore
from bot.journal import UpdateJournal
from bot.persistence import DatabasePersistence
from bot.remembered import AnswerMemory, RememberedAnswer
from bot.storage import BotStores
from bot.subscriptions import Status, SubscriptionStore
from retrieval.answers import Answer, Citation

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def answer(question: str = "What did Peskov say about mediation?") -> Answer:
    day = date(2023, 9, 20)
    quote = Citation(1, "sputnik-peskov", "https://example.org/p", "Peskov", "Sputnik", day, "ar", "روسيا")
    return Answer(question, "en", "extractive", True, "Russia will keep mediating [1].", [quote], entities=["peskov"])


def rows(engine, table: str) -> list[tuple]:
    with engine.connect() as connection:
        return sorted((tuple(r) for r in connection.execute(text(f"SELECT * FROM {table}"))), key=lambda r: r[:2])


def restore(dump: Path, path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(dump.read_text(encoding="utf-8"))


# -- migrations ---------------------------------------------------------------------------------------------------
def test_migrations_build_exactly_the_schema_the_code_uses(bot_database_url):
    engine = open_database(bot_database_url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head()
        assert connection.execute(text("SELECT version FROM schema_version")).scalar() == 2, "old releases refuse it"


def test_a_database_of_the_release_before_alembic_is_upgraded_in_place_with_every_row(tmp_path):
    """tests/data/*-61e1abb.sql: made by that release's own code (subscriptions, deliveries, its feedback file);
    its PicklePersistence file is written here by PTB's PicklePersistence, as that release did."""
    data = tmp_path / "data"
    data.mkdir()
    restore(DATA / "bot-db-61e1abb.sql", data / "subscriptions.sqlite3")
    restore(DATA / "feedback-61e1abb.sql", data / "feedback.sqlite3")
    old = create_engine(f"sqlite:///{data / 'subscriptions.sqlite3'}")
    before = {table: rows(old, table) for table in ("subscriptions", "deliveries")}
    assert len(before["subscriptions"]) == 3 and len(before["deliveries"]) == 2
    old.dispose()
    remembered = answer()
    state = {"user_data": {204: {"lang": "ar"}}, "chat_data": {205: {"answers": {1007: remembered}}}}
    (data / "bot_state.pickle").write_bytes(pickle.dumps(state))  # PicklePersistence(single_file=True)'s format

    url = f"sqlite:///{data / 'subscriptions.sqlite3'}"
    stores = BotStores.open(url, data)
    after = {table: [r[: len(before[table][0])] for r in rows(stores.engine, table)] for table in before}
    assert after == before, "every subscription and delivery kept (columns added since come last)"
    store = stores.subscriptions
    assert store.get(-100777).title == "@karabakh_news" and store.get(-100602).status is Status.STOPPED
    assert store.sent_articles(store.get(501).id) == {"armenpress-lachin-2023", "markup-article"}
    assert store.claim(store.get(501).id, 501, datetime(2026, 6, 1, 4, 0, tzinfo=UTC)) is False, "still sent"
    votes = stores.feedback.all()
    assert [(v["user_id"], v["vote"], v["question"], v["answered"]) for v in votes] == [
        (205, 1, "What did Peskov say about mediation?", True),
        (None, -1, "كم عدد النازحين؟", False),
    ]
    assert json.loads(votes[0]["article_ids"]) == ["sputnik-peskov"]
    assert stores.answers.get(205, 1007) == remembered
    assert not (data / "feedback.sqlite3").exists() and (data / "feedback.sqlite3.imported").exists()
    assert not (data / "bot_state.pickle").exists() and (data / "bot_state.pickle.imported").exists()
    with stores.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head()
    stores.engine.dispose()

    again = BotStores.open(url, data)  # a second start imports nothing twice and loses nothing
    assert len(again.feedback.all()) == 2 and len(rows(again.engine, "subscriptions")) == len(before["subscriptions"])


async def test_user_data_from_the_old_pickle_is_loaded_as_json(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "bot_state.pickle").write_bytes(pickle.dumps({"user_data": {204: {"lang": "ar"}}, "chat_data": {}}))
    stores = BotStores.open(f"sqlite:///{tmp_path / 'bot.sqlite3'}", data)
    assert await stores.persistence.get_user_data() == {204: {"lang": "ar"}}


def test_a_database_with_the_unreleased_journal_keeps_its_journal(tmp_path):
    """tests/data/bot-db-a5a286c-journal.sql: made by main before Alembic, with the journal (no migration made it)."""
    path = tmp_path / "bot.sqlite3"
    restore(DATA / "bot-db-a5a286c-journal.sql", path)
    engine = open_database(f"sqlite:///{path}")
    assert [(r[0], r[1], r[5] is None) for r in rows(engine, "update_journal")] == [
        (987654321, 40, False),
        (987654321, 41, True),
    ]
    assert [u["update_id"] for u in UpdateJournal(engine, 987654321).unfinished()] == [41]
    assert len(rows(engine, "deliveries")) == 1


def test_a_pre_alembic_database_is_stamped_not_recreated(bot_database_url):
    """The same recognition on PostgreSQL: baseline tables with rows and no alembic_version."""
    engine = create_engine(bot_database_url)
    from alembic import command

    from bot.db import alembic_config

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        connection.execute(text("DROP TABLE alembic_version"))
    with engine.begin() as connection:  # rows in the baseline tables, as the old release wrote them
        sub_id = connection.execute(
            text(
                "INSERT INTO subscriptions (chat_id, kind, hour, minute, tz, lang, active, created_by, created_at) "
                "VALUES (42, 'user', 8, 0, 'UTC', 'en', true, 42, :at) RETURNING id"
            ),
            {"at": datetime(2026, 1, 1)},
        ).scalar_one()
        connection.execute(
            text("INSERT INTO deliveries (subscription_id, chat_id, slot, article_ids) VALUES (:id, 42, :slot, '[]')"),
            {"id": sub_id, "slot": datetime(2026, 1, 1, 8)},
        )
    migrate(engine)
    assert SubscriptionStore(engine).get(42).id == sub_id and len(rows(engine, "deliveries")) == 1
    assert rows(engine, "alembic_version") == [(head(),)]


def test_a_database_from_a_newer_release_is_refused_clearly(bot_database_url):
    open_database(bot_database_url)
    with create_engine(bot_database_url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(DatabaseTooNewError, match="newer release"):
        open_database(bot_database_url)


def test_the_wheel_carries_the_migrations_and_runs_them(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    names = set(zipfile.ZipFile(wheel).namelist())
    scripts = {f"bot/db/migrations/versions/{p.name}" for p in (ROOT / "bot/db/migrations/versions").glob("0*.py")}
    assert scripts and scripts <= names and "bot/db/migrations/env.py" in names
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import bot.db as d; "
        "assert d.__file__.startswith(sys.argv[1]), d.__file__; "
        "e = d.open_database('sqlite:///' + sys.argv[2]); "
        "print(e.connect().exec_driver_sql('SELECT version_num FROM alembic_version').scalar())"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-c", code, str(site), str(tmp_path / "w.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == head()


# -- what the bot keeps -------------------------------------------------------------------------------------------
def test_remembered_answers_are_json_bounded_per_chat_and_by_age(bot_database_url):
    engine = open_database(bot_database_url)
    memory = AnswerMemory(engine, per_chat=3)
    for message_id in range(1, 6):
        memory.remember(-1001, [message_id], answer(f"question {message_id}"))
    memory.remember(7, [1, 2], answer())  # one answer over two messages
    assert memory.count(-1001) == 3 and memory.get(-1001, 1) is None, "the oldest beyond the bound are gone"
    assert memory.get(-1001, 5).question == "question 5" and memory.get(7, 2) == answer()
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT answer FROM remembered_answers WHERE chat_id = 7")).scalar()
    assert (json.loads(stored) if isinstance(stored, str) else stored)["question"] == answer().question

    with engine.begin() as connection:  # a month later
        connection.execute(
            update(RememberedAnswer)
            .where(RememberedAnswer.chat_id == 7)
            .values(at=datetime.now(UTC).replace(tzinfo=None) - timedelta(days=31))
        )
    assert memory.get(7, 1) is None, "expired"
    assert memory.prune() == 2 and memory.count() == 3
    memory.move_chat(-1001, -1001001)
    assert memory.get(-1001001, 4).question == "question 4" and memory.get(-1001, 4) is None


def test_an_answer_record_reads_back_and_tolerates_fields_it_does_not_know():
    record = answer().to_json()
    assert Answer.from_json(record) == answer()
    newer = {**record, "confidence": 0.9, "citations": [{**record["citations"][0], "page": 3}]}
    assert Answer.from_json(newer) == answer()


async def test_user_data_is_kept_as_json_only(bot_database_url):
    persistence = DatabasePersistence(open_database(bot_database_url))
    await persistence.update_user_data(204, {"lang": "ar"})
    await persistence.update_user_data(205, {"lang": "en"})
    await persistence.drop_user_data(205)
    assert await DatabasePersistence(persistence.engine).get_user_data() == {204: {"lang": "ar"}}
    with pytest.raises(TypeError, match="JSON"):
        await persistence.update_user_data(206, {"answer": answer()})
    with pytest.raises(TypeError, match="JSON"):
        await persistence.update_user_data(206, {1: "integer keys come back as strings"})


def test_feedback_and_journal_share_the_database(bot_database_url):
    engine = open_database(bot_database_url)
    FeedbackStore(engine).record(205, -1001, -1, answer())
    (vote,) = FeedbackStore(engine).all()
    assert (vote["user_id"], vote["chat_id"], vote["vote"], vote["answered"]) == (205, -1001, -1, True)
    assert json.loads(vote["article_ids"]) == ["sputnik-peskov"]
    journal = UpdateJournal(engine, bot_id=987654321)
    message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "hi"}
    assert journal.record(Update.de_json({"update_id": 5, "message": message}, None))
    assert not journal.record(Update.de_json({"update_id": 5, "message": message}, None)), "recorded once"
    assert [u["update_id"] for u in journal.unfinished()] == [5]
    journal.done(5)
    assert journal.unfinished() == []
