import json
import os
import shutil

import pytest

from retrieval.ingest import ingest
from retrieval.search import Retriever

from .conftest import CORPUS, SEEDS


def test_seed_ingests_and_reingest_adds_nothing(index):
    first = ingest(index, [str(SEEDS)])
    assert (first.new, first.failed) == (1, 0)
    assert first.chunks >= 2
    chunks_before = index.vectors.chunks.count()
    again = ingest(index, [str(SEEDS)])
    assert (again.new, again.updated, again.unchanged, again.chunks) == (0, 0, 1, 0)
    assert index.vectors.chunks.count() == chunks_before
    assert index.vectors.articles.count() == 1
    stored = next(index.store.iter_articles())
    assert (stored.source, stored.via, stored.published.isoformat(), stored.lang) == (
        "Sputnik",
        "Pakistan Point News",
        "2021-11-17",
        "ar",
    )


def test_changed_content_replaces_old_chunks(index, tmp_path):
    article = tmp_path / "story.txt"
    article.write_text("Talks in Brussels\n\n" + "Armenia and Azerbaijan met in Brussels. " * 40, "utf-8")
    ingest(index, [str(article)])
    old_ids = set(index.vectors.chunks.get()["ids"])
    article.write_text("Talks in Brussels\n\nThe talks were cancelled.", "utf-8")
    report = ingest(index, [str(article)])
    assert (report.new, report.updated) == (0, 1)
    new_ids = set(index.vectors.chunks.get()["ids"])
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
