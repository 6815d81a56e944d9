"""The `brief` console script, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import CORPUS, SEEDS, brief, ingested

# Every command `brief` has: one that disappears (or appears unregistered) fails here.
EXPECTED_COMMANDS = ["ask", "briefing", "chat", "feeds", "ingest", "pending", "reindex", "run", "search", "stats"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, embedder) -> Path:
    """Ingested in-process with the session's model (each text embedded once per session); the CLI runs below read
    it as a user's later `brief` commands would. `brief ingest` itself is run in test_ingest_cli and test_kill."""
    path = tmp_path_factory.mktemp("cli") / "data"
    with ingested(path, embedder, SEEDS, CORPUS) as index:
        assert index.store.stats()["articles"] == 8
    return path


def test_search_json_hit_has_every_field(data_dir):
    result = brief(data_dir, "search", "Peskov Russian mediation", "--k", "3", "--json")
    assert result.returncode == 0, result.stderr
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(hits) == 3
    expected = {"article_id", "chunk_id", "story_id", "url", "title", "source", "published", "lang", "text", "score"}
    assert expected <= set(hits[0])
    assert hits[0]["source"] == "Sputnik"
    assert len({h["article_id"] for h in hits}) == 3, "search shows the best passage of each article"


def test_search_reads_queries_from_stdin(data_dir):
    result = brief(data_dir, "search", "--json", "--k", "2", "-", stdin="Lachin checkpoint\n\nممر لاتشين\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["Lachin checkpoint", "ممر لاتشين"]
    assert all(len(line["hits"]) == 2 for line in lines)


def test_search_filters_and_text_output(data_dir):
    result = brief(data_dir, "search", "clashes", "--lang", "ar", "--since", "2022-01-01", "--until", "2022-12-31")
    assert result.returncode == 0, result.stderr
    assert "Anadolu Agency · 2022-09-14" in result.stdout
    assert "[en]" not in result.stdout
    bad = brief(data_dir, "search", "clashes", "--since", "last week")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_stats_counts_by_language_outlet_and_month(data_dir):
    result = brief(data_dir, "stats", "--json")
    stats = json.loads(result.stdout)
    assert stats["articles"] == 8 and stats["stories"] == 7 and stats["pending"] == 0
    assert stats["by_lang"] == {"en": 5, "ar": 3}
    assert stats["by_source"]["Reuters"] == 3 and stats["by_source"]["Sputnik"] == 1
    assert stats["date_range"] == ["2021-11-17", "2025-08-08"]
    assert "by outlet:" in brief(data_dir, "stats").stdout


def test_ingest_exit_status_reports_failures(data_dir, tmp_path):
    (tmp_path / "broken.atom").write_text("<feed><entry>", "utf-8")
    result = brief(data_dir, "ingest", str(SEEDS), str(tmp_path / "broken.atom"))
    assert result.returncode == 1
    assert "failed: " in result.stderr and "broken.atom" in result.stderr
    assert "1 unchanged" in result.stdout


def test_unreachable_chroma_server_is_a_clear_error(tmp_path):
    env_path = tmp_path / "data"
    # the helper strips CHROMA_* from the environment: this also shows `.env` in the working directory is read
    (tmp_path / ".env").write_text("CHROMA_HOST=127.0.0.1\nCHROMA_PORT=9\n", "utf-8")
    result = brief(env_path, "search", "Lachin")
    assert result.returncode == 2
    assert "cannot reach the Chroma server at 127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_ask_json_record(data_dir):
    result = brief(data_dir, "ask", "ماذا قال بيسكوف عن وساطة روسيا بين أرمينيا وأذربيجان؟", "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert {"question", "lang", "mode", "answered", "text", "citations"} <= set(record)
    assert (record["lang"], record["mode"], record["answered"]) == ("ar", "extractive", True)
    citation = record["citations"][0]
    assert set(citation) == {"n", "article_id", "url", "title", "source", "published", "lang", "quote"}
    assert citation["source"] == "Sputnik" and citation["quote"] in record["text"]


def test_ask_reads_questions_from_stdin_and_renders_text(data_dir):
    result = brief(data_dir, "ask", "--json", "-", stdin="What is the capital of Peru?\n\nWho is Nikol Pashinyan?\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["answered"] for r in records] == [False, True]
    text = brief(data_dir, "ask", "What did Peskov say about Russian mediation?").stdout
    assert text.startswith("According to Sputnik (17 Nov 2021) [1]:")
    assert "\nSources:\n[1] Sputnik · 17 Nov 2021 · بيسكوف" in text


def test_console_chat_follow_up_lang_and_sources(data_dir):
    script = "What did Peskov say about mediation?\n/quotes\n/sources\n/lang ar\nand about the ceasefire?\n/quit\n"
    result = brief(data_dir, "chat", stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "According to Sputnik" in out
    assert "    «" in out, "/quotes shows the quoted sentences (the Sources button of Telegram)"
    assert "8 articles (7 stories) from 17 Nov 2021 to 8 Aug 2025." in out, "/sources describes the store"
    assert "ستكون الإجابات بالعربية." in out
    assert "بحسب سبوتنيك" in out, "the follow-up is answered in Arabic, from the same article"


def test_briefing_json_and_text(data_dir):
    result = brief(data_dir, "briefing", "--since", "2024-04-01", "--until", "2024-04-30", "--json")
    assert result.returncode == 0, result.stderr
    briefing = json.loads(result.stdout)
    (story,) = briefing["stories"]
    assert len(story["article_ids"]) == 2 and story["citations"][0]["source"] == "Reuters"
    quiet = brief(data_dir, "briefing", "--since", "7d", "--until", "2030-01-10")
    assert quiet.stdout.strip() == "No new articles about the conflict between 3 Jan 2030 and 10 Jan 2030."


def _listed_commands(help_text: str) -> list[str]:
    """The command names under "Commands:" in a click group's --help."""
    _, _, listing = help_text.partition("\nCommands:\n")
    return [line.split()[0] for line in listing.splitlines() if line.startswith("  ") and line.strip()]


def test_every_command_is_registered_in_the_one_list():
    from bot.cli import COMMANDS, main

    assert [command.name for command in COMMANDS] == EXPECTED_COMMANDS
    assert list(main.commands) == EXPECTED_COMMANDS, "registered in the order --help lists them"


def test_python_m_bot_cli_is_the_same_program_as_brief(tmp_path):
    script = brief(tmp_path / "data", "--help")
    module = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert script.returncode == module.returncode == 0, module.stderr
    assert _listed_commands(script.stdout) == _listed_commands(module.stdout) == EXPECTED_COMMANDS
    assert module.stdout == script.stdout
