"""URLs, pages and feeds fetched over real HTTP from a server on 127.0.0.1."""

from retrieval.ingest import ingest

from .servers import serving, static_site

PAGE = """<!doctype html><html lang="en"><head><title>Lachin road reopens | Caucasus Wire</title>
<meta property="og:site_name" content="Caucasus Wire">
<meta property="article:published_time" content="2023-09-24T10:00:00Z"></head>
<body><nav>Home | World | Sport</nav><article><h1>Lachin road reopens for evacuees</h1>
<p>Azerbaijan reopened the Lachin corridor on Sunday so that residents of Karabakh could leave for Armenia,
officials in Goris said.</p>
<p>The first buses carrying evacuees crossed the Hakari bridge in the afternoon, according to the Armenian
government, which said it was ready to receive 40,000 people.</p></article>
<footer>Copyright Caucasus Wire</footer></body></html>"""

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Caucasus Wire</title><link>{base}/</link>
<item><title>Ceasefire talks resume in Brussels</title><link>{base}/talks</link>
<pubDate>Mon, 15 May 2023 09:00:00 GMT</pubDate>
<description><![CDATA[<p>Armenian and Azerbaijani leaders met in Brussels on Sunday for talks hosted by the European
Council president. Both sides said they recognised each other's territorial integrity, according to a statement
issued after the meeting. The statement said that further talks on border delimitation would follow within weeks
and that the foreign ministers would meet again in Washington.</p>]]></description></item>
<item><title>Lachin road reopens for evacuees</title><link>{base}/lachin</link>
<pubDate>Sun, 24 Sep 2023 10:00:00 GMT</pubDate><description>Buses cross the Hakari bridge.</description></item>
</channel></rss>"""


def test_feed_url_entries_are_ingested_and_teasers_completed_from_their_page(index):
    routes = {"/lachin": (200, "text/html; charset=utf-8", PAGE.encode())}
    with serving(static_site(routes)) as base:
        routes["/feed.xml"] = (200, "application/rss+xml", FEED.format(base=base).encode())
        report = ingest(index, [f"{base}/feed.xml"])
        assert (report.new, report.failed) == (2, 0)
        articles = {a.url: a for a in index.store.iter_articles()}
        talks, lachin = articles[f"{base}/talks"], articles[f"{base}/lachin"]
    assert talks.title == "Ceasefire talks resume in Brussels"
    assert talks.source == "Caucasus Wire" and talks.published.isoformat() == "2023-05-15"
    assert "territorial integrity" in talks.text and "<p>" not in talks.text
    assert "40,000 people" in lachin.text, "the one-line teaser was completed from the article page"
    assert "Home | World" not in lachin.text and "Copyright" not in lachin.text


def test_html_url_gives_title_outlet_date_and_clean_text(index):
    with serving(static_site({"/a": (200, "text/html", PAGE.encode())})) as base:
        report = ingest(index, [f"{base}/a"])
    assert report.new == 1
    article = next(index.store.iter_articles())
    assert article.title.startswith("Lachin road reopens")
    assert article.source == "Caucasus Wire"
    assert article.published.isoformat() == "2023-09-24"
    assert article.url == f"{base}/a" and article.lang == "en"


def test_http_errors_are_reported_per_url(index):
    with serving(static_site({"/ok": (200, "text/html", PAGE.encode())})) as base:
        report = ingest(index, [f"{base}/missing", f"{base}/ok", "http://127.0.0.1:9/refused"])
    assert report.new == 1 and report.failed == 2
    reasons = {f.origin: f.reason for f in report.failures}
    assert reasons[f"{base}/missing"] == "HTTP 404"
    assert "cannot fetch" in reasons["http://127.0.0.1:9/refused"]


def test_html_file_is_ingested(index, tmp_path):
    (tmp_path / "page.html").write_text(PAGE, "utf-8")
    report = ingest(index, [str(tmp_path)])
    assert report.new == 1
    assert "Hakari bridge" in next(index.store.iter_articles()).text
