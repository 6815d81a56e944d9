"""Dates and datelines of wire copy: who reported a story and when, from the first line of its body."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import dateparser
from dateparser.search import search_dates

from .glossary import Glossary, default_glossary
from .textnorm import fold_digits

# dateparser knows the Egyptian/Gulf month names but not the Levantine ones (see FACTS.md).
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
    place: str = ""

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
_PLACE_DATE_OUTLET = re.compile(rf"^\s*([^()\n]{{2,100}}?)\s*\(([^()\n]{{2,60}})\)\s*{_DASH}?")
# "YEREVAN, November 17, 2021 /ARMENPRESS/."
_SLASH_OUTLET = re.compile(r"^\s*([^/\n]{2,100}?)\s*/([^/\n]{2,40})/")
# "يريفان - 17 نوفمبر 2021 -" with no outlet
_PLACE_DASH = re.compile(rf"^\s*([^\n]{{2,80}}?)\s+{_DASH}\s")


def _split_outlets(text: str, glossary: Glossary) -> list[str]:
    parts = [p.strip(" .،,") for p in re.split(r"\s*/\s*|\s*[،,]\s*|\s+و(?=\S)", text) if p.strip(" .،,")]
    outlets = []
    for part in parts:
        entity = glossary.outlet(part)
        outlets.append(entity.en[0] if entity else part)
    return outlets


def _looks_like_outlets(text: str, glossary: Glossary) -> bool:
    return any(glossary.outlet(part) for part in re.split(r"\s*/\s*|\s*[،,]\s*", text)) or (
        len(text) <= 40 and not re.search(r"\d", text)
    )


def parse_dateline(body: str, reference: datetime | None = None, glossary: Glossary | None = None) -> Dateline:
    """Outlets and date from the dateline that opens `body`; an empty Dateline when there is none."""
    glossary = glossary or default_glossary()
    head = body.lstrip()[:240]

    if match := _PAREN_FIRST.match(head):
        inner = match.group(1)
        pieces = re.split(rf"\s+{_DASH}\s+", inner, maxsplit=1)
        if len(pieces) == 2:
            outlet_text, date_text = pieces
            when = parse_date(date_text, reference)
            if when is None:  # "(17 نوفمبر 2021 - Outlet)"
                date_text, outlet_text = pieces
                when = parse_date(date_text, reference)
            return Dateline(_split_outlets(outlet_text, glossary), when)
        when = parse_date(inner, reference)
        if when is None and _looks_like_outlets(inner, glossary):
            return Dateline(_split_outlets(inner, glossary), None)
        return Dateline([], when)

    for pattern in (_PLACE_DATE_OUTLET, _SLASH_OUTLET):
        match = pattern.match(head)
        if match and _looks_like_outlets(match.group(2), glossary):
            place_date = match.group(1)
            pieces = re.split(rf"\s*[,،]\s*|\s+{_DASH}\s+", place_date, maxsplit=1)
            place = pieces[0].strip()
            when = parse_date(pieces[1], reference) if len(pieces) > 1 else None
            return Dateline(_split_outlets(match.group(2), glossary), when, place)

    if match := _PLACE_DASH.match(head):
        pieces = re.split(rf"\s*[,،]\s*|\s+{_DASH}\s+", match.group(1), maxsplit=1)
        if len(pieces) == 2 and (when := parse_date(pieces[1], reference)):
            return Dateline([], when, pieces[0].strip())
        if len(pieces[0].split()) <= 3 and (when := parse_date(head[match.end() : match.end() + 40], reference)):
            return Dateline([], when, pieces[0].strip())
    return Dateline()
