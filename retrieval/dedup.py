"""Exact duplicates by content hash; near-duplicates (one wire story at several outlets) by MinHash LSH."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from .textnorm import tokens

NUM_PERM = 126
ROWS = 3  # 42 bands of 3 rows: stories with Jaccard ≈ 0.45 meet in a band 98% of the time
SHINGLE = 4
SAME_STORY = 0.45  # estimated Jaccard of word 4-shingles above which two articles tell the same story


# datasketch 2.0's `MinHash(num_perm=126, seed=7)` ("affine32" scheme), bit for bit (tests/test_dedup.py compares):
# written here because importing datasketch imports scipy for its LSH classes, 0.6 s and 40 MB in every process, and
# because its default scheme changed in 2.0, which would silently make new signatures incomparable with stored ones.
_SEED = 7


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.RandomState(_SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)  # odd: a bijection
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer: spreads the input hashes before the affine permutations."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def minhash(shingles: set[str]) -> np.ndarray:
    """The uint32 MinHash signature of a set of strings: per permutation, the least (a·h + b) mod 2³²."""
    hashes = np.array(
        [int.from_bytes(hashlib.sha1(s.encode()).digest()[:4], "little") for s in shingles], dtype=np.uint32
    )
    a, b = _permutations()
    permuted = _fmix32(hashes)[:, None] * a + b
    return permuted.min(axis=0, initial=np.iinfo(np.uint32).max)


def content_hash(title: str, text: str) -> str:
    """Equal for texts that differ only in case, diacritics, letter variants or white space."""
    return hashlib.sha256(" ".join(tokens(title + "\n" + text)).encode()).hexdigest()


@dataclass
class Fingerprint:
    signature: np.ndarray

    @classmethod
    def of(cls, text: str) -> Fingerprint:
        words = tokens(text)
        shingles = {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
        return cls(minhash(shingles).astype(np.uint64))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Fingerprint:
        return cls(np.frombuffer(raw, dtype=np.uint64))

    def to_bytes(self) -> bytes:
        return self.signature.tobytes()

    def bands(self) -> list[tuple[int, str]]:
        return [
            (
                b,
                hashlib.blake2b(self.signature[b * ROWS : (b + 1) * ROWS].tobytes(), digest_size=8).hexdigest(),
            )
            for b in range(NUM_PERM // ROWS)
        ]

    def similarity(self, other: Fingerprint) -> float:
        return float(np.mean(self.signature == other.signature))
