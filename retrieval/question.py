"""What a question asks: the kind of answer it wants, what it is about, and the period it names.

On a store where every sentence is about one war, similarity always finds something; an answer must carry the asked
thing (a date for "when", a number for "how many" …) about the asked focus. Hand-written patterns because no
offline question classifier exists for Arabic and English, and these few question words are a closed set.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from .glossary import Glossary
from .lang import detect_lang
from .textnorm import normalize, stem, tokens


# What a question asks for. Only some kinds can be checked in a sentence (see `typed`).
class Kind(StrEnum):
    WHEN = "when"
    TIME = "time"
    COUNT = "count"
    WHO = "who"
    WHERE = "where"
    WHY = "why"
    YESNO = "yesno"
    WHAT = "what"


WHEN, TIME, COUNT, WHO, WHERE, WHY, YESNO, WHAT = Kind  # short names for the pattern tables below
TYPED = frozenset({WHEN, TIME, COUNT, WHO, WHERE})
UNVERIFIABLE = 0.5  # the credit given to a word that cannot be looked for in the other language
NUMBER_WEIGHT = 2.0  # a number the question gives ("the 207 soldiers") is as telling as a rare word

_EN_KINDS: list[tuple[Kind, re.Pattern]] = [
    (TIME, re.compile(r"\b(what|which) time\b|\bat what hour\b|\bwhat hour\b")),
    (
        COUNT,
        re.compile(
            r"\bhow (many|much|long|old|far|large|big|high|often)\b|\bwhat (number|percentage|share|proportion|"
            r"amount|sum|total|size|toll)\b|\b(death|casualty) toll\b|\bwhat (is|was|were) the (number|toll|total|"
            r"size|population|amount|cost|price|percentage|share)\b"
        ),
    ),
    (
        WHEN,
        re.compile(
            r"^(and |so |but )?when\b|\b(since|until|till) when\b|\b(what|which) (date|day|year|month|week)\b|"
            r"\bin what (year|month)\b|\bon what (date|day)\b|\bhow long ago\b"
        ),
    ),
    (
        WHERE,
        re.compile(
            r"^(and |so |but )?where\b|\bfrom where\b|\b(what|which) (place|city|town|village|region|province|area|"
            r"location|district|country|countries)\b"
        ),
    ),
    (
        WHO,
        re.compile(
            r"^(and |so |but )?(who|whom|whose)\b|\bby whom\b|\b(what|which) (person|official|officials|leader|"
            r"leaders|minister|president|side|party|group|organi[sz]ation|company|agency|mediator|outlet|body|"
            r"government|commander)\b|\bwho (is|was|were|are|did|does|has|have|had|will|would|said|led|leads)\b"
        ),
    ),
    (WHY, re.compile(r"^(and |so |but )?why\b|\bfor what reason\b|\bwhat (caused|prompted|led to|triggered)\b")),
    (YESNO, re.compile(r"^(is|are|was|were|did|does|do|has|have|had|can|could|will|would|should)\b")),
]
# Arabic, on normalised text (أ/إ/آ → ا, ى → ي, ة → ه).
_AR_KINDS: list[tuple[Kind, re.Pattern]] = [
    (TIME, re.compile(r"(في |عند )?(اي|ايه) (ساعه|توقيت)|\bما (الساعه|التوقيت)\b|\bمتي .*\bالساعه\b")),
    (
        COUNT,
        re.compile(
            r"(^|\s)(و|ف|ل|ب)?كم(\s|$)|\b(ما|ماهو|ما هو|ما هي|كم) (عدد|حجم|نسبه|مقدار|قيمه|حصيله|مساحه|طول|مده|عمر)\b|"
            r"^عدد\b"
        ),
    ),
    (
        WHEN,
        re.compile(
            r"(^|\s)(و|ف)?متي(\s|$)|\b(في|منذ) (اي|ايه) (عام|سنه|يوم|شهر|تاريخ|وقت)\b|"
            r"\b(ما|ما هو|ماهو) (تاريخ|موعد)\b|\bمنذ متي\b"
        ),
    ),
    (
        WHERE,
        re.compile(
            r"(^|\s)(و|ف)?(اين|اين)(\s|$)|\b(الي|من) اين\b|\b(في|الي|من)? ?(اي|ايه) (مدينه|بلده|قريه|منطقه|دوله|مكان|"
            r"اقليم|محافظه|بلد)\b"
        ),
    ),
    (
        WHO,
        re.compile(
            r"^(و|ف)?(من|مَن) (هو|هي|هم|الذي|التي|الذين|قاد|قال|اعلن|يقود|كان|كانت|وقع|اتهم|تولي|ترأس|ترأس)\b|"
            r"^(و|ف)?من [^ ]+(؟|\?)?$|\b(اي|ايه|ما) (دوله|جهه|طرف|شخص|مسؤول|زعيم|رئيس|وزير|حزب|منظمه|وكاله|"
            r"الدوله|الجهه|الطرف)\b|\bما اسم\b|^(و|ف)?من\b(?! اين)"
        ),
    ),
    (WHY, re.compile(r"^(و|ف)?(لماذا|لم)\b|\b(ما|ما هو|ماهو) (سبب|السبب|الذي دفع)\b")),
    (YESNO, re.compile(r"^(و|ف)?هل\b")),
]

# Words that only frame the question; they say nothing about what it is about.
_FRAME = frozenset(
    normalize(w)
    for w in """happen happened happens take took taken place occur occurred according report reported say said
    tell told do did done make made get got give gave many much long time date day year month number which what
    when where who whom whose why how kind type way know known called name named mean meant according between
    among during against within without under upon onto toward towards regarding concerning including
    حدث يحدث جرى تم يتم وقع عدد كم متى اين اين من ما ماذا لماذا كيف هل اي ايه ذكر ذكرت قيل يقال اسم تاريخ
    الساعه ساعه وفق وفقا بحسب حسب""".split()  # noqa: SIM905 - a word list reads better as text
)

_EN_MONTHS = [
    ("january", "jan"),
    ("february", "feb"),
    ("march", "mar"),
    ("april", "apr"),
    ("may",),
    ("june", "jun"),
    ("july", "jul"),
    ("august", "aug"),
    ("september", "sept", "sep"),
    ("october", "oct"),
    ("november", "nov"),
    ("december", "dec"),
]
_AR_MONTHS = [
    ("يناير", "كانون الثاني"),
    ("فبراير", "شباط"),
    ("مارس", "اذار"),
    ("ابريل", "نيسان"),
    ("مايو", "ايار"),
    ("يونيو", "حزيران"),
    ("يوليو", "تموز"),
    ("اغسطس", "اب"),
    ("سبتمبر", "ايلول"),
    ("اكتوبر", "تشرين الاول"),
    ("نوفمبر", "تشرين الثاني"),
    ("ديسمبر", "كانون الاول"),
]
MONTH_OF: dict[str, int] = {}
for _number, _names in enumerate(_EN_MONTHS, 1):
    MONTH_OF.update({name: _number for name in _names})
for _number, _names in enumerate(_AR_MONTHS, 1):
    MONTH_OF.update({normalize(name): _number for name in _names})
# "الثاني"/"الأول" of the Levantine names also mean "second"/"first": only the distinctive word marks a month.
MONTH_TOKENS = frozenset(t for name in MONTH_OF for t in tokens(name)) - {"ثاني", "اول"}
_MONTH_ALT = "|".join(sorted(map(re.escape, MONTH_OF), key=len, reverse=True))
# "16 November 2021", "November 16, 2021", "November 2021", "في أكتوبر 2020", "تشرين الثاني/نوفمبر 2020", "2022".
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})\s+(?:{_MONTH_ALT})(?:\s*/\s*(?:{_MONTH_ALT}))?\s*,?\s+((?:19|20)\d\d)\b")
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b")
_MONTH_YEAR = re.compile(rf"\b({_MONTH_ALT})\.?(?:\s*/\s*(?:{_MONTH_ALT}))?\s*,?\s+(?:of\s+)?((?:19|20)\d\d)\b")
_YEAR = re.compile(r"(?<![\d.,])((?:19|20)\d\d)(?![\d.,])")


@dataclass(frozen=True)
class Period:
    """A stretch of days a question names ("in September 2022"): reports dated inside it, or soon after, fit."""

    start: date
    end: date

    def distance(self, day: date) -> int:
        """Days from the period to `day`; 0 inside it, negative before it."""
        if day < self.start:
            return (day - self.start).days
        return max(0, (day - self.end).days)


@dataclass
class Question:
    text: str
    lang: str
    asks: Kind
    entities: frozenset[str]  # glossary ids, outlets excluded
    terms: dict[str, float]  # stems of its other content words → weight (rarer in the store weighs more)
    numbers: frozenset[str]  # numbers the question itself gives (never the answer to it)
    period: Period | None = None
    entity_weights: dict[str, float] = field(default_factory=dict)
    counted: frozenset[str] = frozenset()  # what "how many" counts: stems, and glossary ids of terms

    @property
    def typed(self) -> bool:
        return self.asks in TYPED

    @property
    def focus_weight(self) -> float:
        return sum(self.terms.values()) + sum(self.entity_weights.values())


def question_kind(text: str, lang: str | None = None) -> Kind:
    lang = lang or detect_lang(text) or "en"
    folded = " ".join(normalize(text).replace("؟", " ").replace("?", " ").split())
    for kind, pattern in _AR_KINDS if lang == "ar" else _EN_KINDS:
        if pattern.search(folded):
            return kind
    return WHAT


def find_period(text: str) -> Period | None:
    """The most precise date or period the text names, if any."""
    folded = normalize(text).replace("،", ",")
    if match := _DAY_MONTH_YEAR.search(folded):
        month = _month(match.group(0))
        if month:
            day = _safe_date(int(match.group(2)), month, int(match.group(1)))
            if day:
                return Period(day, day)
    if match := _MONTH_DAY_YEAR.search(folded):
        day = _safe_date(int(match.group(3)), MONTH_OF[match.group(1)], int(match.group(2)))
        if day:
            return Period(day, day)
    if match := _MONTH_YEAR.search(folded):
        year, month = int(match.group(2)), _month(match.group(0))
        if month:
            return Period(date(year, month, 1), _month_end(year, month))
    years = _YEAR.findall(folded)
    if len(years) == 1:
        year = int(years[0])
        return Period(date(year, 1, 1), date(year, 12, 31))
    return None


def analyse(
    text: str, glossary: Glossary, document_frequency: Callable[[Iterable[str]], tuple[dict[str, int], int]]
) -> Question:
    """`document_frequency(terms)` gives each term's number of passages in the store and the number of passages."""
    lang = detect_lang(text) or "en"
    found = [e for e in glossary.find(text) if e.type != "outlet"]
    covered = {t for e in found for name in e.names for t in tokens(name)}
    period = find_period(text)
    content = [
        t for t in tokens(text, drop_stopwords=True) if t not in covered and t not in _FRAME and t not in MONTH_TOKENS
    ]
    numbers = frozenset(t for t in content if t.isdigit())
    terms = [t for t in dict.fromkeys(content) if not t.isdigit() and len(t) > 1]
    entity_tokens = {e.id: [t for name in e.names for t in tokens(name)[:1]] for e in found}
    df, n = document_frequency(terms + [t for ts in entity_tokens.values() for t in ts])
    weights: dict[str, float] = {}
    for t in terms:  # looked for by stem; a stem weighs as much as its rarest form in the question
        weights[stem(t)] = max(weights.get(stem(t), 0.0), _idf(df.get(t, 0), n))
    # An entity is as rare as its most frequent name: "Armenia" in a store about Armenia weighs little.
    entity_weights = {eid: _idf(max((df.get(t, 0) for t in ts), default=0), n) for eid, ts in entity_tokens.items()}
    asks = question_kind(text, lang)
    return Question(
        text=text,
        lang=lang,
        asks=asks,
        counted=_counted(text, lang, covered, glossary) if asks == COUNT else frozenset(),
        entities=frozenset(entity_weights),
        terms=weights,
        numbers=numbers - {y for y in numbers if _YEAR.fullmatch(y)} if period else numbers,
        period=period,
        entity_weights=entity_weights,
    )


