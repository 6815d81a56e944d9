"""Arabic-aware normalisation and tokenising, for matching only: display always keeps the original text."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import snowballstemmer
from pyarabic import araby

# Alef/hamza seats, alef maqsura and taa marbuta folded the way search engines do for Arabic.
# Hand-written because pyarabic.normalize_hamza folds أ/إ to ء, which breaks matching of ordinary words.
_LETTERS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ئ": "ي",
        "ؤ": "و",
        "ة": "ه",
        "ک": "ك",
        "ی": "ي",
    }
)
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Diacritics (pyarabic's TASHKEEL) and tatweel dropped, letters and digits folded: one pass of str.translate
# (pyarabic's strip_tashkeel first scans the text in Python, a few ms an answer over the candidate passages).
_FOLD = {ord(mark): None for mark in (*araby.TASHKEEL, araby.TATWEEL)} | _LETTERS | _DIGITS
_TOKEN = re.compile(r"\w+", re.UNICODE)
_ARABIC_PREFIXES = ("وبال", "وال", "بال", "كال", "فال", "لل", "ال")
# The same prefixes, first match in that order, stripped where a token starts and keeps at least two letters.
_PREFIX = re.compile(r"(?<!\w)(?:" + "|".join(_ARABIC_PREFIXES) + r")(?=\w\w)")

_STOPWORD_TEXT = """a an the of in on at to for from by with and or but is are was were be been being has have had
    do does did what which who whom whose when where why how that this these those it its as about into over
    after before
    than then there their they them he she his her we you i me my our your not no yes can could will would should
    may might also said says say tell me please any some all more most other such only own same so very just
    في من الى على عن ان انه ما ماذا متى اين كيف لماذا هل هي هو هم التي الذي الذين ذلك هذا هذه تلك مع او ثم قد
    لقد كان كانت يكون بين بعد قبل حول عند كل اي لا لم لن ايضا وقال قال قالت"""


def fold_digits(text: str) -> str:
    return text.translate(_DIGITS)


def normalize(text: str) -> str:
    """Fold case, diacritics, tatweel, letter variants and digits so spelling variants compare equal."""
    return unicodedata.normalize("NFKC", text).translate(_FOLD).casefold()


def tokens(text: str, drop_stopwords: bool = False) -> list[str]:
    """Normalised word tokens with the Arabic definite-article family stripped (light stemming)."""
    if not drop_stopwords:
        return _TOKEN.findall(_PREFIX.sub("", normalize(text)))
    return [_PREFIX.sub("", raw, count=1) for raw in _TOKEN.findall(normalize(text)) if raw not in STOPWORDS]


STOPWORDS = frozenset(normalize(w) for w in _STOPWORD_TEXT.split())


_LOCAL = threading.local()  # a Snowball stemmer keeps state while it works: one per thread (answer workers)


def _stemmer(lang: str):
    stemmers = getattr(_LOCAL, "stemmers", None)
    if stemmers is None:
        stemmers = _LOCAL.stemmers = {"ar": snowballstemmer.stemmer("arabic"), "en": snowballstemmer.stemmer("english")}
    return stemmers[lang]


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """A matching token's stem (Snowball), so "killed" finds "kill" and "بالانتخابات" finds "انتخابات"."""
    if token.isdigit():
        return token
    arabic = "\u0600" <= token[:1] <= "\u06ff"
    return _stemmer("ar" if arabic else "en").stemWord(token)


@lru_cache(maxsize=100_000)
def stems(text: str) -> frozenset[str]:
    """The stems of a text's matching tokens: what a question's words are looked for in."""
    return frozenset(stem(t) for t in tokens(text))
