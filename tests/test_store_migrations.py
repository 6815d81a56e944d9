"""The article store's recorded migrations: a store of the previous release (61e1abb, tests/data/store_61e1abb.sql,
made by its own code with tests/data/make_store_61e1abb.py) is upgraded in place with nothing lost; a migrated store
runs nothing twice; a store from a newer release is refused, untouched."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from retrieval.feed_state import FeedState, FeedStates
from retrieval.migrations import MIGRATIONS, NewerStoreError, migrate
from retrieval.store import Store, fts_query
from retrieval.textnorm import tokens

from .helpers import brief

DUMP = Path(__file__).resolve().parent / "data" / "store_61e1abb.sql"
STORE_MIGRATIONS = [
    "m001_initial",
    "m002_chunks_embedded",
    "m003_no_schema_version",
    "m004_vectors_in_store",
    "m005_missing_vector_indexes",
]
KEPT = ["chunk_terms", "article_terms", "sentence_vectors", "signatures", "story_bands"]


def release_store(directory: Path) -> Path:
    """The previous release's store, loaded from its dump with plain sqlite3 (no code of this release)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "store.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(DUMP.read_text("utf-8"))
    db.close()
    return path


def rows(path: Path, table: str, columns: str = "*") -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT {columns} FROM {table} ORDER BY rowid").fetchall()
    finally:
        db.close()


def tables(path: Path) -> set[str]:
    return {name for (name,) in rows(path, "sqlite_master WHERE type = 'table'", "name")}


def test_a_store_of_the_previous_release_is_upgraded_in_place_with_nothing_lost(tmp_path):
    path = release_store(tmp_path / "data")
    before = {table: rows(path, table) for table in [*KEPT, "articles"]}
    chunks_before = rows(path, "chunks")
    feeds_before = rows(path, "feeds")
    status = dict(rows(path, "articles", "id, status"))
    assert len(before["articles"]) == 6 and len(chunks_before) == 8 and len(before["chunk_terms"]) == 8
    assert len(feeds_before) == 2 and "pending" in status.values()
    assert "embedded" not in {column for (column,) in rows(path, "pragma_table_info('chunks')", "name")}

    store = Store(path)
    states = FeedStates(path)
    try:
        assert {table: rows(path, table) for table in KEPT} == {table: before[table] for table in KEPT}
        # Every article and chunk kept as it was, with room for its vector (copied from the index when one is
        # opened: tests/test_vectors.py); each chunk now says whether its vectors are stored: those of indexed
        # articles are.
        assert [row[:-1] for row in rows(path, "articles")] == before["articles"]
        assert {row[-1] for row in rows(path, "articles")} == {None}
        after = rows(path, "chunks")
        assert [row[:-2] for row in after] == chunks_before
        assert [row[-2:] for row in after] == [(int(status[row[1]] == "indexed"), None) for row in chunks_before]
        # Feed state moved to the poller's own table, every row and field, and read back as typed records.
        assert [tuple(vars(state).values()) for state in states.all()] == sorted(feeds_before)
        good = next(state for state in states.all() if state.url.endswith("/feed.xml"))
        assert isinstance(good, FeedState) and (good.etag, good.items_new, good.failures) == ('"v1"', 2, 0)
        assert "feeds" not in tables(path) and "meta" not in tables(path), "schema_version: _migrations records it"
        assert [name for (name,) in rows(path, "_migrations", "name")] == STORE_MIGRATIONS
        assert rows(path, "_feed_migrations", "name") == [("m001_feed_state",)]

        # Search's lexical side finds the articles (English and Arabic), and only the indexed ones are visible.
        for question, lang, expected in [
            ("border crossing near Ijevan", "en", "Armenia and Azerbaijan open a border crossing near Ijevan"),
            ("checkpoint Lachin corridor", "en", "Azerbaijan sets up checkpoint at start of Lachin corridor"),
            ("عدد اللاجئين الأرمن", "ar", None),
        ]:
            ranked = store.lexical_chunks(fts_query(tokens(question)), 3, ["ar", "en"])
            assert not ranked["ar" if lang == "en" else "en"]  # no word of it in the other language
            top = store.chunk_rows([chunk_id for chunk_id, _ in ranked[lang]])[ranked[lang][0][0]]
            assert top["title"] == expected if expected else top["chunk_lang"] == "ar"
        shusha = store.lexical_chunks(fts_query(tokens("Shusha road Tbilisi")), 3, ["en"])["en"]
        assert shusha[0][0] == "pending-shusha-talks:0"
        assert store.chunk_rows(["pending-shusha-talks:0"]) == {}
        assert [(p["id"], p["chunks"], p["embedded"]) for p in store.pending_articles()] == [
            ("pending-shusha-talks", 1, 0)
        ]
        assert store.stats()["articles"] == 5
    finally:
        store.close()


