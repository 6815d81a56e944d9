"""Every fixed phrase a reader sees, in Arabic and English, and dates and outlet names in the reader's language."""

from __future__ import annotations

from datetime import date

from .datelines import strip_dateline
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
    "not_said_when": {
        "en": "The articles I have do not say when this happened.",
        "ar": "لا تذكر المقالات المتوفرة لدي متى حدث ذلك.",
    },
    "not_said_time": {
        "en": "The articles I have do not give the time of this.",
        "ar": "لا تذكر المقالات المتوفرة لدي توقيت ذلك.",
    },
    "not_said_count": {
        "en": "The articles I have do not give this figure.",
        "ar": "لا تذكر المقالات المتوفرة لدي هذا الرقم.",
    },
    "not_said_who": {
        "en": "The articles I have do not say who this was.",
        "ar": "لا تذكر المقالات المتوفرة لدي من كان ذلك.",
    },
    "not_said_where": {
        "en": "The articles I have do not say where this happened.",
        "ar": "لا تذكر المقالات المتوفرة لدي أين حدث ذلك.",
    },
    "closest_sources": {"en": "The closest articles I have:", "ar": "أقرب المقالات المتوفرة لدي:"},
    "llm_failed": {
        "en": "The generated answer failed, so this answer quotes the sources directly.",
        "ar": "تعذّر إنشاء الإجابة، لذا تقتبس هذه الإجابة المصادر مباشرة.",
    },
    "llm_fallback": {
        "en": "The language model was unavailable, so this answer quotes the sources directly.",
        "ar": "تعذّر الوصول إلى النموذج اللغوي، لذا تقتبس هذه الإجابة المصادر مباشرة.",
    },
    "sources": {"en": "Sources", "ar": "المصادر"},
    "unknown_outlet": {"en": "an unnamed outlet", "ar": "مصدر غير مسمّى"},
    "undated": {"en": "undated", "ar": "غير مؤرخ"},
    "empty_question": {"en": "Please ask a question.", "ar": "من فضلك اكتب سؤالك."},
    "nothing_new": {
        "en": "I found nothing about this beyond my previous answer.",
        "ar": "لم أجد شيئًا عن هذا يتجاوز إجابتي السابقة.",
    },
    "question_too_long": {
        "en": "That question is too long ({length} characters). Please keep it under {limit}.",
        "ar": "السؤال طويل جدًا ({length} حرفًا). من فضلك اجعله أقل من {limit} حرف.",
    },
    "chat_welcome": {
        "en": "Caucasus Brief. Ask about the Armenia–Azerbaijan conflict in English or Arabic. /help for commands.",
        "ar": "موجز القوقاز. اسأل عن النزاع بين أرمينيا وأذربيجان بالعربية أو الإنجليزية. /help للأوامر.",
    },
    "chat_help": {
        "en": "Ask a question; the next one is read as a follow-up of the last answer. /lang ar|en sets the "
        "answer language, /quotes shows the sentences the last answer quotes, /sources what is in the store, "
        "/about how it works, /quit leaves.",
        "ar": "اكتب سؤالك؛ السؤال التالي يُقرأ متابعةً لآخر إجابة. ‎/lang ar|en لاختيار لغة الإجابة، ‎/quotes "
        "لعرض الجمل التي اقتبستها آخر إجابة، ‎/sources لما في المخزن، ‎/about لطريقة العمل، ‎/quit للخروج.",
    },
    "lang_set": {"en": "Answers will be in English.", "ar": "ستكون الإجابات بالعربية."},
    "lang_usage": {"en": "Use /lang ar or /lang en.", "ar": "استخدم ‎/lang ar أو ‎/lang en."},
    "no_sources_yet": {"en": "No answer with sources yet.", "ar": "لا توجد إجابة بمصادر بعد."},
    "welcome": {
        "en": "Hello! I am Caucasus Brief. I answer questions about the Armenia–Azerbaijan conflict — "
        "Nagorno-Karabakh, the border, the Lachin corridor, the peace process — from the news articles in my store, "
        "in Arabic or English.\n\nEvery sentence I write cites its article [n], with the outlet and date; "
        "when the articles do not answer, I say so instead of guessing.\n\n"
        "Just send a question. /help lists the commands.",
        "ar": "مرحبًا! أنا «موجز القوقاز». أجيب عن الأسئلة المتعلقة بالنزاع بين أرمينيا وأذربيجان — ناغورني كاراباخ "
        "والحدود وممر لاتشين وعملية السلام — من المقالات الإخبارية المخزنة لدي، بالعربية أو الإنجليزية.\n\n"
        "كل جملة أكتبها تستشهد بمقالها [n] مع اسم الوسيلة الإعلامية والتاريخ، وإذا لم تُجب المقالات عن السؤال "
        "أقول ذلك بدل التخمين.\n\nاكتب سؤالك مباشرة. /help لقائمة الأوامر.",
    },
    "help": {
        "en": "Send a question in a private chat, or use /ask <question> (in groups, also mention me or reply "
        "to my message). Reply to one of my answers to ask a follow-up.\n"
        "/lang ar|en — answer language\n/sources — what is in my store\n/about — how I work",
        "ar": "اكتب سؤالك في محادثة خاصة، أو استخدم ‎/ask ‹سؤالك› (وفي المجموعات اذكرني أو ردّ على رسالتي). "
        "ردّ على إحدى إجاباتي لطرح سؤال متابعة.\n"
        "‎/lang ar|en — لغة الإجابة\n‎/sources — ما في مخزني من مقالات\n‎/about — كيف أعمل",
    },
    "about": {
        "en": "Caucasus Brief is open source. It searches Arabic and English news articles together (a multilingual "
        "embedding model plus keyword search), then quotes or summarises only what the articles say, citing each "
        "one. It never answers from memory.",
        "ar": "«موجز القوقاز» مشروع مفتوح المصدر. يبحث في المقالات الإخبارية العربية والإنجليزية معًا (نموذج "
        "تضمين متعدد اللغات مع بحث بالكلمات)، ثم يقتبس أو يلخّص ما تقوله المقالات فقط مع الاستشهاد بكل منها. "
        "لا يجيب من الذاكرة أبدًا.",
    },
    "store_overview": {
        "en": "{articles} articles ({stories} stories) from {first} to {last}.",
        "ar": "{articles} مقالًا ({stories} قصة) من {first} إلى {last}.",
    },
    "by_language": {"en": "By language", "ar": "حسب اللغة"},
    "by_outlet": {"en": "By outlet", "ar": "حسب الوسيلة الإعلامية"},
    "latest": {"en": "Latest articles", "ar": "أحدث المقالات"},
    "language_names": {"en": "Arabic: {ar} · English: {en}", "ar": "العربية: {ar} · الإنجليزية: {en}"},
    "rate_limited": {
        "en": "You are asking faster than I can answer well. Please wait a minute and try again.",
        "ar": "أسئلتك أسرع مما أستطيع الإجابة عنه جيدًا. انتظر دقيقة من فضلك ثم أعد المحاولة.",
    },
    "not_text": {
        "en": "I can only read text questions. Please type your question.",
        "ar": "لا أقرأ إلا الأسئلة المكتوبة. اكتب سؤالك من فضلك.",
    },
    "not_allowed": {
        "en": "Sorry, only the bot's administrators may do that.",
        "ar": "عذرًا، هذا متاح لمشرفي البوت فقط.",
    },
    "ingest_usage": {"en": "Use /ingest <url or feed url>.", "ar": "استخدم ‎/ingest ‹رابط أو رابط خلاصة›."},
    "ingest_started": {"en": "Ingesting {what} …", "ar": "جارٍ إضافة {what} …"},
    "article_too_long": {
        "en": "{chars:,} characters, over the limit of {limit:,} per article (MAX_ARTICLE_CHARS): skipped. "
        "Split it into articles, or raise the limit.",
        "ar": "{chars:,} حرفًا، وهذا يتجاوز الحد البالغ {limit:,} حرف للمقال الواحد (MAX_ARTICLE_CHARS): تم تخطيه. "
        "قسّمه إلى مقالات أو ارفع الحد.",
    },
    "ingest_waiting": {
        "en": "another ingest is running on {dir}; waiting (up to {seconds} s; Ctrl-C gives up) …",
        "ar": "توجد عملية إضافة أخرى جارية على {dir}؛ في الانتظار (حتى {seconds} ث؛ Ctrl-C للتراجع) …",
    },
    "ingest_busy": {
        "en": "another ingest is still running on {dir} after {seconds} s: try again when it has finished "
        "(INGEST_LOCK_TIMEOUT sets how long to wait).",
        "ar": "ما زالت عملية إضافة أخرى جارية على {dir} بعد {seconds} ث: أعد المحاولة بعد انتهائها "
        "(يحدد INGEST_LOCK_TIMEOUT مدة الانتظار).",
    },
    "ingest_stopping": {
        "en": "Stopping after the current batch … (press Ctrl-C again to quit at once)",
        "ar": "سيتوقف بعد الدفعة الحالية … (اضغط Ctrl-C مرة أخرى للخروج فورًا)",
    },
    "ingest_interrupted": {
        "en": "Stopped. Kept: {indexed} articles indexed by this run. Pending: {pending} articles, not searchable yet: "
        "`brief ingest --resume` finishes them, `brief pending --drop` discards them.",
        "ar": "توقف. المحفوظ: {indexed} مقالًا فُهرست في هذه العملية. المعلّق: {pending} مقالًا لا يمكن البحث فيها بعد: "
        "‎`brief ingest --resume` يكملها، و‎`brief pending --drop` يحذفها.",
    },
    "pending_note": {
        "en": "{pending} articles from an interrupted ingest are pending, not searchable yet: "
        "`brief ingest --resume` finishes them, `brief pending --drop` discards them.",
        "ar": "{pending} مقالًا من عملية إضافة متوقفة معلّقة ولا يمكن البحث فيها بعد: "
        "‎`brief ingest --resume` يكملها، و‎`brief pending --drop` يحذفها.",
    },
    "pending_none": {"en": "No article is pending.", "ar": "لا توجد مقالات معلّقة."},
    "pending_header": {
        "en": "{pending} articles pending (chunks embedded / chunks, title, origin):",
        "ar": "{pending} مقالًا معلّقًا (المقاطع المضمّنة / المقاطع، العنوان، المصدر):",
    },
    "pending_dropped": {
        "en": "Dropped {dropped} pending articles; ingest their sources again to add them.",
        "ar": "حُذف {dropped} مقالًا معلّقًا؛ أضف مصادرها من جديد لإضافتها.",
    },
    "reindex_done": {
        "en": "re-embedded {articles} articles ({chunks} chunks) with {model} in {seconds:.1f} s",
        "ar": "أُعيد تضمين {articles} مقالًا ({chunks} مقطعًا) بالنموذج {model} في {seconds:.1f} ث",
    },
    "error_apology": {
        "en": "Sorry, something went wrong on my side. Please try again in a moment.",
        "ar": "عذرًا، حدث خطأ من جهتي. أعد المحاولة بعد قليل من فضلك.",
    },
    "thanks_feedback": {"en": "Thank you for the feedback.", "ar": "شكرًا على ملاحظتك."},
    "unknown_command": {
        "en": "I don't know the command {command}. Send /help to see what I can do.",
        "ar": "لا أعرف الأمر {command}. أرسل ‎/help لترى ما أستطيع فعله.",
    },
    "late_answer": {
        "en": "Sorry for the late answer: you asked this at {time} UTC.",
        "ar": "عذرًا على تأخر الإجابة: سألت هذا السؤال في {time} بتوقيت UTC.",
    },
    "index_unavailable": {
        "en": "Sorry, I cannot read my article index right now, so I cannot answer. "
        "The problem is logged for the bot's administrator; please try again later.",
        "ar": "عذرًا، لا أستطيع قراءة فهرس المقالات الآن، فلا يمكنني الإجابة. "
        "سُجّلت المشكلة لمشرف البوت؛ أعد المحاولة لاحقًا من فضلك.",
    },
    "answer_expired": {
        "en": "I no longer have that answer; please ask again.",
        "ar": "لم تعد هذه الإجابة متوفرة لدي؛ اسأل من جديد من فضلك.",
    },
    "thinking": {"en": "Searching the articles …", "ar": "أبحث في المقالات …"},
    "no_news": {
        "en": "No new articles about the conflict between {since} and {until}.",
        "ar": "لا توجد مقالات جديدة عن النزاع بين {since} و{until}.",
    },
    "briefing_new": {"en": "New since your last briefing", "ar": "جديد منذ موجزك الأخير"},
    "briefing_window": {"en": "Briefing: {window}", "ar": "موجز: {window}"},
    "window_malformed": {
        "en": "“{value}” is not a window: use 24h, 7d or a date (YYYY-MM-DD).",
        "ar": "«{value}» ليست فترة صحيحة: استخدم 24h أو 7d أو تاريخًا (YYYY-MM-DD).",
    },
    "window_not_positive": {
        "en": "“{value}” is not a window: use a positive number of hours or days, such as 24h or 7d.",
        "ar": "«{value}» ليست فترة صحيحة: استخدم عددًا موجبًا من الساعات أو الأيام، مثل 24h أو 7d.",
    },
    "window_too_long": {
        "en": "“{value}” is too long a window: at most {limit} days.",
        "ar": "الفترة «{value}» طويلة جدًا: {limit} يومًا على الأكثر.",
    },
    "window_reversed": {
        "en": "The window starts on {since}, after its last day {until}.",
        "ar": "تبدأ الفترة في {since}، بعد يومها الأخير {until}.",
    },
    "briefing_developing": {"en": "Developing", "ar": "تطورات مستمرة"},
    "subscribed": {
        "en": "Subscribed: a briefing every day at {time} ({tz}), in {language}. Next one: {next}.",
        "ar": "تم الاشتراك: موجز يوميًا عند الساعة {time} ({tz}) باللغة {language}. الموجز التالي: {next}.",
    },
    "subscription_info": {
        "en": "A briefing every day at {time} ({tz}), in {language}. Next one: {next}.",
        "ar": "موجز يوميًا عند الساعة {time} ({tz}) باللغة {language}. الموجز التالي: {next}.",
    },
    "not_subscribed": {
        "en": "This chat has no briefing subscription. Use /subscribe [HH:MM] [timezone] [ar|en].",
        "ar": "لا يوجد اشتراك في الموجز لهذه المحادثة. استخدم ‎/subscribe [HH:MM] [المنطقة الزمنية] [ar|en].",
    },
    "unsubscribed": {
        "en": "Unsubscribed: no more daily briefings here.",
        "ar": "تم إلغاء الاشتراك: لا موجزات يومية بعد الآن.",
    },
    "bad_time": {
        "en": "“{value}” is not a time of day: use HH:MM, for example 08:30.",
        "ar": "«{value}» ليس وقتًا صحيحًا: استخدم الصيغة HH:MM، مثل 08:30.",
    },
    "bad_timezone": {
        "en": "I do not know the time zone “{value}”: use a name like Asia/Baku, Asia/Yerevan, Europe/Moscow, "
        "or an offset like +04:00.",
        "ar": "لا أعرف المنطقة الزمنية «{value}»: استخدم اسمًا مثل Asia/Baku أو Asia/Yerevan أو Europe/Moscow، "
        "أو فرقًا زمنيًا مثل ‎+04:00.",
    },
    "admins_only_group": {
        "en": "Only the group's administrators can change its briefing subscription.",
        "ar": "مشرفو المجموعة وحدهم يستطيعون تغيير اشتراكها في الموجز.",
    },
    "lang_ar": {"en": "Arabic", "ar": "العربية"},
    "lang_en": {"en": "English", "ar": "الإنجليزية"},
    "channel_usage": {
        "en": "Use /channel @name HH:MM [timezone] [ar|en], /channel @name off, or /channels.",
        "ar": "استخدم ‎/channel @name HH:MM [المنطقة الزمنية] [ar|en] أو ‎/channel @name off أو ‎/channels.",
    },
    "channel_private_only": {
        "en": "Set up channels from a private chat with me.",
        "ar": "اضبط القنوات من محادثة خاصة معي.",
    },
    "channel_not_found": {
        "en": "I cannot find the channel {channel}. Check the name, and add me to the channel first.",
        "ar": "لا أجد القناة {channel}. تحقق من الاسم، وأضفني إلى القناة أولًا.",
    },
    "channel_not_admin": {
        "en": "You are not an administrator of {channel}, so you cannot schedule posts there.",
        "ar": "لست مشرفًا في {channel}، لذا لا يمكنك جدولة منشورات فيها.",
    },
    "channel_bot_cannot_post": {
        "en": "I cannot post in {channel}: make me an administrator of the channel with the right to post messages.",
        "ar": "لا أستطيع النشر في {channel}: اجعلني مشرفًا في القناة مع صلاحية نشر الرسائل.",
    },
    "channel_scheduled": {
        "en": "{channel} will get a briefing every day at {time} ({tz}), in {language}. Next one: {next}.",
        "ar": "ستتلقى {channel} موجزًا يوميًا عند الساعة {time} ({tz}) باللغة {language}. الموجز التالي: {next}.",
    },
    "channel_off": {"en": "No more briefings in {channel}.", "ar": "لا مزيد من الموجزات في {channel}."},
    "no_channels": {"en": "You have no channel briefings.", "ar": "لا توجد لديك موجزات قنوات."},
    "summary_limited": {
        "en": "A summary was just posted here; please wait a few minutes.",
        "ar": "نُشر ملخص هنا للتو؛ انتظر بضع دقائق من فضلك.",
    },
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


