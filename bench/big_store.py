"""A large Arabic/English article store for load measures, built once and cached, and texts held back from it.

The texts are the shared evaluation sets, read in place (never copied into the repository): XQuAD-R paragraphs
(ar/en), the same-topic pools and their raw sources (ARCD in Arabic, the SQuAD 2.0 dev explorer pages in English),
and the news-like set in bench/news/. Each distinct paragraph is one article ("edition 0"); a store bigger than
those make is filled with later editions, each article one paragraph followed by another of the same language (a
different pair in each edition, so no two articles are near-duplicates, while most sentences repeat: the build
embeds each distinct text once). `held_back` texts are never in the store: a feed serves them as new articles.

The store is built with the project's ingest under bench/.work/bot_load/<key>/data, the key hashing the articles,
the chunking settings and the embedding engine's name (not the ingest code: `--rebuild` after changing it);
`models/` (the engine's build) is shared between keys.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retrieval.chunking import chunk_article  # noqa: E402
from retrieval.embeddings import Embedder  # noqa: E402
from retrieval.index import Index  # noqa: E402
from retrieval.ingest import Ingester  # noqa: E402
from retrieval.models import Article  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from retrieval.sources import read_source  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
NEWS = ROOT / "bench" / "news" / "articles"
WORK = ROOT / "bench" / ".work" / "bot_load"
MODELS = WORK / "models"  # the embedding engine's build, shared by every store and run
FORMAT = 1  # bump when the way articles are made changes


@dataclass
class Text:
    """One article-sized text of a shared set."""

    key: str
    title: str
    lang: str
    text: str
    source: str


class _ExplorerPage(HTMLParser):
    """The paragraphs (<pre>) and title (<h1 id=title>) of one SQuAD explorer article page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title, self.paragraphs, self.mode, self.buf = "", [], "", []  # type: tuple[str, list[str], str, list[str]]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if (tag == "h1" and dict(attrs).get("id") == "title") or tag == "pre":
            self.mode, self.buf = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag == self.mode == "h1":
            self.title = "".join(self.buf).replace("_", " ")
        elif tag == self.mode == "pre":
            self.paragraphs.append("".join(self.buf))
        if tag == self.mode:
            self.mode = ""

    def handle_data(self, data: str) -> None:
        if self.mode:
            self.buf.append(data)


def shared_texts() -> list[Text]:
    """Every distinct Arabic or English paragraph of the shared sets, in a fixed order."""
    found: list[Text] = []
    for line in (EVAL / "xquad_r" / "passages.jsonl").open(encoding="utf-8"):
        p = json.loads(line)
        if p["lang"] in ("ar", "en"):
            found.append(Text("", p.get("title") or "", p["lang"], p["context"], "XQuAD-R"))
    for line in (EVAL / "ontopic" / "pools.jsonl").open(encoding="utf-8"):
        p = json.loads(line)
        if p.get("lang") in ("ar", "en"):
            found.append(Text("", p.get("title") or "", p["lang"], p["text"], p.get("source") or "pools"))
    for name in ("arcd.json", "arcd-test.json"):
        data = json.loads((EVAL / "ontopic" / "raw" / name).read_text(encoding="utf-8"))["data"]
        for article in data:
            for paragraph in article["paragraphs"]:
                found.append(Text("", article.get("title") or "", "ar", paragraph["context"], "ARCD"))
    for page in sorted((EVAL / "ontopic" / "raw" / "squad2_dev_explorer").glob("*.html")):
        parsed = _ExplorerPage()
        parsed.feed(page.read_text(encoding="utf-8"))
        found += [Text("", parsed.title, "en", p, "SQuAD 2.0") for p in parsed.paragraphs]
    for article in read_source(str(NEWS)):
        if isinstance(article, Article):
            found.append(Text("", article.title, article.lang, article.text, article.source or "news"))
    distinct: dict[str, Text] = {}
    for t in found:
        text = " ".join(t.text.split())
        key = hashlib.sha1(text.encode()).hexdigest()[:16]
        if len(text) >= 200 and key not in distinct:
            distinct[key] = Text(key, t.title, t.lang, text, t.source)
    return list(distinct.values())


def split(texts: list[Text], held: int, seed: int = 11) -> tuple[list[Text], list[Text]]:
    """(store texts, `held` texts held back for a feed): the held ones long enough that the feed poller takes them
    as whole articles (it fetches the page of a shorter entry), both languages in proportion."""
    order = list(texts)
    random.Random(seed).shuffle(order)
    long = [t for t in order if len(t.text) >= 500]
    held_back = long[:held]
    keys = {t.key for t in held_back}
    return [t for t in order if t.key not in keys], held_back


