"""Every Bot API call retried on passing failures: flood control (429, by PTB's AIORateLimiter) and, around it, server
errors (5xx), timeouts and network errors, with exponential back-off, so an answer is not lost to one bad response."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]  # a Bot API result, as PTB's rate limiter types it


def is_transient(error: BaseException) -> bool:
    """PTB raises NetworkError for 5xx answers, connection failures and (as TimedOut) timeouts; BadRequest (4xx) is
    a NetworkError too, but sending it again would fail again."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


class RetryingRateLimiter(AIORateLimiter):
    def __init__(self, max_retries: int = 3, transient_retries: int = 4, backoff: float = 0.5, **kwargs: Any):
        super().__init__(max_retries=max_retries, **kwargs)
        self.transient_retries, self.backoff = transient_retries, backoff

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        def before_sleep(state: RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            log.warning("%s failed (%s); retry %s", endpoint, failure, state.attempt_number)

        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            wait=wait_exponential(multiplier=self.backoff, max=self.backoff * 16) + wait_random(0, self.backoff / 2),
            stop=stop_after_attempt(self.transient_retries + 1),
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        raise AssertionError("unreachable")