# Only things that are counted ("how many soldiers") name what the number must stand next to; "how much land" is
# answered in square kilometres, "how long" in days. A death toll counts the dead.
_COUNT_OPENER = {
    "en": re.compile(r"\bhow many\s+(.*)|\bnumber of\s+(.*)"),
    "ar": re.compile(r"(?:^|\s)(?:و|ف|ل|ب)?(?:كم|عدد)\s+(.*)"),
}
_TOLL = re.compile(r"\b(?:death|casualty) toll\b|\bحصيله\b")


def _counted(text: str, lang: str, names: set[str], glossary: Glossary) -> frozenset[str]:
    """The thing a "how many" question counts: the words right after "how many" / «كم» that are not names, and
    the glossary terms among them ("soldiers", «الجرحى») so that it crosses languages: a number is only an answer
    next to what was asked to be counted."""
    folded = " ".join(normalize(text).replace("؟", " ").replace("?", " ").split())
    if _TOLL.search(folded):
        return frozenset({"casualties"})
    match = _COUNT_OPENER["ar" if lang == "ar" else "en"].search(folded)
    if not match:
        return frozenset()
    after = " ".join(next((g for g in match.groups() if g), "").split()[:4])
    words = [t for t in tokens(after, drop_stopwords=True) if t not in _FRAME and t not in names and not t.isdigit()]
    terms = {e.id for e in glossary.find(after) if e.type == "term"}
    return frozenset({stem(w) for w in words[:2]} | terms)


