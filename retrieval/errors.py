"""The product's own errors: each one says in one line what is wrong and what to do about it.

`brief` shows any of them as that one line (no traceback); the bot logs it for the admin."""

from __future__ import annotations


class BriefError(Exception):
    """Base of the errors a user or an admin can act on."""


class PromptsError(BriefError):
    """A prompt file is missing or unreadable: found when LLM mode starts, never in the middle of an answer."""


class IndexUnavailableError(BriefError, RuntimeError):
    """The vector index cannot be reached (a Chroma server that is down or refuses the connection)."""


class IndexMismatchError(BriefError, RuntimeError):
    """The index was built with another embedding model: its vectors cannot be compared with this one's."""
