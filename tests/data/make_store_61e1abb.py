"""Writes tests/data/store_61e1abb.sql: an article store made by release 61e1abb's own code (before recorded
migrations), for tests/test_store_migrations.py. Run it from a worktree of that release, with this repo's venv:

    git -C REPO worktree add /tmp/rel-store 61e1abb
    cd /tmp/rel-store && BRIEF_DATA_DIR=$(mktemp -d) REPO/.venv/bin/python REPO/tests/data/make_store_61e1abb.py REPO
    git -C REPO worktree remove /tmp/rel-store

The store holds three indexed articles from tests/corpus (Arabic and English), two items of a polled feed, one
article left pending (as an ingest killed before embedding leaves it), and the state of a good and a failing feed.
The dump leaves out FTS5's own tables: loading it inserts the FTS rows, which builds the same index again.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, os.getcwd())  # the release's code, not this repo's (installed in the venv)

import retrieval  # noqa: E402
from retrieval.feeds import FeedPoller  # noqa: E402
from retrieval.index import Index  # noqa: E402
from retrieval.ingest import Ingester, ingest  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from retrieval.sources import Article  # noqa: E402

REPO = Path(sys.argv[1]).resolve()
assert Path(retrieval.__file__).resolve().is_relative_to(Path.cwd().resolve()), "run from the release's worktree"

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Caucasus Wire</title>
<item><title>Armenia and Azerbaijan open a border crossing near Ijevan</title><link>http://127.0.0.1:9/ijevan</link>
<pubDate>Tue, 03 Mar 2026 09:00:00 GMT</pubDate><description>Armenia and Azerbaijan opened their first border
crossing near Ijevan on Tuesday, the two governments said, allowing trucks to pass for the first time since the
1990s under the peace agreement initialled in Washington the previous year.</description></item>
<item><title>Baku and Yerevan agree on rail link timetable</title><link>http://127.0.0.1:9/rail</link>
<pubDate>Wed, 04 Mar 2026 09:00:00 GMT</pubDate><description>Railway officials from Baku and Yerevan agreed a
timetable for reopening the rail link through Nakhchivan, with the first freight trains expected in the autumn, the
Azerbaijani railway company said in a statement on Wednesday.</description></item>
</channel></rss>"""


class Feed(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path != "/feed.xml":
            self.send_response(500)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("ETag", '"v1"')
        self.send_header("Last-Modified", "Wed, 04 Mar 2026 10:00:00 GMT")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, *args):
        pass


# FTS5's own tables are rebuilt from the rows, and the vocabulary table is a view of them: neither is dumped.
SKIP = re.compile(
    r'^(PRAGMA writable_schema|INSERT INTO "chunk_vocab"|(INSERT INTO|CREATE TABLE) "?\'?(chunk|article)_terms_[a-z]+)'
)
VIRTUAL = re.compile(r"^INSERT INTO sqlite_master\(.*?\)VALUES\('table','\w+','\w+',0,'(CREATE VIRTUAL TABLE .*)'\);$")


def _plain(line: str) -> str:
    """A virtual table as a plain CREATE statement rather than a write into sqlite_master (writable_schema)."""
    found = VIRTUAL.match(line)
    return found.group(1).replace("''", "'") + ";" if found else line


def main() -> None:
    index = Index(Settings(_env_file=None))
    corpus = REPO / "tests" / "corpus"
    names = ["ar_aljazeera_exodus.txt", "en_ap_washington_summit.txt", "en_reuters_lachin_checkpoint.txt"]
    assert ingest(index, [str(corpus / name) for name in names]).failed == 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    results = FeedPoller(index, clock=lambda: 1_772_000_000.0).poll_all([f"{base}/feed.xml", f"{base}/broken.xml"])
    assert [r.status for r in results] == ["new", "failed"], results
    server.shutdown()
    pending = Article(
        id="pending-shusha-talks",
        title="Talks on Shusha road reopen",
        text="Negotiators met in Tbilisi on Monday to discuss reopening the Shusha road to civilian traffic, officials"
        " said, after months without progress on the transit question.",
        source="Caucasus Wire",
        origin="pending-test",
        lang="en",
    )
    Ingester(index).add(pending)  # written, never flushed: pending, as a killed ingest leaves it
    store = index.store
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    lines = [_plain(line) for line in store.db.iterdump() if not SKIP.match(line)]
    out = REPO / "tests" / "data" / "store_61e1abb.sql"
    out.write_text("\n".join(lines) + "\n", "utf-8")
    index.close()
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
