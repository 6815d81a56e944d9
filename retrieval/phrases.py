"""Every fixed phrase a reader sees, in Arabic and English, and dates and outlet names in the reader's language."""

from __future__ import annotations

from datetime import date

from .glossary import default_glossary

PHRASES: dict[str, dict[str, str]] = {
    "according_to": {
        "en": "According to {outlet} ({date}) [{n}]: {quote}",
        "ar": "بحسب {outlet} ({date}) [{n}]: {quote}",
    },
    "according_to_undated": {"en": "According to {outlet} [{n}]: {quote}", "ar": "بحسب {outlet} [{n}]: {quote}"},
    "other_language_source": {"en": "(Arabic source)", "ar": "(مصدر باللغة الإنجليزية)"},
    "figures_differ": {
        "en": "Outlets give different figures:",
        "ar": "تختلف الأرقام بين وسائل الإعلام:",
    },
    "not_answered": {
        "en": "I could not find an answer to this in the articles I have. I will not guess about it.",
        "ar": "لم أجد إجابة عن هذا السؤال في المقالات المتوفرة لدي، ولن أخمّن.",
    },
    "closest_sources": {"en": "The closest articles I have:", "ar": "أقرب المقالات المتوفرة لدي:"},
    "llm_fallback": {
        "en": "The language model was unavailable, so this answer quotes the sources directly.",
        "ar": "تعذّر الوصول إلى النموذج اللغوي، لذا تقتبس هذه الإجابة المصادر مباشرة.",
    },
    "sources": {"en": "Sources", "ar": "المصادر"},
    "unknown_outlet": {"en": "an unnamed outlet", "ar": "مصدر غير مسمّى"},
    "undated": {"en": "undated", "ar": "غير مؤرخ"},
    "empty_question": {"en": "Please ask a question.", "ar": "من فضلك اكتب سؤالك."},
    "question_too_long": {
        "en": "That question is too long ({length} characters). Please keep it under {limit}.",
        "ar": "السؤال طويل جدًا ({length} حرفًا). من فضلك اجعله أقل من {limit} حرف.",
    },
    "chat_welcome": {
        "en": "Caucasus Brief. Ask about the Armenia–Azerbaijan conflict in English or Arabic. /help for commands.",
        "ar": "موجز القوقاز. اسأل عن النزاع بين أرمينيا وأذربيجان بالعربية أو الإنجليزية. /help للأوامر.",
    },
    "chat_help": {
        "en": "Ask a question; a follow-up uses the previous answer. /lang ar|en sets the answer language, "
        "/sources shows the quoted sentences of the last answer, /quit leaves.",
        "ar": "اكتب سؤالك؛ السؤال التالي يُفهم في ضوء الإجابة السابقة. /lang ar|en لاختيار لغة الإجابة، "
        "/sources لعرض الجمل المقتبسة في آخر إجابة، /quit للخروج.",
    },
    "lang_set": {"en": "Answers will be in English.", "ar": "ستكون الإجابات بالعربية."},
    "lang_usage": {"en": "Use /lang ar or /lang en.", "ar": "استخدم ‎/lang ar أو ‎/lang en."},
    "no_sources_yet": {"en": "No answer with sources yet.", "ar": "لا توجد إجابة بمصادر بعد."},
    "store_empty": {
        "en": "No articles have been ingested yet.",
        "ar": "لم تتم إضافة أي مقالات بعد.",
    },
}

_MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "ar": [
        "يناير",
        "فبراير",
        "مارس",
        "أبريل",
        "مايو",
        "يونيو",
        "يوليو",
        "أغسطس",
        "سبتمبر",
        "أكتوبر",
        "نوفمبر",
        "ديسمبر",
    ],
}


def phrase(key: str, lang: str, **values: object) -> str:
    text = PHRASES[key]["ar" if lang == "ar" else "en"]
    return text.format(**values) if values else text


def render_date(value: str | date | None, lang: str) -> str:
    """ "17 Nov 2021" / "17 نوفمبر 2021"; the undated phrase when there is no date."""
    if not value:
        return phrase("undated", lang)
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.day} {_MONTHS['ar' if lang == 'ar' else 'en'][day.month - 1]} {day.year}"


def render_outlet(name: str, lang: str) -> str:
    """The outlet's name in the reader's language when the glossary knows it, else as the source wrote it."""
    if not name:
        return phrase("unknown_outlet", lang)
    entity = default_glossary().outlet(name)
    return entity.name(lang) if entity else name
