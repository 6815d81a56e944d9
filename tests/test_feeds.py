"""Feeds polled over HTTP from 127.0.0.1: conditional GETs, new items ingested, a broken feed isolated."""

from __future__ import annotations

import time

import pytest

from retrieval.feed_state import FeedStates
from retrieval.feeds import FeedPoller
from retrieval.ingest import ingest
from retrieval.search import Retriever
from retrieval.sources import Article, Failure, read_source

from .helpers import brief, ingest_lock_held_elsewhere
from .servers import ConditionalFeed, serving, static_site


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

    state = {f.url: f for f in FeedStates(index.store.path).all()}
    assert (state[good].items_new, state[good].items_seen, state[good].failures) == (2, 2, 0)
    assert state[good].etag == '"v1"' and state[good].next_try == clock[0] + 30 * 60
    assert state[bad].failures == 2 and state[bad].last_error == "HTTP 500" and state[bad].etag is None


def test_a_feed_poll_during_an_ingest_is_busy_not_failed_and_is_fetched_next_round(index):
    """The bot's poll never waits behind a `brief ingest` that can hold the data directory for hours."""
    poller = FeedPoller(index)
    with serving(ConditionalFeed) as base:
        url = f"{base}/feed.xml"
        with ingest_lock_held_elsewhere(index.settings.data_dir):
            started = time.monotonic()
            [busy] = poller.poll_all([url])
            assert busy.status == "busy" and "another ingest" in busy.error and time.monotonic() - started < 5
            state = FeedStates(index.store.path).get(url)
            assert state.failures == 0 and not state.etag, "no back-off, and the next GET is not conditional"
        [result] = poller.poll_all([url])
    assert result.status == "new" and result.new == 2


def test_brief_feeds_poll_fetches_every_feed_now_and_fails_when_one_failed(tmp_path):
    data = tmp_path / "data"
    ConditionalFeed.seen_headers.clear()
    with serving(ConditionalFeed) as base:
        good, gone = f"{base}/feed.xml", f"{base}/gone.xml"
        polled = brief(data, "feeds", "--poll", good, gone)
        again = brief(data, "feeds", "--poll", good)
    assert polled.returncode == 1
    assert "new          " in polled.stdout and "2 new of 2" in polled.stdout
    assert "last error: HTTP 404" in polled.stdout and "(1 in a row)" in polled.stdout
    assert polled.stderr.strip() == f"error: feed {gone} failed: HTTP 404"
    # Right after (the feed is not due for FEED_INTERVAL_MINUTES), --poll fetches it again, conditionally.
    assert again.returncode == 0, again.stderr
    assert f"not modified {good}" in again.stdout
    assert [h["path"] for h in ConditionalFeed.seen_headers] == ["/feed.xml", "/gone.xml", "/feed.xml"]
    assert ConditionalFeed.seen_headers[2].get("If-None-Match") == '"v1"'
    nothing = brief(data, "feeds", "--poll")  # no URL and no FEEDS: was silent, exit 0, nothing fetched
    assert nothing.returncode == 2 and "Error: no feed to poll: give the feed URLs, or set FEEDS" in nothing.stderr


