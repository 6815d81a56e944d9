"""Article languages: identified for real, Arabic and English stored, anything else refused with its name."""

from __future__ import annotations

import json

import pytest

from retrieval.answering import reply_language
from retrieval.ingest import ingest
from retrieval.lang import identify
from retrieval.models import Article
from retrieval.sources import Failure, parse_jsonl, read_source

GERMAN = """Armenien und Aserbaidschan öffnen ersten Grenzübergang

Armenien und Aserbaidschan haben am Dienstag ihren ersten gemeinsamen Grenzübergang bei Idschewan geöffnet, wie
beide Regierungen mitteilten. Lastwagen dürfen die Grenze nun zum ersten Mal seit den neunziger Jahren passieren."""
FRENCH = """L'Arménie et l'Azerbaïdjan ouvrent un premier poste-frontière

L'Arménie et l'Azerbaïdjan ont ouvert mardi leur premier poste-frontière commun près d'Idjevan, ont annoncé les
deux gouvernements. Les camions peuvent désormais franchir la frontière pour la première fois depuis les années 1990."""
RUSSIAN = """Армения и Азербайджан открыли первый пограничный переход

Армения и Азербайджан во вторник открыли первый общий пограничный пункт пропуска у Иджевана, сообщили
правительства двух стран. Грузовики впервые с девяностых годов смогут пересекать границу."""
ENGLISH = """Armenia and Azerbaijan open first border crossing

Armenia and Azerbaijan opened their first joint border crossing near Ijevan on Tuesday, the two governments said,
allowing trucks to cross the border for the first time since the 1990s."""
ARABIC = """أرمينيا وأذربيجان تفتحان أول معبر حدودي

فتحت أرمينيا وأذربيجان يوم الثلاثاء أول معبر حدودي مشترك بينهما قرب إيجيفان، بحسب ما أعلنت الحكومتان، ما يسمح
للشاحنات بعبور الحدود لأول مرة منذ تسعينيات القرن الماضي."""


@pytest.mark.parametrize(
    ("text", "lang"),
    [(GERMAN, "de"), (FRENCH, "fr"), (RUSSIAN, "ru"), (ENGLISH, "en"), (ARABIC, "ar")],
)
def test_identify_names_the_language(text, lang):
    found = identify(text)
    assert found.lang == lang and found.confidence > 0.9


def test_articles_neither_arabic_nor_english_are_refused_at_ingest_naming_their_language(index, tmp_path):
    for name, text in {"de": GERMAN, "fr": FRENCH, "ru": RUSSIAN, "en": ENGLISH}.items():
        (tmp_path / f"{name}.txt").write_text(text, "utf-8")
    report = ingest(index, [str(tmp_path)])
    assert (report.new, report.failed) == (1, 3)
    reasons = {f.origin.rsplit("/", 1)[-1]: f.reason for f in report.failures}
    assert "German (de)" in reasons["de.txt"] and "only Arabic and English" in reasons["de.txt"]
    assert "French (fr)" in reasons["fr.txt"]
    assert "Russian (ru)" in reasons["ru.txt"]
    assert [(a.origin.rsplit("/", 1)[-1], a.lang) for a in index.store.iter_articles()] == [("en.txt", "en")]


def test_arabic_and_english_files_are_labelled_by_what_they_are(tmp_path):
    (tmp_path / "a.txt").write_text(ARABIC, "utf-8")
    (tmp_path / "b.txt").write_text(ENGLISH, "utf-8")
    items = list(read_source(str(tmp_path)))
    assert [(type(i), i.lang) for i in items] == [(Article, "ar"), (Article, "en")]


def test_a_given_lang_is_validated_and_never_labels_another_language_english():
    records = [
        {"id": "xx", "title": "Border crossing opens", "text": ENGLISH, "lang": "xx"},
        {"id": "ar", "title": "معبر حدودي", "text": ARABIC, "lang": "ar"},
        {"id": "de-as-en", "title": "Grenzübergang", "text": GERMAN, "lang": "en"},
        {"id": "fr", "title": "Poste-frontière", "text": FRENCH},
        {"id": "en", "title": "Crossing", "text": ENGLISH, "lang": "EN"},
    ]
    items = list(parse_jsonl("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "records.jsonl"))
    failures = {f.origin: f.reason for f in items if isinstance(f, Failure)}
    stored = {a.id: a.lang for a in items if isinstance(a, Article)}
    assert stored == {"ar": "ar", "en": "en"}
    assert failures["records.jsonl:1"] == "unsupported language 'xx' in the metadata (only 'ar' and 'en' are accepted)"
    assert "German (de)" in failures["records.jsonl:3"]
    assert "French (fr)" in failures["records.jsonl:4"]


@pytest.mark.parametrize(("text", "lang"), [("؟", "ar"), ("٣٤ ، ؟", "ar"), ("?", "en"), ("🙂 ...", "en")])
def test_a_message_without_letters_is_answered_in_the_script_of_its_marks(text, lang):
    assert reply_language(text) == lang


def test_a_given_lang_that_the_text_contradicts_is_corrected_to_what_the_text_is():
    records = [
        {"id": "ar-as-en", "title": "معبر حدودي", "text": ARABIC, "lang": "en"},
        {"id": "en-as-ar", "title": "Crossing", "text": ENGLISH, "lang": "ar"},
    ]
    items = list(parse_jsonl("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "records.jsonl"))
    assert {a.id: a.lang for a in items if isinstance(a, Article)} == {"ar-as-en": "ar", "en-as-ar": "en"}
