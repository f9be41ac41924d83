"""A local basketball-reference that injects faults (issue #11): the recorded pages of
tests/fixtures/bbref at their site paths, served by a small threaded HTTP server that can
also cut a connection mid-body, drip a body, truncate a page, send bytes that are not
UTF-8, lie about the charset, send a huge body, or answer any status with any headers.

    site.fault(path, Truncate(0.6))                 # the first 60 % of the page, then EOF
    site.fault(path, Status(429, {"Retry-After": "3"}), Page())   # in order; the last repeats
    site.fault(path, Cut(0.5))                      # Content-Length of the whole, half sent
    site.fault(path, Drip(1024, 0.5))               # 1 KiB every 0.5 s
    site.hits(path), site.times (epoch seconds of every request)

Use the ``faulty_site`` fixture (tests/conftest.py). Synthetic faults, real pages.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.recorded_site import RECORDED_PAGES


@dataclass
class Page:
    """The recorded page (or ``body``), whole, with its length."""

    body: bytes | None = None
    content_type: str = "text/html; charset=utf-8"


@dataclass
class Gzipped:
    """The recorded page, gzip-compressed (Content-Encoding: gzip), as the real site sends it."""


@dataclass
class Status:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"error"


@dataclass
class Truncate:
    """The first ``fraction`` of the page, sent as if it were all of it (no length lie)."""

    fraction: float


@dataclass
class Cut:
    """Announce the whole length, send ``fraction`` of it, close the connection."""

    fraction: float


@dataclass
class Drip:
    """Send ``size`` bytes every ``every`` seconds (stops when the client goes away)."""

    size: int
    every: float


@dataclass
class Huge:
    """A body of ``megabytes`` MB, streamed without a Content-Length."""

    megabytes: float


@dataclass
class Replace:
    """The recorded page with ``old`` replaced by ``new`` (bytes), e.g. a 7th pbp cell."""

    old: bytes
    new: bytes
    count: int = -1


class FaultySite:
    def __init__(self, pages: dict[str, Path | str] | None = None) -> None:
        self.pages = dict(RECORDED_PAGES if pages is None else pages)
        self.faults: dict[str, list] = {}
        self.requests: Counter[str] = Counter()
        self.times: list[float] = []
        self.user_agents: list[str] = []
        self.on_request: dict[str, object] = {}  # path -> callable run before answering
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                site._handle(self)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fault(self, path: str, *responses) -> None:
        self.faults[path] = list(responses)

    def heal(self, path: str | None = None) -> None:
        if path is None:
            self.faults.clear()
        else:
            self.faults.pop(path, None)

    def hits(self, path: str) -> int:
        return self.requests[path]

    def body_of(self, path: str) -> bytes | None:
        source = self.pages.get(path)
        if source is None:
            return None
        return source.read_bytes() if isinstance(source, Path) else source.encode("utf-8")

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self._lock:
            self.requests[path] += 1
            self.times.append(time.time())
            self.user_agents.append(handler.headers.get("User-Agent", ""))
            queue = self.faults.get(path)
            response = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else Page()
        hook = self.on_request.get(path)
        if hook is not None:
            hook()
        body = self.body_of(path)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client left
            self._respond(handler, response, body)

    @staticmethod
    def _head(handler, status: int, headers: dict[str, str]) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()

    def _respond(self, handler, response, body: bytes | None) -> None:
        if isinstance(response, Status):
            headers = {"Content-Length": str(len(response.body)), **response.headers}
            self._head(handler, response.status, headers)
            handler.wfile.write(response.body)
            return
        if body is None and not (isinstance(response, Page) and response.body is not None):
            self._head(handler, 404, {"Content-Length": "14"})
            handler.wfile.write(b"Page Not Found")
            return
        html = {"Content-Type": "text/html; charset=utf-8"}
        if isinstance(response, Page):
            data = response.body if response.body is not None else body
            self._head(
                handler,
                200,
                {"Content-Type": response.content_type, "Content-Length": str(len(data))},
            )
            handler.wfile.write(data)
        elif isinstance(response, Gzipped):
            import gzip

            data = gzip.compress(body)
            self._head(
                handler,
                200,
                {**html, "Content-Encoding": "gzip", "Content-Length": str(len(data))},
            )
            handler.wfile.write(data)
        elif isinstance(response, Replace):
            data = body.replace(response.old, response.new, response.count)
            self._head(handler, 200, {**html, "Content-Length": str(len(data))})
            handler.wfile.write(data)
        elif isinstance(response, Truncate):
            data = body[: int(len(body) * response.fraction)]
            self._head(handler, 200, {**html, "Content-Length": str(len(data))})
            handler.wfile.write(data)
        elif isinstance(response, Cut):
            self._head(handler, 200, {**html, "Content-Length": str(len(body))})
            handler.wfile.write(body[: int(len(body) * response.fraction)])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.shutdown(2)
        elif isinstance(response, Drip):
            self._head(handler, 200, {**html, "Content-Length": str(len(body))})
            deadline = time.monotonic() + 600  # the server never drips for ever
            for start in range(0, len(body), response.size):
                if time.monotonic() > deadline:
                    break
                handler.wfile.write(body[start : start + response.size])
                handler.wfile.flush()
                time.sleep(response.every)
        elif isinstance(response, Huge):
            self._head(handler, 200, {**html, "Connection": "close"})
            handler.close_connection = True
            chunk = b"<p>" + b"x" * (1024 * 1024 - 3)
            for _ in range(int(response.megabytes)):
                handler.wfile.write(chunk)
        else:  # pragma: no cover - a test's mistake
            raise TypeError(f"unknown response {response!r}")