ENGLISH_ENTRY = (
    "Armenia and Azerbaijan opened their first border crossing near Ijevan on Tuesday, the two governments said, "
    "allowing trucks to pass for the first time since the 1990s under the peace agreement initialled in Washington."
)
RSS = """<?xml version="1.0"{declaration}?>
<rss version="2.0"><channel><title>{outlet}</title>
<item><title>{title}</title><link>http://127.0.0.1:9/{key}-en</link><pubDate>Tue, 03 Mar 2026 09:00:00 GMT</pubDate>
<description>{english}</description></item>
<item><title>{native_title}</title><link>http://127.0.0.1:9/{key}-native</link>
<pubDate>Tue, 03 Mar 2026 09:00:00 GMT</pubDate><description>{native}</description></item>
</channel></rss>"""
BIG5_FEED = RSS.format(
    declaration=' encoding="big5"',
    outlet="中央通訊社",
    key="cna",
    title="Armenia’s first border crossing with Azerbaijan opens",
    english=ENGLISH_ENTRY,
    native_title="亞美尼亞與亞塞拜然開放首個邊境口岸",
    native="亞美尼亞與亞塞拜然週二在伊傑萬附近開放首個共同邊境口岸，兩國政府表示，卡車自一九九零年代以來首次可以通行。",
).encode("big5")
EUC_KR_FEED = RSS.format(  # no encoding in the XML declaration: only the HTTP header says euc-kr
    declaration="",
    outlet="연합뉴스",
    key="yna",
    title="Armenia and Azerbaijan open first border crossing",
    english=ENGLISH_ENTRY,
    native_title="아르메니아와 아제르바이잔, 첫 국경 검문소 개방",
    native="아르메니아와 아제르바이잔은 화요일 이제반 인근에 첫 공동 국경 검문소를 열었다고 양국 정부가 밝혔다. 트럭이 "
    "1990년대 이후 처음으로 국경을 통과할 수 있게 됐다.",
).encode("euc-kr")
ARABIC_ENTRY = (
    "أعلنت أرمينيا وأذربيجان يوم الثلاثاء افتتاح أول معبر حدودي مشترك بينهما قرب إيجيفان، وقالت الحكومتان إن "
    "الشاحنات ستعبر لأول مرة منذ التسعينيات بموجب اتفاق السلام."
)
WINDOWS_1256_FEED = RSS.format(  # neither the XML declaration nor the HTTP header names its encoding
    declaration="",
    outlet="وكالة الأنباء",
    key="wam",
    title="Armenia’s first border crossing with Azerbaijan opens",
    english=ENGLISH_ENTRY,
    native_title="افتتاح أول معبر حدودي بين أرمينيا وأذربيجان",
    native=ARABIC_ENTRY,
).encode("cp1256")
MOJIBAKE_FEED = f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caucasus Wire</title>
<item><title>â€™â€Š</title><link>http://127.0.0.1:9/garbled</link><description>â€™â€Š</description></item>
<item><title>Border crossing opens</title><link>http://127.0.0.1:9/crossing</link>
<description>{ENGLISH_ENTRY}</description></item></channel></rss>""".encode()


@pytest.fixture(scope="module")
def encoded_feeds():
    routes = {
        "/big5.xml": (200, "application/rss+xml", BIG5_FEED),
        "/euc-kr.xml": (200, "application/rss+xml; charset=EUC-KR", EUC_KR_FEED),
        "/mojibake.xml": (200, "application/rss+xml", MOJIBAKE_FEED),
        "/big5-undeclared.xml": (200, "application/rss+xml", BIG5_FEED.replace(b' encoding="big5"', b"")),
        "/windows-1256.xml": (200, "application/rss+xml", WINDOWS_1256_FEED),
    }
    with serving(static_site(routes)) as base:
        yield base


def test_big5_and_euc_kr_feeds_are_decoded_and_their_entries_judged_by_language(index, encoded_feeds):
    base = encoded_feeds
    report = ingest(index, [f"{base}/big5.xml", f"{base}/euc-kr.xml"])
    assert (report.new, report.failed) == (2, 2)
    reasons = {f.origin: f.reason for f in report.failures}
    assert "Chinese (zh)" in reasons["http://127.0.0.1:9/cna-native"]
    assert "Korean (ko)" in reasons["http://127.0.0.1:9/yna-native"]
    stored = {a.url: a for a in index.store.iter_articles()}
    cna, yna = stored["http://127.0.0.1:9/cna-en"], stored["http://127.0.0.1:9/yna-en"]
    assert (cna.source, cna.lang) == ("中央通訊社", "en")
    assert cna.title == "Armenia’s first border crossing with Azerbaijan opens"
    assert (yna.source, yna.lang) == ("연합뉴스", "en")


def test_a_feed_that_names_no_encoding_is_decoded_by_the_detected_one(index, encoded_feeds):
    """Not UTF-8 and declared nowhere: feedparser alone read these as windows-1252, storing a garbled title and
    refusing the Arabic entry as garbled."""
    report = ingest(index, [f"{encoded_feeds}/big5-undeclared.xml", f"{encoded_feeds}/windows-1256.xml"])
    assert (report.new, report.duplicate, report.failed) == (2, 1, 1), "the two English entries are one text"
    assert "Chinese (zh)" in report.failures[0].reason
    stored = {a.url: a for a in index.store.iter_articles()}
    assert stored["http://127.0.0.1:9/cna-en"].title == "Armenia’s first border crossing with Azerbaijan opens"
    arabic = stored["http://127.0.0.1:9/wam-native"]
    assert (arabic.lang, arabic.source) == ("ar", "وكالة الأنباء")
    assert arabic.title == "افتتاح أول معبر حدودي بين أرمينيا وأذربيجان" and arabic.text == ARABIC_ENTRY
    path = index.settings.data_dir / "wam.xml"  # the same bytes from a file
    path.write_bytes(WINDOWS_1256_FEED)
    assert [a.title for a in read_source(str(path)) if isinstance(a, Article)][1] == arabic.title


def test_a_big5_feed_file_is_decoded_by_its_declaration(tmp_path):
    path = tmp_path / "cna.xml"
    path.write_bytes(BIG5_FEED)
    items = list(read_source(str(path)))
    assert [type(i) for i in items] == [Article, Failure]
    assert items[0].source == "中央通訊社" and "Chinese (zh)" in items[1].reason


def test_the_poller_decodes_by_the_http_charset(index, encoded_feeds):
    [result] = FeedPoller(index).poll_all([f"{encoded_feeds}/euc-kr.xml"])
    assert (result.status, result.new) == ("new", 1)
    assert next(index.store.iter_articles()).source == "연합뉴스"


def test_a_mojibake_entry_is_refused_and_the_rest_of_the_feed_kept(index, encoded_feeds):
    report = ingest(index, [f"{encoded_feeds}/mojibake.xml"])
    assert (report.new, report.failed) == (1, 1)
    assert report.failures[0].origin == "http://127.0.0.1:9/garbled"
    assert report.failures[0].reason.startswith("no article text")
    assert [a.title for a in index.store.iter_articles()] == ["Border crossing opens"]
