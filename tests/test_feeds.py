"""Feeds polled over HTTP from 127.0.0.1: conditional GETs, new items ingested, a broken feed isolated."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

from retrieval.feeds import FeedPoller
from retrieval.search import Retriever

from .servers import serving
from .test_cli import brief

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Caucasus Wire</title>
<item><title>Armenia and Azerbaijan open a border crossing near Ijevan</title><link>http://127.0.0.1:9/ijevan</link>
<pubDate>Tue, 03 Mar 2026 09:00:00 GMT</pubDate><description>Armenia and Azerbaijan opened their first border
crossing near Ijevan on Tuesday, the two governments said, allowing trucks to pass for the first time since the
1990s under the peace agreement initialled in Washington the previous year.</description></item>
<item><title>Baku and Yerevan agree on rail link timetable</title><link>http://127.0.0.1:9/rail</link>
<pubDate>Wed, 04 Mar 2026 09:00:00 GMT</pubDate><description>Railway officials from Baku and Yerevan agreed a
timetable for reopening the rail link through Nakhchivan, with the first freight trains expected in the autumn, the
Azerbaijani railway company said in a statement on Wednesday.</description></item>
</channel></rss>"""


class ConditionalFeed(BaseHTTPRequestHandler):
    """/feed.xml with an ETag (304 when the client already has it); /broken.xml always fails."""

    seen_headers: list[dict] = []

    def do_GET(self):  # noqa: N802
        ConditionalFeed.seen_headers.append({"path": self.path, **dict(self.headers)})
        if self.path == "/broken.xml":
            self.send_response(500)
            self.end_headers()
            return
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
            return
        body = FEED.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_feeds_are_polled_conditionally_and_a_broken_one_is_isolated(index):
    clock = [1_000_000.0]
    poller = FeedPoller(index, clock=lambda: clock[0])
    ConditionalFeed.seen_headers.clear()
    with serving(ConditionalFeed) as base:
        good, bad = f"{base}/feed.xml", f"{base}/broken.xml"
        first = {r.url: r for r in poller.poll_all([bad, good])}
        assert first[good].status == "new" and first[good].new == 2
        assert first[bad].status == "failed" and first[bad].error == "HTTP 500"
        hits = Retriever(index).search("border crossing near Ijevan", k=1)
        assert hits and "Ijevan" in hits[0].title

        clock[0] += 31 * 60
        second = {r.url: r for r in poller.poll_all([bad, good])}
        assert second[good].status == "not modified" and second[good].new == 0
        assert second[bad].status == "failed"
        assert [h.get("If-None-Match") for h in ConditionalFeed.seen_headers if h["path"] == "/feed.xml"] == [
            None,
            '"v1"',
        ]
        clock[0] += 31 * 60  # the broken feed now waits 60 minutes (backed off), the good one is due again
        third = {r.url: r for r in poller.poll_all([bad, good])}
        assert third[bad].status == "waiting" and third[good].status == "not modified"

    state = {f["url"]: f for f in index.store.feeds()}
    assert state[good]["items_new"] == 2 and state[good]["items_seen"] == 2 and state[good]["failures"] == 0
    assert state[bad]["failures"] == 2 and state[bad]["last_error"] == "HTTP 500"


def test_brief_feeds_shows_status(tmp_path):
    data = tmp_path / "data"
    with serving(ConditionalFeed) as base:
        polled = brief(data, "feeds", "--poll", f"{base}/feed.xml", f"{base}/broken.xml")
    assert polled.returncode == 0, polled.stderr
    assert "new          " in polled.stdout and "2 new of 2" in polled.stdout
    assert "last error: HTTP 500" in polled.stdout and "(1 in a row)" in polled.stdout
