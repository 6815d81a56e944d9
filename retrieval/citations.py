"""Checking a generated answer's citations: only sentences that cite a source that was really given survive."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .chunking import split_sentences

_MARKER = re.compile(r"\[\s*(\d{1,4}(?:\s*[,،]\s*\d{1,4})*)\s*\]")  # a 5000-digit "number" is no source


@dataclass
class CheckedSentence:
    text: str  # with markers renumbered to the final citation numbers
    sources: list[int]  # original source numbers (1-based, as given to the model)


@dataclass
class CheckedAnswer:
    sentences: list[CheckedSentence]
    order: list[int]  # original source numbers in the order of their final numbers 1, 2, …

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


def check_citations(text: str, n_sources: int) -> CheckedAnswer:
    """Drop citation markers naming no given source and sentences left without one; renumber the rest 1, 2, …"""
    order: list[int] = []
    kept: list[tuple[str, list[int]]] = []
    for start, end in split_sentences(text.strip()):
        sentence = text.strip()[start:end]
        cited: list[int] = []
        for match in _MARKER.finditer(sentence):
            for number in re.split(r"\s*[,،]\s*", match.group(1)):
                n = int(number)
                if 1 <= n <= n_sources:
                    cited.append(n)
        if not cited:
            continue
        for n in cited:
            if n not in order:
                order.append(n)
        kept.append((sentence, list(dict.fromkeys(cited))))

    final = {original: i + 1 for i, original in enumerate(order)}

    def renumber(match: re.Match) -> str:
        numbers = [int(x) for x in re.split(r"\s*[,،]\s*", match.group(1))]
        valid = [final[n] for n in numbers if n in final]
        return "".join(f"[{n}]" for n in dict.fromkeys(valid))

    sentences = [
        CheckedSentence(re.sub(r"\s+([.!?؟])", r"\1", _MARKER.sub(renumber, s)).strip(), cited) for s, cited in kept
    ]
    return CheckedAnswer(sentences, order)
