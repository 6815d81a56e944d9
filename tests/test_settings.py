import re

import pytest

from retrieval.settings import Settings, SettingsError

from .helpers import ROOT


def test_every_setting_is_documented_in_env_example_with_its_default(monkeypatch):
    example = (ROOT / ".env.example").read_text("utf-8")
    documented = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert documented == {name.upper() for name in Settings.model_fields}
    for name in documented:
        monkeypatch.delenv(name, raising=False)
    from_example = Settings(_env_file=ROOT / ".env.example")
    defaults = Settings(_env_file=None)
    assert from_example.model_dump() == defaults.model_dump()


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("BRIEF_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("CHUNK_CHARS", "900")
    settings = Settings(_env_file=None)
    assert settings.data_dir == tmp_path / "elsewhere" and settings.data_dir.is_dir()
    assert settings.chunk_chars == 900


def test_secrets_do_not_show_in_repr(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    settings = Settings(_env_file=None)
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings.model_dump())


def test_feeds_from_a_list_or_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv("FEEDS", "https://a.example/rss, https://b.example/atom")
    assert Settings(_env_file=None).feeds == ["https://a.example/rss", "https://b.example/atom"]
    listing = tmp_path / "feeds.txt"
    listing.write_text("# wires\nhttps://a.example/rss\n\nhttps://c.example/feed\n", "utf-8")
    monkeypatch.setenv("FEEDS", str(listing))
    assert Settings(_env_file=None).feeds == ["https://a.example/rss", "https://c.example/feed"]


def test_values_out_of_range_are_invalid_settings(monkeypatch, tmp_path):
    """Accepted before: HTTP_TIMEOUT=-1 was a ValueError traceback at the first fetch, MAX_QUESTION_CHARS=0 refused
    every question as 'too long', ANSWER_WORKERS=0 stopped the bot at start."""
    bad = {"HTTP_TIMEOUT": "-1", "MAX_QUESTION_CHARS": "0", "ANSWER_WORKERS": "0", "CHROMA_PORT": "99999"}
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        Settings(_env_file=None)
    assert str(error.value).splitlines() == [
        "invalid setting CHROMA_PORT='99999': allowed: a number of at most 65535",
        "invalid setting MAX_QUESTION_CHARS='0': allowed: a number of at least 1",
        "invalid setting ANSWER_WORKERS='0': allowed: a number of at least 1",
        "invalid setting HTTP_TIMEOUT='-1': allowed: a number greater than 0",
    ]


def test_a_data_directory_that_cannot_be_made_is_an_invalid_setting(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("BRIEF_DATA_DIR", str(tmp_path / "file" / "data"))
    with pytest.raises(SettingsError) as error:
        _ = Settings(_env_file=None).data_dir
    assert str(error.value) == (
        f"invalid setting BRIEF_DATA_DIR='{tmp_path / 'file' / 'data'}': allowed: a folder that can be created "
        "and written (Not a directory)"
    )
