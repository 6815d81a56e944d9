"""Question analysis and answer types, without a store: what is asked, and whether a sentence carries it."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.answer_types import carries
from retrieval.glossary import default_glossary
from retrieval.question import Period, analyse, find_period, question_kind

GLOSSARY = default_glossary()


def ask(text: str):
    return analyse(text, GLOSSARY, lambda terms: ({}, 100))


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the ceasefire take effect?", "when"),
        ("At what time did the ceasefire take effect?", "time"),
        ("How many soldiers were killed?", "count"),
        ("What was the death toll of the blast?", "count"),
        ("Who heads the Armenian delimitation commission?", "who"),
        ("Which official announced the withdrawal?", "who"),
        ("Where was the peace deal initialled?", "where"),
        ("Why did Azerbaijan set up the checkpoint?", "why"),
        ("Is the Lachin corridor open?", "yesno"),
        ("What did Peskov say about mediation?", "what"),
        ("متى دخل وقف إطلاق النار حيز التنفيذ؟", "when"),
        ("في أي ساعة دخل وقف إطلاق النار حيز التنفيذ؟", "time"),
        ("كم عدد الجنود الذين قتلوا؟", "count"),
        ("لكم سنة تنتشر قوات حفظ السلام؟", "count"),
        ("من هو رئيس وزراء أرمينيا؟", "who"),
        ("أين وقع الاتفاق؟", "where"),
        ("هل انسحبت القوات الروسية؟", "yesno"),
        ("ماذا قال بيسكوف عن الوساطة؟", "what"),
    ],
)
def test_question_kind(question, kind):
    assert question_kind(question) == kind


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("What happened on 16 November 2021?", Period(date(2021, 11, 16), date(2021, 11, 16))),
        ("What happened on November 16, 2021?", Period(date(2021, 11, 16), date(2021, 11, 16))),
        ("How many were killed in September 2022?", Period(date(2022, 9, 1), date(2022, 9, 30))),
        ("ماذا حدث في 10 تشرين الثاني/نوفمبر 2020؟", Period(date(2020, 11, 10), date(2020, 11, 10))),
        ("كم قتيلا سقط في أكتوبر 2020؟", Period(date(2020, 10, 1), date(2020, 10, 31))),
        ("What did the treaty say in 2025?", Period(date(2025, 1, 1), date(2025, 12, 31))),
        ("What did the treaty say?", None),
    ],
)
def test_the_period_a_question_names(text, period):
    assert find_period(text) == period


def test_a_when_question_wants_a_date_it_does_not_give_itself():
    question = ask("When did the 2020 war end?")
    assert not carries("when", "The ceasefire deal ended the 2020 war.", question, GLOSSARY)
    assert carries("when", "The war ended on 10 November 2020 under a deal brokered by Moscow.", question, GLOSSARY)
    assert carries("when", "The ministry said on Wednesday that the fighting had stopped.", question, GLOSSARY)
    assert not carries("when", "Armenia may sign the deal, the ministry said.", question, GLOSSARY), "'may' is a verb"


def test_a_time_question_wants_a_clock_time():
    question = ask("At what time did the truce start?")
    assert carries("time", "The truce started at 8 p.m. local time.", question, GLOSSARY)
    assert carries("time", "دخل حيز التنفيذ منتصف الليل بتوقيت موسكو.", question, GLOSSARY)
    assert not carries("time", "The truce started on Wednesday evening.", question, GLOSSARY)


def test_a_count_is_a_number_next_to_what_the_question_counts():
    wounded = ask("How many Azerbaijani soldiers were wounded in the 2020 war?")
    assert wounded.counted == {"soldiers", "wounded"}
    killed = "Azerbaijan said 2,783 of its soldiers had been killed in six weeks of fighting."
    assert not carries("count", killed, wounded, GLOSSARY), "killed is not wounded"
    assert carries("count", "More than 100 soldiers were wounded, the ministry said.", wounded, GLOSSARY)
    monitors = ask("How many EU monitors are deployed on the border?")
    assert not carries("count", "At least 49 soldiers were killed along the border.", monitors, GLOSSARY)
    assert not carries("count", "The war of 2020 lasted six weeks.", ask("How many soldiers died?"), GLOSSARY)
    arabic = ask("كم عدد الجرحى في الاشتباكات؟")
    assert carries("count", "Officials said 200 people were wounded in the clashes.", arabic, GLOSSARY, same_lang=False)


def test_a_dateline_is_not_where_or_who():
    where = ask("Where will Armenia and Azerbaijan sign their peace treaty?")
    lede = "BAKU, March 13, 2025 (Reuters) - Armenia and Azerbaijan have agreed the text of a peace treaty."
    assert not carries("where", lede, where, GLOSSARY)
    assert carries("where", "The treaty will be signed in Washington, officials said.", where, GLOSSARY)
    who = ask("Who represented the Karabakh Armenians at the talks?")
    # Weekdays, months and nationalities are capitalised but name nobody.
    assert not carries("who", "The talks began on Thursday, Azerbaijani media reported in September.", who, GLOSSARY)
    assert carries("who", "Karabakh was represented by its security chief Samvel Shahramanyan.", who, GLOSSARY)
