"""A local webhook receiver for tests: records every request and answers as scripted."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

from tests.support.waiting import wait_for_value


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def verify(self, secret: str) -> Any:
        """The parsed payload if `standardwebhooks` accepts the signature; raises otherwise."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    # Seconds to stall before answering (to provoke timeouts), or between the headers and
    # the body (a client that reads no body does not wait for it).
    stall: float = 0.0
    stall_body: float = 0.0


Script = Callable[[int, Received], Answer]


class Receiver:
    def __init__(self, host: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None,
                 script: Script | None = None):
        self.requests: list[Received] = []
        self.script: Script = script or (lambda _n, _r: Answer())
        self._lock = threading.Lock()
        self._closed = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self._handle()

            def do_GET(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(path=self.path, headers={k.lower(): v for k, v in self.headers.items()},
                                   body=self.rfile.read(length), at=time.time())
                with receiver._lock:
                    index = len(receiver.requests)
                    receiver.requests.append(request)
                answer = receiver.script(index, request)
                if answer.stall:
                    receiver._closed.wait(answer.stall)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.flush()
                    if answer.stall_body:
                        receiver._closed.wait(answer.stall_body)
                    self.wfile.write(answer.body)
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/hooks"

    def url_for(self, host: str, path: str = "/hooks") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 30.0) -> list[Received]:
        def seen() -> list[Received]:
            with self._lock:
                return list(self.requests)

        return wait_for_value(seen, predicate, timeout, what="the requests the receiver got")

    def seen(self) -> list[Received]:
        """What arrived so far."""
        with self._lock:
            return list(self.requests)

    def close(self) -> None:
        self._closed.set()
        self.server.shutdown()
        self.server.server_close()


def always(status: int, *headers: tuple[str, str]) -> Script:
    return lambda _n, _r: Answer(status=status, headers=headers)


def fail_then_succeed(failures: int, status: int = 500) -> Script:
    """The first `failures` requests of each webhook-id fail, later ones succeed."""
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def script(_n: int, request: Received) -> Answer:
        with lock:
            seen = counts.get(request.headers.get("webhook-id", ""), 0)
            counts[request.headers.get("webhook-id", "")] = seen + 1
        return Answer(status=status if seen < failures else 200)

    return script