def render_date(day: date | None, lang: str) -> str:
    """ "17 Nov 2021" / "17 نوفمبر 2021"; the undated phrase when there is no date."""
    if day is None:
        return phrase("undated", lang)
    return f"{day.day} {_MONTHS['ar' if lang == 'ar' else 'en'][day.month - 1]} {day.year}"


def render_span(since: date, until: date, lang: str) -> str:
    """ "20–27 Nov 2026", "28 Nov – 3 Dec 2026", "30 Dec 2025 – 2 Jan 2026"; one date for a one-day window."""
    if since == until:
        return render_date(since, lang)
    months = _MONTHS["ar" if lang == "ar" else "en"]
    if (since.year, since.month) == (until.year, until.month):
        start = str(since.day)
    elif since.year == until.year:
        start = f"{since.day} {months[since.month - 1]}"
    else:
        return f"{render_date(since, lang)} – {render_date(until, lang)}"
    return f"{start}–{render_date(until, lang)}" if start.isdigit() else f"{start} – {render_date(until, lang)}"


def render_outlet(name: str, lang: str) -> str:
    """The outlet's name in the reader's language when the glossary knows it, else as the source wrote it."""
    if not name:
        return phrase("unknown_outlet", lang)
    entity = default_glossary().outlet(name)
    return entity.name(lang) if entity else name


def related_line(citation, lang: str) -> str:
    """ "[1] Title (Outlet, 17 Nov 2021)": an article a refusal points to, without claiming it says anything."""
    outlet = render_outlet(citation.source, lang)
    when = render_date(citation.published, lang)
    title = citation.title or outlet
    return f"[{citation.n}] {title} ({outlet}{'، ' if lang == 'ar' else ', '}{when})"


def attributed(quote: str, quote_lang: str, source: str, published: date | None, n: int, lang: str) -> str:
    """«According to Sputnik (17 Nov 2021) [1]: …», the quote marked when it is in the other language and without
    the dateline it may open with (outlet and date are said already)."""
    quote = strip_dateline(quote) or quote
    if quote_lang != lang:
        quote = f"{quote} {phrase('other_language_source', lang)}"
    key = "according_to" if published else "according_to_undated"
    return phrase(key, lang, outlet=render_outlet(source, lang), date=render_date(published, lang), n=n, quote=quote)
