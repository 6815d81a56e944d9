"""The near-duplicate signature: written by hand (see retrieval/dedup.py), so checked against datasketch's."""

from __future__ import annotations

import numpy as np
from datasketch import MinHash

from retrieval.dedup import NUM_PERM, SAME_STORY, Fingerprint, minhash

TEXTS = [
    "Armenia and Azerbaijan agreed on Tuesday to reopen the Lachin corridor to civilian traffic, officials said.",
    "قالت وزارة الخارجية الأذربيجانية إن المفاوضات مع أرمينيا بشأن ترسيم الحدود ستستأنف الأسبوع المقبل في باكو.",
    "x",
    " ".join(f"word{i}" for i in range(3000)),
]


def test_signature_equals_datasketch_minhash_bit_for_bit() -> None:
    for text in TEXTS:
        words = text.split()
        shingles = {" ".join(words[i : i + 4]) for i in range(max(1, len(words) - 3))}
        theirs = MinHash(num_perm=NUM_PERM, seed=7)
        theirs.update_batch([s.encode() for s in shingles])
        ours = minhash(shingles)
        assert ours.dtype == np.uint32
        assert np.array_equal(ours, theirs.hashvalues), text[:30]


def test_same_story_at_another_outlet_is_near_and_other_stories_are_not() -> None:
    story = TEXTS[0] + " The agreement was reached after talks in Brussels mediated by the European Union. " * 3
    rewrite = story.replace("officials said", "a spokesman told reporters")
    other = TEXTS[1] * 4
    first, second, third = (Fingerprint.of(t) for t in (story, rewrite, other))
    assert first.similarity(second) >= SAME_STORY
    assert first.similarity(third) < 0.1
    assert Fingerprint.from_bytes(first.to_bytes()).similarity(first) == 1.0
