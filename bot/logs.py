"""Logging that never prints a secret: the bot token is in every Bot API URL, keys may be in error texts."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterable
from typing import Any

_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")  # a Telegram bot token, whoever's it is
REDACTED = "[REDACTED]"


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _TOKEN_SHAPE.sub(REDACTED, text)


class RedactingRecordFactory:
    """A log record factory that redacts `secrets` (and anything shaped like a bot token) from each record."""

    def __init__(self, base: Callable[..., logging.LogRecord], secrets: list[str]):
        self.base, self.redacts = base, secrets

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.base(*args, **kwargs)
        message = record.getMessage()
        cleaned = redact(message, self.redacts)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip(), self.redacts)
        return record


def install_redaction(secrets: Iterable[str]) -> None:
    """Redact secrets from every log record as it is made, messages and tracebacks alike, whichever handler
    later prints it (a record factory sees records of every logger, which handler filters do not)."""
    kept = [s for s in secrets if s]
    base = logging.getLogRecordFactory()
    if isinstance(base, RedactingRecordFactory) and base.redacts == kept:
        return
    logging.setLogRecordFactory(RedactingRecordFactory(base, kept))


def configure_logging(secrets: Iterable[str], level: int = logging.INFO) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    # httpx logs every request URL, and Bot API URLs carry the token; the openai client (3.x) sends through httpx2,
    # which logs the same way: both are kept to warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    install_redaction(secrets)