def _idf(df: int, n: int) -> float:
    """Smoothed inverse document frequency, floored so a word in every passage still counts a little."""
    return max(0.1, math.log((n + 1) / (df + 0.5)))


def _month(text: str) -> int | None:
    for name in sorted(MONTH_OF, key=len, reverse=True):
        if re.search(rf"\b{re.escape(name)}\b", text):
            return MONTH_OF[name]
    return None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def focus_coverage(
    question: Question,
    words: frozenset[str],
    entities: frozenset[str],
    same_lang: bool = True,
    unverifiable: float = UNVERIFIABLE,
) -> float:
    """The weighted share of the question's entities, rare words and numbers that a text (its `stems`) holds.

    Entities (through the glossary) and numbers cross languages; other words cannot be checked in a text of the other
    language, so there they count as half found: unknown, neither evidence for nor against."""
    total = question.focus_weight + NUMBER_WEIGHT * len(question.numbers)
    if total == 0:
        return 0.0
    if same_lang:
        found = sum(w for t, w in question.terms.items() if t in words)
    else:
        found = sum(w if t in words else unverifiable * w for t, w in question.terms.items())
    found += sum(w for e, w in question.entity_weights.items() if e in entities)
    found += sum(NUMBER_WEIGHT for n in question.numbers if n in words)
    return found / total


def term_share(question: Question, words: frozenset[str]) -> float:
    """The weighted share of the question's words (not its entities or numbers) that a text holds."""
    total = sum(question.terms.values())
    return sum(w for t, w in question.terms.items() if t in words) / total if total else 0.0


def date_fit(question: Question, published: date | None) -> float:
    """+1 when the report is dated in the asked period or within a week after it; -1 when it was written before."""
    if question.period is None or not published:
        return 0.0
    distance = question.period.distance(published)
    if distance < -1:
        return -1.0
    if distance <= 7:
        return 1.0
    return 0.0 if distance <= 90 else -0.5