def test_opening_a_migrated_store_again_runs_nothing_twice(tmp_path):
    path = release_store(tmp_path / "data")
    Store(path).close()
    FeedStates(path)
    recorded = rows(path, "_migrations"), rows(path, "_feed_migrations")
    schema = rows(path, "sqlite_master", "sql")

    store = Store(path)
    FeedStates(path)
    try:
        assert migrate(store.db, path) == []
        assert (rows(path, "_migrations"), rows(path, "_feed_migrations")) == recorded, "same names, same times"
        assert rows(path, "sqlite_master", "sql") == schema
    finally:
        store.close()


def test_processes_opening_an_old_store_at_once_migrate_it_once(tmp_path):
    """The bot and a `brief` command may open the same old store together: one migrates, the other sees it done."""
    path = release_store(tmp_path / "data")
    errors, barrier = [], threading.Barrier(4)

    def open_store() -> None:
        barrier.wait()
        try:
            Store(path).close()
            FeedStates(path)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [name for (name,) in rows(path, "_migrations", "name")] == STORE_MIGRATIONS
    assert len(rows(path, "feed_state")) == 2


def test_a_fresh_store_records_every_migration(tmp_path):
    path = tmp_path / "store.sqlite3"
    Store(path).close()
    FeedStates(path).save(FeedState("http://127.0.0.1:9/feed.xml", etag='"x"', failures=1))
    assert [name for (name,) in rows(path, "_migrations", "name")] == [m.__name__ for m in MIGRATIONS]
    assert FeedStates(path).get("http://127.0.0.1:9/feed.xml") == FeedState(
        "http://127.0.0.1:9/feed.xml", etag='"x"', failures=1
    )
    assert FeedStates(path).get("http://127.0.0.1:9/other.xml") == FeedState("http://127.0.0.1:9/other.xml")


@pytest.mark.parametrize("table", ["_migrations", "_feed_migrations"])
def test_a_store_from_a_newer_release_is_refused_and_left_untouched(tmp_path, table):
    data = tmp_path / "data"
    path = release_store(data)
    Store(path).close()
    FeedStates(path)
    db = sqlite3.connect(path)
    db.execute(f"INSERT INTO {table}(name) VALUES ('m099_from_the_future')")
    db.commit()
    db.close()
    dump = list(sqlite3.connect(path).iterdump())

    with pytest.raises(NewerStoreError, match="newer release of Caucasus Brief.*m099_from_the_future"):
        Store(path) if table == "_migrations" else FeedStates(path)
    result = brief(data, "stats" if table == "_migrations" else "feeds")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {path} was written by a newer release of Caucasus Brief")
    assert "m099_from_the_future" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(sqlite3.connect(path).iterdump()) == dump


def test_a_store_made_after_the_release_but_before_recorded_migrations_keeps_its_embedding_marks(tmp_path):
    """Stores written between the `chunks.embedded` column and `_migrations` have the column and no record: the
    column is kept as it is (an interrupted ingest's embedded chunks are not embedded again)."""
    path = release_store(tmp_path / "data")
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE chunks SET embedded = 1 WHERE id = 'pending-shusha-talks:0'")
    db.execute("DROP TABLE _migrations")
    db.commit()
    db.close()
    embedded = rows(path, "chunks", "id, embedded")

    store = Store(path)
    try:
        assert rows(path, "chunks", "id, embedded") == embedded
        assert store.embedded_chunk_ids("pending-shusha-talks") == {"pending-shusha-talks:0"}
        assert [name for (name,) in rows(path, "_migrations", "name")] == STORE_MIGRATIONS
    finally:
        store.close()
