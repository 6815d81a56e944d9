"""`brief ask` and `brief briefing` as a user runs them: bad input gets one clear line, briefings cite their sources."""

from __future__ import annotations

import re

import pytest

from .helpers import brief, ingested, jsonl

PEACEKEEPERS = {
    "id": "reuters-peacekeepers-2024",
    "title": "Russian peacekeepers begin withdrawal from Karabakh",
    "source": "Reuters",
    "url": "https://example.org/reuters/peacekeepers",
    "published": "2024-04-17",
    "lang": "en",
    "text": "MOSCOW, April 17, 2024 (Reuters) - Russian peacekeepers have started to withdraw from Azerbaijan's "
    "Karabakh region, the Kremlin said on Wednesday, months after Baku retook the territory from ethnic Armenian "
    "forces.",
}
CHECKPOINT = {
    "id": "armenpress-lachin-2024",
    "title": "Armenia protests new checkpoint on the Lachin road",
    "source": "Armenpress",
    "url": "https://example.org/armenpress/lachin",
    "published": "2024-04-20",
    "lang": "en",
    "text": "YEREVAN, April 20, 2024. Armenia's foreign ministry protested a new Azerbaijani checkpoint on the "
    "Lachin road, saying it violated the trilateral statement of November 2020.",
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, embedder):
    """Ingested in-process with the session's model (the CLI runs below read the same data directory)."""
    root = tmp_path_factory.mktemp("cli-asking")
    records = jsonl(root / "articles.jsonl", PEACEKEEPERS, CHECKPOINT)
    with ingested(root / "data", embedder, records):
        pass
    return root / "data"


def one_line_error(result, expected: str) -> None:
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"error: {expected}"]


def test_empty_and_overlong_questions_get_the_chat_message(data_dir):
    one_line_error(brief(data_dir, "ask", ""), "Please ask a question.")
    question = "Who runs the Lachin checkpoint? " * 317 + "Why?"  # 10,148 characters
    refusal = "That question is too long (10148 characters). Please keep it under 1000."
    one_line_error(brief(data_dir, "ask", question), refusal)
    chat = brief(data_dir, "chat", stdin=question + "\n/quit\n")
    assert f"> {refusal}" in chat.stdout.splitlines(), "the console chat says the same"


def test_bad_windows_are_one_clear_line(data_dir):
    """The other bad windows (negative, zero, malformed, in Arabic) are in tests/test_briefing.py."""
    one_line_error(
        brief(data_dir, "briefing", "--since", "9999999d"), "“9999999d” is too long a window: at most 3660 days."
    )
    one_line_error(
        brief(data_dir, "briefing", "--since", "2024-05-01", "--until", "2024-04-01"),
        "The window starts on 1 May 2024, after its last day 1 Apr 2024.",
    )
    earliest = brief(data_dir, "briefing", "--until", "0001-01-01")  # was an OverflowError traceback
    assert earliest.returncode == 0 and not earliest.stderr, earliest.stderr
    assert earliest.stdout.strip() == "No new articles about the conflict between 1 Jan 1 and 1 Jan 1."


def test_one_off_briefing_is_headed_by_its_window_and_lists_its_sources(data_dir):
    result = brief(data_dir, "briefing", "--since", "2024-04-15", "--until", "2024-04-22")
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.strip().split("\n\n")
    assert blocks[0] == "Briefing: 15–22 Apr 2024"
    assert "New since your last briefing" not in result.stdout
    cited = set(re.findall(r"\[(\d+)\]:", result.stdout))
    sources = blocks[-1].splitlines()
    assert sources[0] == "Sources:" and len(sources) == 3
    by_number = {line.split("]")[0][1:]: line for line in sources[1:]}
    assert set(by_number) == cited == {"1", "2"}, "every number in the text has its source listed, and only those"
    for article in (PEACEKEEPERS, CHECKPOINT):
        line = next(line for line in sources[1:] if article["source"] in line)
        assert line.endswith(f" · {article['title']} — {article['url']}")
    assert "Reuters · 17 Apr 2024 · " in blocks[-1] and "Armenpress · 20 Apr 2024 · " in blocks[-1]
