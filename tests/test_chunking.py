from retrieval.chunking import chunk_article, split_sentences
from retrieval.models import Article
from retrieval.sources import parse_text

from .helpers import SEED_FILE


def test_sentences_keep_exact_offsets():
    text = "Mr. Pashinyan spoke in the U.S. on Nov. 17. He said 3.5 km! هل انتهت الحرب؟ نعم، انتهت.\n\nNew paragraph"
    spans = split_sentences(text)
    sentences = [text[s:e] for s, e in spans]
    assert sentences == [
        "Mr. Pashinyan spoke in the U.S. on Nov. 17.",
        "He said 3.5 km!",
        "هل انتهت الحرب؟",
        "نعم، انتهت.",
        "New paragraph",
    ]


def test_run_on_arabic_sentence_is_cut_at_clause_punctuation():
    clause = "وأعلنت الوزارة أن الاشتباكات توقفت بعد مفاوضات طويلة بين الجانبين؛ "
    text = clause * 20
    spans = split_sentences(text, max_chars=300)
    assert len(spans) > 1
    assert all(e - s <= 300 for s, e in spans)
    assert all(text[e - 1] == "؛" for s, e in spans[:-1])


def test_chunks_are_whole_sentences_with_offsets_into_the_article():
    article = parse_text(SEED_FILE.read_text("utf-8"), "seed", "seed")
    chunks = chunk_article(article, chunk_chars=600)
    assert len(chunks) > 1
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert chunk.lang == "ar"
        assert chunk.text[-1] in '.؟!"»؛' or chunk.end == len(article.text.rstrip())
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].id == "seed:0"


def test_chunk_language_is_per_chunk():
    article = Article(
        id="mixed", title="t", text="Armenia said so. " * 30 + "\n" + "قالت أرمينيا ذلك. " * 30, lang="en"
    )
    langs = {c.lang for c in chunk_article(article, chunk_chars=200)}
    assert langs == {"ar", "en"}


def test_a_quotation_opened_after_a_colon_belongs_to_its_sentence():
    article = parse_text(SEED_FILE.read_text("utf-8"), "seed", "seed")
    sentences = [article.text[s:e] for s, e in split_sentences(article.text)]
    peskov = next(s for s in sentences if 'بأن:"' in s)
    assert peskov.startswith("وقال بيسكوف للصحفيين")
    assert peskov.endswith('مثل هذه الحوادث".')
    assert "الاتفاقات الثلاثية." in peskov


def test_a_quotation_ends_its_sentence_where_it_closes():
    text = 'Peskov said: "Russia will continue. We hope for calm." Then talks resumed. He added: «Nothing more.»'
    assert [text[s:e] for s, e in split_sentences(text)] == [
        'Peskov said: "Russia will continue. We hope for calm."',
        "Then talks resumed.",
        "He added: «Nothing more.»",
    ]
