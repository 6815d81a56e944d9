"""The product's own errors, one tree: each one says in one line what is wrong and what to do about it.

Callers catch what they mean (`SourceError` for one bad file, `LLMError` to fall back to extraction, `BriefError`
for anything a user or an admin can act on). `brief` shows any of them as that one line (no traceback) and exits with
its `exit_code`; the bot logs it for the admin. Errors kept in their own modules (WindowError in briefing.py,
SettingsError in settings.py, ScheduleError, IndexUnreadableError and BotApiUnreachableError in bot/) derive from
these."""

from __future__ import annotations

from datetime import date


class BriefError(Exception):
    """Base of the errors a user or an admin can act on."""

    exit_code = 2  # `brief`'s exit status: a start-up or usage problem unless a subclass says otherwise


class PhrasedError(BriefError):
    """An error told to a user in their language: `key` names its phrase in retrieval/phrases.py."""

    def __init__(self, key: str, **values: object):
        self.key, self.values = key, values
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        from .phrases import phrase, render_date

        values = {k: render_date(v, lang) if isinstance(v, date) else v for k, v in self.values.items()}
        return phrase(self.key, lang, **values)


class PromptsError(BriefError):
    """A prompt file is missing or unreadable: found when LLM mode starts, never in the middle of an answer."""


class IndexUnavailableError(BriefError, RuntimeError):
    """The vector index cannot be reached (a Chroma server that is down or refuses the connection)."""


class IndexMismatchError(BriefError, RuntimeError):
    """The index was built with another embedding model: its vectors cannot be compared with this one's."""


class SourceError(BriefError):
    """A source that cannot be read or parsed; the message says why, for the user."""


class IngestBusyError(BriefError, RuntimeError):
    """Another ingest held the data directory for longer than the caller would wait."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class LLMError(BriefError):
    """The language model gave nothing usable: callers answer extractively instead."""


class LLMUnavailableError(LLMError):
    """The model's endpoint failed: unreachable, timed out, refused the request or answered something not an answer."""


class LLMUnusableError(LLMError, RuntimeError):
    """The model answered, but not with anything usable (empty, or no valid citation at all)."""
