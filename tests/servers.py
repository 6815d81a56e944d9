"""Local HTTP servers the tests start on 127.0.0.1: static pages/feeds and an OpenAI-compatible embeddings API."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def static_site(routes: dict[str, tuple[int, str, bytes]]) -> type[BaseHTTPRequestHandler]:
    """A handler serving fixed responses: path → (status, content type, body)."""

    class Handler(BaseHTTPRequestHandler):
        requests: list[str] = []

        def do_GET(self):  # noqa: N802 - http.server's naming
            Handler.requests.append(self.path)
            status, kind, body = routes.get(self.path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def hashed_embedding(text: str, dim: int = 64) -> list[float]:
    """A bag of hashed words: texts sharing words get similar vectors, which is all a test backend needs."""
    vector = np.zeros(dim, dtype=np.float32)
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % dim] += 1.0
    norm = float(np.linalg.norm(vector)) or 1.0
    return (vector / norm).tolist()


class OpenAIEmbeddings(BaseHTTPRequestHandler):
    """POST /v1/embeddings as the OpenAI API answers it; records the requests it saw."""

    seen: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        OpenAIEmbeddings.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        if self.path != "/v1/embeddings":
            self.send_error(404)
            return
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        payload = {
            "object": "list",
            "model": body["model"],
            "data": [
                {"object": "embedding", "index": i, "embedding": hashed_embedding(text)}
                for i, text in enumerate(inputs)
            ],
            "usage": {"prompt_tokens": 0, "total_tokens": 0},
        }
        raw = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


class OpenAIChat(BaseHTTPRequestHandler):
    """POST /v1/chat/completions, scripted: each request takes the next reply from `script`.

    A reply is {"content": str} (200, streamed as server-sent events when the request asks), {"status": 429 | 500},
    {"delay": seconds, ...} to answer late, or {"garbage": True} for a body that is not JSON.
    """

    script: list[dict] = []
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        OpenAIChat.seen.append(body)
        reply = OpenAIChat.script.pop(0) if OpenAIChat.script else {"content": "NO_ANSWER"}
        if reply.get("delay"):
            time.sleep(reply["delay"])
        status = reply.get("status", 200)
        if status != 200:
            raw = json.dumps({"error": {"message": "scripted failure", "type": "server_error"}}).encode()
            self._send(status, "application/json", raw, {"Retry-After": "0"} if status == 429 else {})
            return
        if reply.get("garbage"):
            self._send(200, "application/json", b"<html>upstream proxy error</html>")
            return
        if body.get("stream"):
            self._stream(body["model"], reply["content"], reply.get("chunk_delay", 0.0))
            return
        payload = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": reply["content"]}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        self._send(200, "application/json", json.dumps(payload).encode())

    def _stream(self, model: str, content: str, chunk_delay: float = 0.0) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = [content[i : i + 12] for i in range(0, len(content), 12)]
        for i, piece in enumerate([*pieces, None]):
            delta = {"content": piece} if piece is not None else {}
            if i == 0:
                delta["role"] = "assistant"
            chunk = {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None if piece is not None else "stop"}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            time.sleep(chunk_delay)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _send(self, status: int, kind: str, raw: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


# A feed of two items (March 2026), served by ConditionalFeed.
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
        if self.path in ("/broken.xml", "/gone.xml"):
            self.send_response(500 if self.path == "/broken.xml" else 404)
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
