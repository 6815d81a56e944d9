"""Exact duplicates by content hash; near-duplicates (one wire story at several outlets) by MinHash LSH."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

from .textnorm import tokens

NUM_PERM = 126
ROWS = 3  # 42 bands of 3 rows: stories with Jaccard ≈ 0.45 meet in a band 98% of the time
SHINGLE = 4
SAME_STORY = 0.45  # estimated Jaccard of word 4-shingles above which two articles tell the same story


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
        minhash = MinHash(num_perm=NUM_PERM, seed=7)
        minhash.update_batch([s.encode() for s in shingles])
        return cls(minhash.hashvalues.astype(np.uint64))

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
