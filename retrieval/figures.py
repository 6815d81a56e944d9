"""Figures in news sentences: each number with what it counts, so two reports can be compared."""

from __future__ import annotations

import re
from datetime import date

from .glossary import default_glossary
from .question import MONTH_TOKENS
from .textnorm import STOPWORDS, tokens

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def same_days(a: date | None, b: date | None, days: int = 3) -> bool:
    """Both dated, at most `days` apart: the reports can be of the same event."""
    return a is not None and b is not None and abs((a - b).days) <= days


def figures(text: str) -> list[tuple[str, set[str]]]:
    """Each number with what it counts: the few words after it, and the glossary terms among them.

    Dates are left out: a number next to a month name or a year is not a figure."""
    words = tokens(text)
    out = []
    for i, word in enumerate(words):
        if not _NUMBER.fullmatch(word) or (len(word) == 4 and word[:2] in ("19", "20")):
            continue
        around = words[max(0, i - 1) : i + 4]
        if MONTH_TOKENS & set(around):
            continue
        following = [w for w in words[i + 1 : i + 4] if w not in STOPWORDS and not _NUMBER.fullmatch(w)]
        context = set(following) | {e.id for e in default_glossary().find(" ".join(following)) if e.type == "term"}
        if context:
            out.append((word, context))
    return out


def figures_disagree(ours: list[tuple[str, set[str]]], theirs: list[tuple[str, set[str]]]) -> bool:
    """Some figure of ours and one of theirs count the same thing with different numbers, and they never agree."""
    for number, context in ours:
        same_thing = [n for n, c in theirs if c & context]
        if same_thing and number not in same_thing:
            return True
    return False
