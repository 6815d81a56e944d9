"""Does a sentence carry the kind of thing a question asks for: a date, a clock time, a count, an actor, a place?

Checked on the sentence itself, leaving out what the question already gives ("when did the 2020 war end?" is not
answered by "the 2020 war"). Numbers, dates and names are the part of an answer that crosses languages.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .glossary import Glossary, default_glossary
from .question import COUNT, MONTH_TOKENS, TIME, WHEN, WHERE, WHO, Kind, Question
from .textnorm import fold_digits, normalize, stems, tokens

_WEEKDAYS = frozenset(
    tokens(
        "monday tuesday wednesday thursday friday saturday sunday yesterday today tonight overnight "
        "الاثنين الإثنين الثلاثاء الأربعاء الخميس الجمعة السبت الأحد أمس البارحة اليوم الليلة"
    )
)
_AMBIGUOUS_MONTHS = frozenset(tokens("may march mar مارس آب"))
_YEAR = re.compile(r"(?<![\d.,])(?:19|20)\d\d(?![\d.,])")
_NUMERIC_DATE = re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d\d\b")
_CLOCK = re.compile(
    r"\b\d{1,2}[:.]\d{2}\s*(?:a\.?m\.?|p\.?m\.?|gmt|utc|h\b|hours|local|moscow|baku|yerevan)|\b\d{1,2}:\d{2}\b|"
    r"\b\d{1,2}\s*(?:a\.?m\.?|p\.?m\.?)(?!\w)|\b(?:midnight|noon|midday|o'clock)\b|"
    r"الساعه\s*\d|منتصف\s*الليل|منتصف\s*النهار|\bظهرا\b|\bبتوقيت\b|\blocal time\b|\b(?:gmt|utc)\b"
)
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*(?![\w])")
_NUMBER_WORDS = frozenset(
    tokens(
        "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty sixty "
        "seventy eighty ninety hundred hundreds thousand thousands million millions billion billions dozen dozens "
        "half quarter percent few several "
        "اثنان اثنين اثنتين ثلاثة ثلاث أربعة أربع خمسة خمس ستة ست سبعة سبع ثمانية ثماني تسعة تسع عشرة عشر عشرين "
        "ثلاثين أربعين خمسين ستين سبعين ثمانين تسعين مئة مائة مئات ألف آلاف الف الاف مليون ملايين مليار عشرات "
        "نصف ربع بالمئة بالمائة"
    )
)
_ROLES = frozenset(
    tokens(
        "president minister ministry spokesman spokeswoman spokesperson government army ombudsman "
        "military forces police parliament leader leaders commander envoy mediator kremlin premier "
        "prosecutor court council committee commission separatist separatists archbishop bishop priest "
        "chairman chief head mayor governor ambassador "
        "رئيس الرئيس وزير وزارة المتحدث الناطق الحكومة الجيش البرلمان زعيم قائد أمين "
        "مبعوث الكرملين المدعي المحكمة مجلس لجنة الانفصاليين الانفصاليون رئيسة وزيرة سفير محافظ رئيس الأساقفة"
    )
)
_PLACE_WORDS = frozenset(
    tokens(
        "city town village region province district border capital area enclave exclave corridor "
        "مدينة بلدة قرية منطقة إقليم محافظة حدود الحدود العاصمة ممر جيب"
    )
)
# A capitalised word inside an English sentence: a name (the sentence's first word is not evidence).
_NAME = re.compile(r"(?<=[\w,;:] )[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?")
# The dateline opening a wire story ("BAKU, March 13, 2025 (Reuters) -", «باكو - 7 كانون الأول 2023 (الجزيرة) -»,
# "YEREVAN, November 17, 2021 /ARMENPRESS/."): its city and outlet say where and who reported, not what was asked.
_DATELINE = re.compile(r"^(?:\([^)]{0,100}\)|.{0,120}?(?:\)\s*[-–—]|/[A-Z][A-Z .]+/\.?))\s*")
COUNT_WINDOW = 35  # characters around a number in which the counted thing must be named ("2,783 of its soldiers")


def carries(kind: Kind, text: str, question: Question, glossary: Glossary, same_lang: bool = True) -> bool:
    """Whether `text` holds an answer of the asked kind that the question does not itself give."""
    if kind == WHEN:
        return has_date(text, question)
    if kind == TIME:
        return bool(_CLOCK.search(normalize(text)))
    if kind == COUNT:
        return has_count(text, question, glossary, same_lang)
    if kind == WHO:
        return _has_actor(_DATELINE.sub("", text, count=1), question, glossary)
    if kind == WHERE:
        return _has_place(_DATELINE.sub("", text, count=1), question, glossary)
    return True


def has_date(text: str, question: Question) -> bool:
    words = _words(text)
    if set(words) & _WEEKDAYS or _NUMERIC_DATE.search(fold_digits(text)):
        return True
    period = question.period
    if _has_month(words) and (period is None or period.start != period.end):
        return True  # "in 2022" asked, "on 14 September" answers
    asked = {str(y) for y in range(period.start.year, period.end.year + 1)} if period else set()
    return bool(set(_YEAR.findall(fold_digits(text))) - asked - set(question.numbers))


def _has_month(words: tuple[str, ...]) -> bool:
    """A month name; "may", "march", "مارس" and "اب" only next to a number, where they cannot be a verb or "father"."""
    for i, word in enumerate(words):
        if word not in MONTH_TOKENS:
            continue
        if word not in _AMBIGUOUS_MONTHS:
            return True
        if any(w.isdigit() for w in words[max(0, i - 2) : i + 3]):
            return True
    return False


def has_count(text: str, question: Question, glossary: Glossary | None = None, same_lang: bool = True) -> bool:
    """A number that is not a year, a date's day, a clock time or one the question gives, next to what the
    question counts when it says ("how many soldiers …": a number of soldiers, not of wounded or of days)."""
    folded = fold_digits(text)
    for match in _NUMBER.finditer(folded):
        value = match.group(0)
        plain = value.replace(",", "")
        if _YEAR.fullmatch(value) or plain in question.numbers or value in question.numbers:
            continue
        after = folded[match.end() : match.end() + 12].lower()
        before = folded[max(0, match.start() - 12) : match.start()].lower()
        if re.match(r"\s*[:]\d", after) or re.search(r"\d[:]\s*$", before):
            continue  # a clock time
        if set(tokens(after + " " + before)) & MONTH_TOKENS:
            continue  # a date's day
        window = folded[max(0, match.start() - COUNT_WINDOW) : match.end() + COUNT_WINDOW]
        if _counts_asked(window, question, glossary, same_lang):
            return True
    words = _words(text)
    for i, word in enumerate(words):
        window = " ".join(words[max(0, i - 5) : i + 6])
        if word in _NUMBER_WORDS and _counts_asked(window, question, glossary, same_lang):
            return True
    return False


def _counts_asked(window: str, question: Question, glossary: Glossary | None, same_lang: bool) -> bool:
    """The counted thing is named next to the number: every glossary term it is ("wounded soldiers": both), or,
    with none, one of its words. In the other language only glossary terms and shared names can be found, so a
    count whose thing the glossary does not know is not taken from a sentence in the other language."""
    terms = {c for c in question.counted if c in _TERM_IDS}
    if not question.counted:
        return True
    found = stems(window)
    if glossary is not None:
        found = found | {e.id for e in glossary.find(window)}
    return terms <= found if terms else bool(found & question.counted)


def _has_actor(text: str, question: Question, glossary: Glossary) -> bool:
    found = {e.id for e in glossary.find(text) if e.type in ("person", "org", "outlet")} - question.entities
    if found or set(_words(text)) & _ROLES:
        return True
    return _has_new_name(text, question)


def _has_place(text: str, question: Question, glossary: Glossary) -> bool:
    found = {e.id for e in glossary.find(text) if e.type == "place"} - question.entities
    if found or set(_words(text)) & _PLACE_WORDS:
        return True
    return _has_new_name(text, question)


def _has_new_name(text: str, question: Question) -> bool:
    """A capitalised word that is not the question's, a weekday, a month or a nationality/place of the glossary."""
    asked = _not_names(question.text)
    return any(tokens(name)[0] not in asked for name in _NAME.findall(text) if tokens(name))


@lru_cache(maxsize=1_000)
def _not_names(question: str) -> frozenset[str]:
    return frozenset(tokens(question)) | _WEEKDAYS | MONTH_TOKENS | _PLACE_NAMES


_TERM_IDS = frozenset(e.id for e in default_glossary().entities if e.type == "term")
_PLACE_NAMES = frozenset(
    t for e in default_glossary().entities if e.type == "place" for name in e.en for t in tokens(name)[:1]
)


@lru_cache(maxsize=50_000)
def _words(text: str) -> tuple[str, ...]:
    return tuple(tokens(text))
