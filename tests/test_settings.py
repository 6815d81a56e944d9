import re

from retrieval.settings import Settings

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
