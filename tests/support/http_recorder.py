"""A real HTTP server for tests: it records every request and answers what the test programmed.

    with HttpRecorder() as server:
        server.reply(Reply.json({"id": "SM1"}, status=201), Reply(status=500))
        ...  # the code under test calls server.url + "/anything"
        first = server.requests[0]
        assert first.method == "POST" and first.header("content-type") == "application/json"

Answers, in order of precedence:
1. the queue filled by `reply(...)`, one Reply per request, first in first out;
2. else the `responder` function (given at construction or with `respond_with`), which sees the
   recorded request and returns a Reply;
3. else `Reply()`: 200 with an empty body.

A Reply's `delay` holds the answer back (to make a client time out); closing the server cuts
every delay short, so a test never waits for it. The server listens on 127.0.0.1 on a port the
system picks, one thread per connection, and answers HTTP/1.0 style (one request per
connection), so closing it leaves no connection or thread behind.

`unused_port()` gives a port nothing listens on, for "connection refused" tests.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    """What the server answers to one request."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before answering

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
        merged = {"Content-Type": "application/json", **(headers or {})}
        return cls(status, merged, json.dumps(data).encode())

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        return cls(status, {"Location": location})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    target: str  # the path with its query string, as sent: "/v1/sms?x=1"
    headers: tuple[tuple[str, str], ...]  # in order, names as sent
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        """The header's value (case-insensitive name); repeated headers joined with ', '."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        """The body as an application/x-www-form-urlencoded form (what Twilio's SDK posts)."""
        return parse_qs(self.body.decode(), keep_blank_values=True)


Responder = Callable[[RecordedRequest], Reply]


class HttpRecorder:
    def __init__(self, responder: Responder | None = None) -> None:
        self._responder = responder
        self._queue: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.recorder = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._started = False

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> HttpRecorder:
        self._thread.start()
        self._started = True
        return self

    def close(self) -> None:
        """Stop answering, cut delays short, and wait for every connection to finish."""
        self._closing.set()
        if self._started:
            self._server.shutdown()
        self._server.server_close()  # joins the connection threads (block_on_close)

    def __enter__(self) -> HttpRecorder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- programming and reading --------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash: "http://127.0.0.1:54321"."""
        return f"http://127.0.0.1:{self.port}"

    def reply(self, *replies: Reply) -> None:
        """Queue answers for the next requests, in order."""
        with self._lock:
            self._queue.extend(replies)

    def respond_with(self, responder: Responder) -> None:
        """Answer with `responder` whenever the queue is empty."""
        self._responder = responder

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def last(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("the recording server received no request")
            return self._requests[-1]

    def _answer(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            if self._queue:
                return self._queue.popleft()
        return self._responder(request) if self._responder else Reply()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for the connection threads: nothing leaks
    block_on_close = True
    recorder: HttpRecorder


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a client that stops sending mid-request cannot hold close() forever

    def _handle(self) -> None:
        request = RecordedRequest(
            self.command, self.path, tuple(self.headers.items()), self._body()
        )
        recorder = self.server.recorder
        reply = recorder._answer(request)
        if reply.delay and recorder._closing.wait(reply.delay):
            return  # the server is closing: the client has long given up
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and hung up: nothing to tell it

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _chunked_body(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet; the test reads `requests` instead


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now: connecting to it is refused.

    (Another process could take it in between; on a test machine that is vanishingly rare.)
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
