"""Dates and datelines of wire copy: who reported a story and when, from the first line of its body."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import dateparser
from dateparser.search import search_dates

from .glossary import Glossary, default_glossary
from .textnorm import fold_digits

# dateparser knows the Egyptian/Gulf month names (نوفمبر) but not the Levantine ones (تشرين الثاني): mapped here.
_LEVANTINE = {
    "كانون الثاني": "يناير",
    "شباط": "فبراير",
    "آذار": "مارس",
    "اذار": "مارس",
    "نيسان": "أبريل",
    "أيار": "مايو",
    "ايار": "مايو",
    "حزيران": "يونيو",
    "تموز": "يوليو",
    "آب": "أغسطس",
    "اب": "أغسطس",
    "أيلول": "سبتمبر",
    "ايلول": "سبتمبر",
    "تشرين الأول": "أكتوبر",
    "تشرين الاول": "أكتوبر",
    "تشرين الثاني": "نوفمبر",
    "كانون الأول": "ديسمبر",
    "كانون الاول": "ديسمبر",
}
_LEVANTINE_NAMES = "|".join(sorted(map(re.escape, _LEVANTINE), key=len, reverse=True))
_LEVANTINE_RE = re.compile(rf"(?<!\w)({_LEVANTINE_NAMES})(?!\w)")
# "تشرين الثاني/نوفمبر": the name after the slash is the standard one, keep it.
_DOUBLE_MONTH_RE = re.compile(rf"(?<!\w)(?:{_LEVANTINE_NAMES})\s*/\s*")
_YEAR_SUFFIX_RE = re.compile(r"(\d{4})\s*[ءم](?!\w)")  # "2021ء" (Urdu), "2021م" (AD)
_SETTINGS = {"PREFER_DATES_FROM": "past", "PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False}
_LANGS = ["ar", "en"]


def clean_date_text(text: str) -> str:
    text = fold_digits(text)
    text = _DOUBLE_MONTH_RE.sub("", text)
    text = _LEVANTINE_RE.sub(lambda m: _LEVANTINE[m.group(1)], text)
    return _YEAR_SUFFIX_RE.sub(r"\1", text)


def parse_date(text: str, reference: datetime | None = None) -> date | None:
    """A date from a date string or a dateline fragment; a missing year is the latest one not after `reference`."""
    if not text or not text.strip():
        return None
    cleaned = clean_date_text(text.strip())
    settings = dict(_SETTINGS, RELATIVE_BASE=reference or datetime.now())
    parsed = dateparser.parse(cleaned, languages=_LANGS, settings=settings)
    if parsed is None:
        found = search_dates(cleaned, languages=_LANGS, settings=settings) or []
        # Only fragments with digits: "today"/"اليوم" inside a dateline is not a date we can trust.
        found = [(frag, value) for frag, value in found if re.search(r"\d", frag)]
        if not found:
            return None
        parsed = found[0][1]
    return parsed.date()


@dataclass
class Dateline:
    outlets: list[str] = field(default_factory=list)  # republisher(s) first, originating outlet last
    published: date | None = None
    end: int = 0  # where the body goes on after the dateline (and its dash); 0 when there is none

    @property
    def source(self) -> str:
        return self.outlets[-1] if self.outlets else ""

    @property
    def via(self) -> str:
        return " / ".join(self.outlets[:-1])


_DASH = r"[-–—]"
# "(Outlet / Outlet - 17 نوفمبر 2021ء) ..."
_PAREN_FIRST = re.compile(r"^\s*\(([^()]{3,160})\)")
# "MOSCOW, Nov 17 (Reuters) -" and "يريفان - 17 نوفمبر 2021 (رويترز) -"
_PLACE_DATE_OUTLET = re.compile(r"^\s*([^()\n]{2,100}?)\s*\(([^()\n]{2,60})\)")
# "YEREVAN, November 17, 2021 /ARMENPRESS/."
_SLASH_OUTLET = re.compile(r"^\s*([^/\n]{2,100}?)\s*/([^/\n]{2,40})/\.?")
# "يريفان - 17 نوفمبر 2021 -" with no outlet
_PLACE_DASH = re.compile(rf"^\s*([^\n]{{2,80}}?)\s+{_DASH}\s")
# "YEREVAN, AUGUST 11, ARMENPRESS.", "Baku, August 11, AZERTAC.", "YEREVAN, August 11, 2025." (a day and a month
# name, not any text that holds a date: "Pashinyan, who took office in May 2018, said" is prose)
_DAY_MONTH = r"(?:\d{1,2}\s+[^\W\d_]{3,12}\.?(?:\s+\d{4})?|[^\W\d_]{3,12}\.?\s+\d{1,2}(?:,?\s+\d{4})?)"
_PLACE_DAY_DOT = re.compile(
    rf"^\s*([^\W\d_][^\n,،.()]{{1,40}}?)\s*[,،]\s*({_DAY_MONTH})(?:\s*[,،]\s*([^\W\d_][^\n,،.()]{{1,30}}?))?\.(?=\s|$)"
)
_DASH_AFTER = re.compile(rf"\s*{_DASH}(?=\s|$)")
_GAP_AFTER = re.compile(r"[\s.:]*")
MAX_PLACE_WORDS = 3  # "MOSCOW", "NEW YORK", "ستيباناكيرت": a dateline's place is a city, not a clause


def _split_outlets(text: str, glossary: Glossary) -> list[str]:
    parts = [p.strip(" .،,") for p in re.split(r"\s*/\s*|\s*[،,]\s*|\s+و(?=\S)", text) if p.strip(" .،,")]
    outlets = []
    for part in parts:
        entity = glossary.outlet(part)
        outlets.append(entity.en[0] if entity else part)
    return outlets


def _known_outlet(text: str, glossary: Glossary) -> bool:
    return any(glossary.outlet(part) for part in re.split(r"\s*/\s*|\s*[،,]\s*", text))


def _looks_like_outlets(text: str, glossary: Glossary) -> bool:
    return _known_outlet(text, glossary) or (len(text) <= 40 and not re.search(r"\d", text))


def _after(head: str, position: int) -> int:
    """Where the body goes on after a dateline ending at `position`: past its dash (if any) and spacing."""
    if dash := _DASH_AFTER.match(head, position):
        position = dash.end()
    gap = _GAP_AFTER.match(head, position)  # matches the empty string: never None
    return gap.end() if gap else position


def _dashed(head: str, position: int) -> int | None:
    """Like `_after`, for a dateline that needs a dash after it: None when there is none."""
    return _after(head, position) if _DASH_AFTER.match(head, position) else None


def parse_dateline(body: str, reference: datetime | None = None, glossary: Glossary | None = None) -> Dateline:
    """Outlets and date from the dateline that opens `body`; an empty Dateline when there is none.

    Only the shapes of a dateline count: a parenthesis opening the body that holds a date or a known outlet (or is
    followed by a dash), "PLACE, date (Outlet) -", "PLACE, date /OUTLET/", "PLACE - date -". A parenthesis inside
    a sentence ("The consumer price index (CPI) rose") is not one."""
    glossary = glossary or default_glossary()
    lead = len(body) - len(body.lstrip())
    head = body[lead : lead + 240]

    if match := _PAREN_FIRST.match(head):
        inner = match.group(1)
        end = _after(head, match.end())
        pieces = re.split(rf"\s+{_DASH}\s+", inner, maxsplit=1)
        if len(pieces) == 2:
            for outlet_text, date_text in (pieces, pieces[::-1]):  # "(Outlet - date)" or "(date - Outlet)"
                if when := parse_date(date_text, reference):
                    return Dateline(_split_outlets(outlet_text, glossary), when, end=lead + end)
        if when := parse_date(inner, reference):
            return Dateline([], when, end=lead + end)
        dashed = _dashed(head, match.end())
        if _known_outlet(inner, glossary) or (dashed is not None and _looks_like_outlets(inner, glossary)):
            return Dateline(_split_outlets(inner, glossary), None, end=lead + end)
        return Dateline()

    for pattern in (_PLACE_DATE_OUTLET, _SLASH_OUTLET):
        match = pattern.match(head)
        if not match:
            continue
        outlet_text = match.group(2)
        pieces = re.split(rf"\s*[,،]\s*|\s+{_DASH}\s+", match.group(1), maxsplit=1)
        place = pieces[0].strip()
        when = parse_date(pieces[1], reference) if len(pieces) > 1 else None
        known = _known_outlet(outlet_text, glossary)
        dashed = _dashed(head, match.end())
        if len(place.split()) > MAX_PLACE_WORDS or (len(pieces) > 1 and when is None):
            continue
        if pattern is _PLACE_DATE_OUTLET and not known and dashed is None:
            continue  # "PLACE (Outlet)" with no dash after it and an outlet no one knows: a parenthesis in prose
        if not (known or when or place.isupper()) or not _looks_like_outlets(outlet_text, glossary):
            continue
        end = _after(head, match.end())
        return Dateline(_split_outlets(outlet_text, glossary), when, end=lead + end)

    if match := _PLACE_DAY_DOT.match(head):
        place, outlet_text = match.group(1).strip(), match.group(3)
        when = parse_date(match.group(2), reference)
        plausible = outlet_text is not None and _looks_like_outlets(outlet_text, glossary)
        if when and len(place.split()) <= MAX_PLACE_WORDS and (plausible or place.isupper()):
            outlets = _split_outlets(outlet_text, glossary) if outlet_text and plausible else []
            return Dateline(outlets, when, end=lead + _after(head, match.end()))

    if match := _PLACE_DASH.match(head):
        pieces = re.split(rf"\s*[,،]\s*|\s+{_DASH}\s+", match.group(1), maxsplit=1)
        if len(pieces) == 2 and (when := parse_date(pieces[1], reference)):
            return Dateline([], when, end=lead + match.end())
        if len(pieces[0].split()) <= MAX_PLACE_WORDS:
            # "باكو - 17 نوفمبر 2021 - أعلنت": the date stands between two dashes
            second = re.compile(rf"([^\n]{{2,40}}?)\s+{_DASH}\s").match(head, match.end())
            if second and (when := parse_date(second.group(1), reference)):
                return Dateline([], when, end=lead + second.end())
    return Dateline()


def strip_dateline(text: str, glossary: Glossary | None = None) -> str:
    """`text` without the dateline that opens it: in a quote, who reported and when are already in the attribution."""
    dateline = parse_dateline(text, glossary=glossary)
    return text[dateline.end :].lstrip() if dateline.end else text