def _day(n: int) -> str:
    return (date(2020, 1, 1) + timedelta(days=n % 2190)).isoformat()


def store_records(texts: list[Text], chunks: int, chunk_chars: int) -> list[dict]:
    """Articles until their chunks (by the project's chunker) reach `chunks`: edition 0 is each text once, edition k
    pairs each text with the one k·7 places after it among those of its language."""
    by_lang = {lang: [t for t in texts if t.lang == lang] for lang in ("ar", "en")}
    place = {t.key: i for same in by_lang.values() for i, t in enumerate(same)}
    records: list[dict] = []
    total = 0
    edition = 0
    while total < chunks:
        made = 0
        for i, first in enumerate(texts):
            if edition == 0:
                title, body = first.title, first.text
            else:
                same = by_lang[first.lang]
                if edition * 7 >= len(same):  # every pair of this language made
                    continue
                second = same[(place[first.key] + edition * 7) % len(same)]
                title, body = f"{first.title} / {second.title}", f"{first.text}\n\n{second.text}"
            record = {
                "id": f"load-{first.key}-{edition}",
                "title": title or f"Item {i}",
                "source": first.source,
                "published": _day(i + edition * 97),
                "lang": first.lang,
                "text": body,
            }
            article = Article(id=record["id"], title=record["title"], text=body, lang=first.lang)
            total += len(chunk_article(article, chunk_chars))
            records.append(record)
            made += 1
            if total >= chunks:
                break
        if not made:
            break
        edition += 1
    return records


@dataclass
class Built:
    data: Path  # the cached data directory: copy it before writing to it
    articles: int
    chunks: int
    engine: str
    seconds: float  # how long the build took
    cached: bool = False  # built by an earlier run


def link_models(data: Path) -> None:
    """The data directory's `models/` is the shared engine build (the ONNX model is made once, not per store)."""
    MODELS.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    if not (data / "models").exists():
        (data / "models").symlink_to(MODELS.resolve(), target_is_directory=True)


def load_engine(settings: Settings) -> Embedder:
    """The engine the bot would make (through `Index.embedder`), its build kept under bench/.work/bot_load/models."""
    home = WORK / "engine"
    link_models(home)
    return Index(settings.model_copy(update={"brief_data_dir": home})).embedder


def build(settings: Settings, engine: Embedder, records: list[dict], rebuild: bool = False) -> Built:
    """The store of `records`, from the cache when it was built before with the same engine and chunk settings."""
    knobs = {
        "format": FORMAT,
        "engine": engine.name,
        "chunk_chars": settings.chunk_chars,
        "article_vector": settings.article_vector,
        "article_embed_chars": settings.article_embed_chars,
    }
    digest = hashlib.sha256(json.dumps(knobs, sort_keys=True).encode())
    for record in records:
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode())
    home = WORK / f"store-{digest.hexdigest()[:16]}"
    done = home / "built.json"
    if done.exists() and not rebuild:
        return Built(**{**json.loads(done.read_text()), "data": home / "data", "cached": True})
    shutil.rmtree(home, ignore_errors=True)  # an interrupted build, or --rebuild
    link_models(home / "data")
    source = home / "articles.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    from ontopic import CachingEmbedder  # vectors by text: the editions repeat most sentences, embedded once

    memo = CachingEmbedder(engine, WORK / "embed-cache", cache_queries=False)
    index = Index(settings.model_copy(update={"brief_data_dir": home / "data"}), embedder=memo)
    started = time.perf_counter()
    shown = [0.0]

    def progress(done_chunks: int, known: int) -> None:
        if time.perf_counter() - shown[0] >= 30:
            shown[0] = time.perf_counter()
            print(f"  building the store: {done_chunks} of {known}+ chunks embedded", file=sys.stderr, flush=True)

    print(f"building the store ({len(records)} articles) under {home}: once per engine and size", file=sys.stderr)
    report = Ingester(index, on_progress=progress).run([str(source)])
    memo.flush()  # a rebuild (another size, --rebuild) embeds only texts it has not seen
    if report.interrupted:
        sys.exit(f"error: the store build was interrupted: {report.summary()}")
    if report.failed:
        print(f"  {report.failed} texts refused by ingest: {report.failures[0].reason} …", file=sys.stderr)
    stats = index.store.stats()
    built = Built(home / "data", stats["articles"], stats["chunks"], engine.name, time.perf_counter() - started)
    done.write_text(json.dumps({k: v for k, v in asdict(built).items() if k not in ("data", "cached")}))
    return built


def working_copy(built: Built, into: Path) -> Path:
    """A copy of the cached store to write to (a run adds the feed's articles), sharing the engine build."""
    data = into / "data"
    shutil.copytree(built.data, data, symlinks=True)
    return data
