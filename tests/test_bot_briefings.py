"""/briefing, /summary and a scheduled briefing through Telegram, with the bot's clock set just after the newest
article: real stories with their citations, not "No new articles" (the corpus ends in 2025, the real clock does not).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from .bot_harness import running_bot, text_of
from .helpers import CORPUS, ingested, jsonl

TREATY = {
    "id": "armenpress-treaty-text-2025",
    "title": "Armenia publishes the text of the peace treaty initialled in Washington",
    "source": "Armenpress",
    "url": "https://example.org/treaty?id=7&lang=en",
    "published": "2025-08-11",
    "lang": "en",
    "text": "Armenia's foreign ministry published the full text of the peace treaty with Azerbaijan that the two "
    "foreign ministers initialled at the White House, saying the treaty has 17 articles and still has to be signed "
    "and ratified by both parliaments.",
}
TREATY_LINK = 'href="https://example.org/treaty?id=7&amp;lang=en"'
NOW = datetime(2025, 8, 12, 9, 0, tzinfo=UTC)  # the day after the newest article


class Clock:
    """The bot's clock, set by the test."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def briefing_index(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("briefings")
    with ingested(root / "data", embedder, CORPUS, jsonl(root / "treaty.jsonl", TREATY)) as index:
        yield index


@pytest.fixture
async def bot(briefing_index):
    async with running_bot(briefing_index) as runner:
        runner.clock = Clock(NOW)
        runner.app.bot_data.clock = runner.clock
        yield runner


def story_lines(text: str) -> list[str]:
    """The briefing's story lines (not its heading or sources)."""
    return [line for line in text.split("<b>Sources</b>")[0].splitlines() if line.startswith("According to")]


async def test_briefing_command_sends_the_latest_story_with_its_linked_citation(bot):
    bot.fake.message("/briefing", chat_id=3101, user_id=3101)
    text = text_of(await bot.fake.wait_for(lambda c: int(c.params["chat_id"]) == 3101))
    assert text.startswith("<b>Briefing: 11–12 Aug 2025</b>"), "the last 24 hours by the bot's clock"
    assert f"• <b>{TREATY['title']}</b>" in text
    (line,) = story_lines(text)
    assert line.startswith(f"According to Armenpress (11 Aug 2025) <a {TREATY_LINK}>[1]</a>: ")
    assert "the treaty has 17 articles" in line
    assert "White House summit" not in text, "the summit of 8 August is older than the window"


async def test_summary_of_seven_days_holds_the_summit_and_the_treaty(bot):
    bot.fake.message("/summary 7d", chat_id=-3102, user_id=3102, chat_type="supergroup")
    text = text_of(await bot.fake.wait_for(lambda c: int(c.params["chat_id"]) == -3102))
    assert text.startswith("<b>Briefing: 5–12 Aug 2025</b>")
    treaty, summit = story_lines(text)
    assert treaty.startswith(f"According to Armenpress (11 Aug 2025) <a {TREATY_LINK}>[1]</a>: ")
    assert summit.startswith("According to AP (8 Aug 2025) [2]: ")
    assert "initialled a peace agreement at the White House" in summit
    assert "[2] <b>AP</b> · 8 Aug 2025 · Armenia and Azerbaijan initial peace deal at White House summit" in text


async def test_a_subscription_gets_its_briefing_at_the_slot_the_clock_reaches(bot):
    bot.fake.message("/subscribe 08:00 UTC en", chat_id=3103, user_id=3103)
    await bot.fake.wait_for(lambda c: int(c.params["chat_id"]) == 3103 and "Subscribed" in text_of(c))
    (catch_up,) = bot.app.job_queue.get_jobs_by_name("briefing:catch-up")
    bot.clock.now = datetime(2025, 8, 11, 7, 59, tzinfo=UTC)
    await catch_up.run(bot.app)  # the catch-up pass, as the JobQueue runs it every ten minutes
    assert len(bot.fake.sent(chat_id=3103)) == 1, "before 08:00 nothing is due"
    bot.clock.now = datetime(2025, 8, 12, 8, 5, tzinfo=UTC)
    await catch_up.run(bot.app)
    await catch_up.run(bot.app)
    briefings = bot.fake.sent(chat_id=3103)[1:]
    assert len(briefings) == 1, "the 08:00 slot is sent once"
    assert TREATY_LINK in text_of(briefings[0]) and "the treaty has 17 articles" in text_of(briefings[0])
    (delivery,) = bot.app.bot_data.subscriptions.deliveries(bot.app.bot_data.subscriptions.get(3103).id)
    assert delivery.slot == datetime(2025, 8, 12, 8, 0) and TREATY["id"] in delivery.article_ids
