"""What a non-editable install gets: the wheel carries every prompt and data file, and LLM mode finds them there."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from .helpers import BRIEF, ROOT


def test_the_wheel_carries_every_prompt_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"retrieval/prompts/{p.name}" for p in (ROOT / "prompts").glob("*.md")}
    expected |= {f"retrieval/data/{p.name}" for p in (ROOT / "retrieval" / "data").iterdir() if p.is_file()}
    expected |= {"retrieval/e5_onnx/calibration.txt"}  # the 8-bit engine's build reads it
    assert len(expected) > 8
    assert expected <= names, f"missing from the wheel: {sorted(expected - names)}"
    assert not [n for n in names if n.startswith(("fakes/", "tests/", "bench/"))], "development code is not shipped"


def test_the_wheel_carries_the_command_line(wheel):
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    expected = {f"bot/cli/{p.name}" for p in (ROOT / "bot" / "cli").glob("*.py")}
    assert "bot/cli/__main__.py" in expected
    assert expected <= names, f"missing from the wheel: {sorted(expected - names)}"
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "brief = bot.cli:main" in archive.read(entry_points).decode()


def test_llm_mode_reads_the_prompts_from_an_installed_wheel(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import retrieval, sys; from retrieval.llm import Prompts; p = Prompts.load(); "
        "assert retrieval.__file__.startswith(sys.argv[1]), retrieval.__file__; "
        "assert p.system['ar'] and p.answer['en'] and p.briefing['ar'] and p.rewrite; print('ok')"
    )
    # The unpacked wheel first on the path and the project's folder not on it: only what the wheel carries is there.
    run = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, sys.argv[1]); {code}", str(site)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def test_a_missing_prompt_is_one_clear_start_up_error(tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "system.ar.md").write_text("نظام", "utf-8")  # the rest is missing
    env = {
        **os.environ,
        "BRIEF_DATA_DIR": str(tmp_path / "data"),
        "PROMPTS_DIR": str(prompts),
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "OPENAI_API_KEY": "sk-test-secret-key",
    }
    run = subprocess.run([BRIEF, "ask", "When did the ceasefire start?"], capture_output=True, text=True, env=env)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "prompt" in lines[0] and "system.en.md" in lines[0], run.stderr
    assert "Traceback" not in run.stderr and "sk-test-secret-key" not in run.stderr

    # The console chat says it before its welcome, not after the user has typed a question.
    chat = subprocess.run([BRIEF, "chat"], input="/quit\n", capture_output=True, text=True, env=env, timeout=120)
    assert chat.returncode == 2 and chat.stdout == "", chat.stdout
    assert chat.stderr.strip().splitlines() == lines
    briefing = subprocess.run(
        [BRIEF, "briefing", "--since", "7d"], capture_output=True, text=True, env=env, timeout=120
    )
    assert briefing.returncode == 2 and briefing.stdout == "" and briefing.stderr.strip().splitlines() == lines
