import json
from datetime import date, datetime

import pytest

from retrieval.datelines import parse_date, parse_dateline, strip_dateline
from retrieval.sources import parse_jsonl, parse_text

from .helpers import SEED_FILE


def test_seed_article_parses_exactly():
    article = parse_text(SEED_FILE.read_text("utf-8"), "seed", str(SEED_FILE))
    assert article.title == "بيسكوف: روسيا ستواصل التوسط في تسوية النزاع بين أرمينيا وأذربيجان"
    assert article.source == "Sputnik"
    assert article.via == "Pakistan Point News"
    assert article.published == date(2021, 11, 17)
    assert article.lang == "ar"
    assert article.text.startswith("(پاکستان پوائنٹ نیوز / سبوتنيك")


@pytest.mark.parametrize(
    ("body", "outlets", "published", "rest"),
    [
        (
            "MOSCOW, Nov 17 (Reuters) - Russia will keep mediating.",
            ["Reuters"],
            date(2021, 11, 17),
            "Russia will keep mediating.",
        ),
        ("يريفان - 17 نوفمبر 2021 (رويترز) - قالت وزارة الدفاع", ["Reuters"], date(2021, 11, 17), "قالت وزارة الدفاع"),
        ("باكو - 10 تشرين الثاني/نوفمبر 2020 (الأناضول) - أعلن", ["Anadolu Agency"], date(2020, 11, 10), "أعلن"),
        ("باكو - ١٧ نوفمبر ٢٠٢١ (أ ف ب) - أعلن", ["AFP"], date(2021, 11, 17), "أعلن"),
        ("(سبوتنيك - 17 نوفمبر 2021ء) أعلن", ["Sputnik"], date(2021, 11, 17), "أعلن"),
        (
            "YEREVAN, November 17, 2021 /ARMENPRESS/. Prime Minister",
            ["Armenpress"],
            date(2021, 11, 17),
            "Prime Minister",
        ),
        ("ستيباناكيرت - 30 أيلول 2023 (الجزيرة) - قالت", ["Al Jazeera"], date(2023, 9, 30), "قالت"),
        ("باكو - 17 نوفمبر 2021 - أعلنت الخارجية", [], date(2021, 11, 17), "أعلنت الخارجية"),
        ("YEREVAN, NOVEMBER 17, ARMENPRESS. Prime Minister", ["Armenpress"], date(2021, 11, 17), "Prime Minister"),
        ("Baku, November 17, AZERTAC. The ministry said", ["AZERTAC"], date(2021, 11, 17), "The ministry said"),
        ("YEREVAN, November 17, 2021. Armenia said", [], date(2021, 11, 17), "Armenia said"),
    ],
)
def test_dateline_forms(body, outlets, published, rest):
    dateline = parse_dateline(body, reference=datetime(2021, 12, 1))
    assert dateline.outlets == outlets
    assert dateline.published == published
    assert body[dateline.end :].lstrip() == rest, "the body goes on right after the dateline"


def test_dateline_year_is_inferred_from_the_reference_not_the_future():
    # "Nov 17" read in January 2022 is November 2021, not November 2022.
    assert parse_dateline("MOSCOW, Nov 17 (Reuters) -", reference=datetime(2022, 1, 5)).published == date(2021, 11, 17)


def test_no_dateline_gives_nothing():
    dateline = parse_dateline("Armenia and Azerbaijan held talks in Brussels on Monday.")
    assert dateline.outlets == [] and dateline.published is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 تشرين الثاني/نوفمبر 2020", date(2020, 11, 10)),
        ("9 تشرين الأول 2020", date(2020, 10, 9)),
        ("19 أيلول 2023", date(2023, 9, 19)),
        ("١ كانون الثاني ٢٠٢٤", date(2024, 1, 1)),
        ("17 نوفمبر 2021ء", date(2021, 11, 17)),
        ("2021-11-17T10:00:00Z", date(2021, 11, 17)),
        ("Wed, 17 Nov 2021 10:00:00 GMT", date(2021, 11, 17)),
    ],
)
def test_parse_date_forms(text, expected):
    assert parse_date(text) == expected


def test_parse_date_rejects_non_dates():
    assert parse_date("") is None
    assert parse_date("no date here at all") is None


@pytest.mark.parametrize(
    "body",
    [
        "The consumer price index (CPI) rose 0.3% in March, the statistics office said.",
        "(CPI) rose 0.3% in March, the statistics office said.",
        "Prime Minister Nikol Pashinyan (pictured) said on Monday that talks would go on.",
        "Armenia's foreign ministry (MFA) - said the talks would go on.",
        "Pashinyan, who took office in May 2018, said the talks would go on.",
        "Aliyev, 62, said on May 5. Talks would go on.",
        "In Baku, May 5. Talks would go on.",
    ],
)
def test_a_parenthesis_in_running_text_is_not_a_dateline(body):
    dateline = parse_dateline(body, reference=datetime(2021, 12, 1))
    assert (dateline.outlets, dateline.published, dateline.end) == ([], None, 0)
    assert strip_dateline(body) == body


def test_a_records_own_source_wins_over_its_text():
    records = [
        {"id": "cpi", "source": "SQuAD", "text": "The consumer price index (CPI) rose 0.3% in March, officials said."},
        {
            "id": "wire",
            "source": "SQuAD",
            "text": "MOSCOW, Nov 17, 2021 (Reuters) - Russia will keep mediating, the Kremlin said on Wednesday.",
        },
        {"id": "bare", "text": "The consumer price index (CPI) rose 0.3% in March, officials said."},
    ]
    articles = {a.id: a for a in parse_jsonl("\n".join(json.dumps(r) for r in records), "r.jsonl")}
    assert (articles["cpi"].source, articles["cpi"].via) == ("SQuAD", "")
    assert (articles["wire"].source, articles["wire"].published) == ("SQuAD", date(2021, 11, 17))
    assert articles["bare"].source == ""


@pytest.mark.parametrize(
    ("body", "rest"),
    [
        ("YEREVAN, Nov 17 (Reuters) - Russia will keep mediating.", "Russia will keep mediating."),
        ("(پاکستان پوائنٹ نیوز / سبوتنيك - 17 نوفمبر 2021ء) أعلن المتحدث", "أعلن المتحدث"),
        ("يريفان - 17 نوفمبر 2021 (رويترز) - قالت وزارة الدفاع", "قالت وزارة الدفاع"),
        ("YEREVAN, November 17, 2021 /ARMENPRESS/. Prime Minister Nikol Pashinyan", "Prime Minister Nikol Pashinyan"),
        ("باكو - 17 نوفمبر 2021 - أعلنت الخارجية", "أعلنت الخارجية"),
        ("Russia will keep mediating, the Kremlin said.", "Russia will keep mediating, the Kremlin said."),
    ],
)
def test_strip_dateline_leaves_the_sentence(body, rest):
    assert strip_dateline(body) == rest
