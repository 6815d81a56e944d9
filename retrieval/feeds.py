"""Polling RSS/Atom feeds for fresh news: conditional GETs (ETag / Last-Modified), new items ingested, a failing
feed backed off and reported, never stopping the others."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import httpx

from .feed_state import FeedState, FeedStates
from .index import Index
from .ingest import Ingester
from .ingest_lock import IngestBusyError
from .sources import Failure, Fetcher, SourceError, parse_feed

MAX_BACKOFF = 6 * 3600.0


FeedStatus = Literal["new", "not modified", "failed", "waiting", "busy"]  # waiting: backing off; busy: an ingest ran


@dataclass
class FeedResult:
    url: str
    status: FeedStatus
    new: int = 0
    seen: int = 0
    error: str = ""


class FeedPoller:
    def __init__(self, index: Index, clock: Callable[[], float] = time.time, lock_timeout: float = 0.0):
        """`lock_timeout`: how long a poll waits for an ingest running on the same data directory (a `brief ingest`
        can hold it for hours); by default none: the feed is "busy" and the next round fetches it again."""
        self.index = index
        self.lock_timeout = lock_timeout
        self.states = FeedStates(index.store.path)
        self.clock = clock
        self.interval = index.settings.feed_interval_minutes * 60

    def poll_all(self, urls: Iterable[str], now: bool = False) -> list[FeedResult]:
        """Poll each feed that is due; `now` fetches every one at once (a user asked), due or backed off."""
        fetcher = Fetcher(self.index.settings)
        try:
            return [self.poll(url, fetcher, now) for url in urls]
        finally:
            fetcher.close()

    def poll(self, url: str, fetcher: Fetcher, now: bool = False) -> FeedResult:
        state = self.states.get(url)
        moment = self.clock()
        if state.next_try > moment and not now:
            return FeedResult(url, "waiting")
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        try:
            response = fetcher.client.get(url, headers=headers)
            if response.status_code == 304:
                return self._succeeded(state, moment, FeedResult(url, "not modified"))
            response.raise_for_status()
            result = self._ingest(url, response.content, response.headers.get("content-type", ""), fetcher)
        except (httpx.HTTPError, SourceError) as error:
            return self._failed(state, moment, url, _reason(error))
        except IngestBusyError as error:  # not the feed's fault: no back-off, no validators kept, fetched again
            return FeedResult(url, "busy", error=str(error))
        state.etag = response.headers.get("ETag")
        state.last_modified = response.headers.get("Last-Modified")
        return self._succeeded(state, moment, result)

    def _ingest(self, url: str, body: bytes, content_type: str, fetcher: Fetcher) -> FeedResult:
        ingester = Ingester(self.index, lock_timeout=self.lock_timeout)
        items = list(parse_feed(body, url, fetch_page=fetcher.text, content_type=content_type))
        articles = [item for item in items if not isinstance(item, Failure)]
        if not articles and any(isinstance(item, Failure) for item in items):
            raise SourceError(next(item.reason for item in items if isinstance(item, Failure)))
        with ingester.locked():  # held across the feed: its articles are read while earlier ones embed
            for article in articles:
                ingester.add(article)
            ingester.flush()
        return FeedResult(url, "new", new=ingester.report.new + ingester.report.updated, seen=len(articles))

    def _succeeded(self, state: FeedState, now: float, result: FeedResult) -> FeedResult:
        state.last_success = _stamp(now)
        state.failures = 0
        state.next_try = now + self.interval
        state.items_seen += result.seen
        state.items_new += result.new
        self.states.save(state)
        return result

    def _failed(self, state: FeedState, now: float, url: str, reason: str) -> FeedResult:
        state.last_error = reason
        state.error_at = _stamp(now)
        state.failures += 1
        state.next_try = now + min(self.interval * 2 ** (state.failures - 1), MAX_BACKOFF)
        self.states.save(state)
        return FeedResult(url, "failed", error=reason)


def _reason(error: Exception) -> str:
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    return f"{type(error).__name__}: {error}" if isinstance(error, httpx.HTTPError) else str(error)


def _stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
