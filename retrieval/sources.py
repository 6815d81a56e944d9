"""Read sources (files, folders, JSONL, HTML, RSS/Atom, URLs) into Articles; a bad source becomes a Failure."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlparse

import feedparser
import httpx
import trafilatura
from charset_normalizer import CharsetMatch, from_bytes
from ftfy import fix_encoding
from ftfy.badness import badness
from trafilatura.settings import Document

from .datelines import parse_date, parse_dateline
from .errors import SourceError
from .lang import CONFIDENT, SUPPORTED, identify
from .models import Article
from .settings import Settings

TEXT_SUFFIXES = {".txt", ".md", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
FEED_SUFFIXES = {".rss", ".atom", ".xml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | FEED_SUFFIXES | JSONL_SUFFIXES
MAX_BYTES = 50 * 1024 * 1024
SHORT_ENTRY = 400  # a feed entry shorter than this is a teaser: fetch the full article
MIN_LETTERS = 15  # fewer letters than a short sentence is no article ("â€™â€Š", an empty teaser)


@dataclass
class Failure:
    origin: str
    reason: str


def stable_id(kind: str, key: str) -> str:
    return f"{kind}-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def decode(data: bytes) -> str:
    """Bytes to text: UTF-8 (with or without BOM) first, else the detected code page (windows-1256 is common)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError("not a text file (binary content)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = _detected(data)
    if best is None:
        raise SourceError("cannot tell the text encoding of this file")
    return str(best)


def _detected(data: bytes) -> CharsetMatch | None:
    """The Arabic and Western code pages first (windows-1256 is easily mistaken), then any other (big5, euc-kr …)."""
    best = from_bytes(data, cp_isolation=["cp1256", "iso8859_6", "cp1252", "latin_1", "utf_16", "cp720"]).best()
    return best or from_bytes(data).best()


_XML_ENCODING = re.compile(rb"\s*<\?xml[^>]*\bencoding\s*=", re.IGNORECASE)


def _feed_content_type(raw: bytes, content_type: str) -> str:
    """The Content-Type to parse a feed by: as served when it, a BOM or the XML declaration names the encoding, or
    the bytes are UTF-8 (XML's default); else with the detected charset (feedparser alone falls back to
    windows-1252, which garbles an undeclared windows-1256, big5 or euc-kr feed)."""
    declared = "charset=" in content_type.lower() or _XML_ENCODING.match(raw[:1024])
    if declared or raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return content_type
    try:
        raw.decode("utf-8")
        return content_type
    except UnicodeDecodeError:
        pass
    best = _detected(raw)
    if best is None:
        return content_type
    kind = content_type.split(";")[0].strip() or "application/xml"
    return f"{kind}; charset={best.encoding}"


def _real_text(text: str) -> str:
    """The text with UTF-8 read as a Western code page repaired ("Armeniaâ€™s" → "Armenia’s"); an error when it
    stays garbled or holds too few letters to be an article."""
    if badness(text):
        text = fix_encoding(text)
        if badness(text) >= max(1, len(text) // 500):
            raise SourceError("the text is garbled (characters decoded with the wrong encoding)")
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        raise SourceError(f"no article text (fewer than {MIN_LETTERS} letters)")
    return text


def _language(article: Article) -> str:
    """ "ar" or "en"; anything else is refused with the language named, never stored under another label. What the
    text is wins over a given label that contradicts it (an Arabic text labelled "en" is stored as Arabic)."""
    given = article.lang.strip().lower()
    if given and given not in SUPPORTED:
        raise SourceError(f"unsupported language {article.lang!r} in the metadata (only 'ar' and 'en' are accepted)")
    found = identify(article.title + "\n" + article.text)
    if found.lang not in SUPPORTED and found.confidence >= CONFIDENT:
        raise SourceError(f"the article is in {found.name} ({found.lang}); only Arabic and English are supported")
    if found.lang in SUPPORTED and found.confidence >= CONFIDENT:
        return found.lang
    if given:
        return given
    if found.lang not in SUPPORTED:
        guess = f" (perhaps {found.name})" if found.lang else ""
        raise SourceError(f"cannot tell the article's language{guess}; only Arabic and English are supported")
    return found.lang


def _finish(article: Article, reference: datetime | None = None, given_source: bool = False) -> Article:
    """Fill what the source did not say from the text itself: dateline outlets and date, language.

    `given_source`: the outlet was stated in the record's metadata, which wins over the dateline; an outlet guessed
    from a site or feed name is the republisher when the dateline credits another outlet."""
    article.title = " ".join((fix_encoding(article.title) if badness(article.title) else article.title).split())
    article.text = article.text.strip()
    if not article.text:
        raise SourceError("no article text")
    article.text = _real_text(article.text)
    if not article.source or not article.published:
        dateline = parse_dateline(article.text, reference)
        if dateline.outlets and not article.source:
            article.source, article.via = dateline.source, dateline.via
        elif dateline.outlets and not given_source and dateline.source != article.source:
            article.via = article.via or article.source  # wire copy republished: credit the original outlet
            article.source = dateline.source
        article.published = article.published or dateline.published
    article.lang = _language(article)
    return article


def parse_text(raw: str, article_id: str, origin: str) -> Article:
    """Plain text or Markdown: the first non-empty line is the title, a dateline may open the body."""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\n").split("\n", 1)
    title = lines[0].lstrip("#").strip()
    body = lines[1] if len(lines) > 1 else ""
    return _finish(Article(id=article_id, title=title, text=body, origin=origin))


def parse_html(raw: str, article_id: str, origin: str, url: str = "") -> Article:
    doc = trafilatura.bare_extraction(raw, url=url or None, with_metadata=True, include_comments=False)
    if not isinstance(doc, Document) or not doc.text or not doc.text.strip():  # a dict only with as_dict=True
        raise SourceError("no article text found in the HTML")
    host = (urlparse(url).hostname or "") if url else ""
    return _finish(
        Article(
            id=article_id,
            title=doc.title or "",
            text=doc.text,
            source=doc.sitename or host,
            url=url or doc.url or "",
            published=parse_date(doc.date) if doc.date else None,
            origin=origin,
        )
    )


def parse_jsonl(raw: str, origin: str) -> Iterator[Article | Failure]:
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{origin}:{number}"
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise SourceError("a line must hold a JSON object")
            text = str(record.get("text") or "")
            url = str(record.get("url") or "")
            article_id = str(record.get("id") or "") or (stable_id("url", url) if url else stable_id("text", text))
            published = record.get("published")
            source = str(record.get("source") or "").strip()
            yield _finish(
                Article(
                    id=article_id,
                    title=str(record.get("title") or ""),
                    text=text,
                    source=source,
                    url=url,
                    published=parse_date(str(published)) if published else None,
                    lang=str(record.get("lang") or ""),
                    origin=where,
                ),
                given_source=bool(source),
            )
        except json.JSONDecodeError as exc:
            yield Failure(where, f"not valid JSON ({exc.msg})")
        except SourceError as exc:
            yield Failure(where, str(exc))


def looks_like_feed(raw: str | bytes) -> bool:
    head = raw[:2000].lower()
    if isinstance(head, bytes):  # the markup of every feed encoding but UTF-16 is ASCII
        head = head.replace(b"\x00", b"").decode("latin-1")
    return "<rss" in head or "<feed" in head or "<rdf:rdf" in head


def parse_feed(raw: bytes | str, origin: str, fetch_page=None, content_type: str = "") -> Iterator[Article | Failure]:
    """Entries of an RSS/Atom feed; teaser entries are completed from their page when `fetch_page` is given.

    Give the bytes as served and the HTTP Content-Type: feedparser decodes by the XML declaration and the header's
    charset (without the header, a big5 feed declared only there is read as windows-1252)."""
    if isinstance(raw, bytes):
        content_type = _feed_content_type(raw, content_type)
    feed = feedparser.parse(raw, response_headers={"content-type": content_type} if content_type else None)
    broken = feed.bozo and not isinstance(feed.get("bozo_exception"), feedparser.CharacterEncodingOverride)
    if broken:  # report it, and still take whatever entries the lenient parser recovered
        yield Failure(origin, f"malformed feed ({feed.bozo_exception})")
    if not feed.entries:
        if not broken:
            yield Failure(origin, "the feed has no entries")
        return
    outlet = (feed.feed.get("title") or "").strip()
    for number, entry in enumerate(feed.entries, 1):
        link = entry.get("link", "")
        where = link or f"{origin}#{number}"
        try:
            html = entry.content[0].value if entry.get("content") else entry.get("summary", "")
            text = trafilatura.html2txt(f"<html><body>{html}</body></html>") if "<" in html else html
            article_id = stable_id("url", link) if link else stable_id("entry", entry.get("id") or f"{origin}#{number}")
            if fetch_page and link.startswith(("http://", "https://")) and len(text) < SHORT_ENTRY:
                try:
                    page = parse_html(fetch_page(link), article_id, where, url=link)
                    text = page.text
                except (SourceError, httpx.HTTPError):
                    pass  # keep the feed's own summary
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            source = entry.get("source", {}).get("title") or outlet
            yield _finish(
                Article(
                    id=article_id,
                    title=entry.get("title", ""),
                    text=text or "",
                    source=source,
                    url=link,
                    published=date(*stamp[:3]) if stamp else None,
                    origin=where,
                )
            )
        except SourceError as exc:
            yield Failure(where, str(exc))


class Fetcher:
    """HTTP GET for URLs and feeds, with the configured timeout and user agent."""

    def __init__(self, settings: Settings):
        self.client = httpx.Client(
            timeout=settings.http_timeout, follow_redirects=True, headers={"User-Agent": settings.user_agent}
        )

    def get(self, url: str) -> httpx.Response:
        response = self.client.get(url)
        response.raise_for_status()
        if len(response.content) > MAX_BYTES:
            raise SourceError("the response is larger than 50 MB")
        return response

    def text(self, url: str) -> str:
        response = self.get(url)
        return response.text if response.encoding else decode(response.content)

    def close(self) -> None:
        self.client.close()


def read_url(url: str, fetcher: Fetcher) -> Iterator[Article | Failure]:
    try:
        response = fetcher.get(url)
    except httpx.HTTPStatusError as exc:
        yield Failure(url, f"HTTP {exc.response.status_code}")
        return
    except httpx.HTTPError as exc:
        yield Failure(url, f"cannot fetch ({type(exc).__name__}: {exc})")
        return
    except SourceError as exc:
        yield Failure(url, str(exc))
        return
    content_type = response.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    body = response.content
    try:
        if "xml" in kind or "rss" in kind or "atom" in kind or looks_like_feed(body):
            yield from parse_feed(body, url, fetch_page=fetcher.text, content_type=content_type)
            return
        text = response.text if "charset" in content_type else decode(body)
        if kind.startswith("text/plain"):
            yield parse_text(text, stable_id("url", url), url)
        else:
            yield parse_html(text, stable_id("url", url), url, url=url)
    except SourceError as exc:
        yield Failure(url, str(exc))


def read_file(path: Path, fetcher: Fetcher | None = None) -> Iterator[Article | Failure]:
    origin = str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SourceError("the file is larger than 50 MB")
        data = path.read_bytes()
    except OSError as exc:  # only reading the file: errors of our own code must not pass for a bad file
        yield Failure(origin, exc.strerror or str(exc))
        return
    except SourceError as exc:
        yield Failure(origin, str(exc))
        return
    try:
        if not data.strip():
            raise SourceError("the file is empty")
        suffix = path.suffix.lower()
        if suffix in FEED_SUFFIXES or (suffix not in TEXT_SUFFIXES | JSONL_SUFFIXES and looks_like_feed(data)):
            # feedparser decodes by the XML declaration: decoding first would guess, and fail on big5 or euc-kr
            yield from parse_feed(data, origin, fetch_page=fetcher.text if fetcher else None)
            return
        raw = decode(data)
        article_id = stable_id("file", str(path.resolve()))
        if suffix in JSONL_SUFFIXES:
            yield from parse_jsonl(raw, origin)
        elif suffix in HTML_SUFFIXES or re.match(r"\s*<(!doctype|html)", raw, re.I):
            yield parse_html(raw, article_id, origin)
        else:
            yield parse_text(raw, article_id, origin)
    except SourceError as exc:
        yield Failure(origin, str(exc))


def read_source(spec: str, fetcher: Fetcher | None = None) -> Iterator[Article | Failure]:
    """Everything one command-line argument names: a URL, a file, or a folder (recursively)."""
    if re.match(r"https?://", spec, re.I):
        if fetcher is None:
            raise ValueError("a Fetcher is needed for URLs")
        yield from read_url(spec, fetcher)
        return
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in KNOWN_SUFFIXES)
        for file in files:
            yield from read_file(file, fetcher)
    elif path.exists():
        yield from read_file(path, fetcher)
    else:
        yield Failure(spec, "no such file, folder or URL")
