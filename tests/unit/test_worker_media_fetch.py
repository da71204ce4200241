"""Media fetched by URL for a send: a failure becomes the message's `error`, which its owner
reads, so it names a stable reason and never an address, a port or a library's message."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from worker_fleet.media_fetch import MediaFetcher, MediaFetchError, failure_reason


class _Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"x" * 64
        self.send_response(200 if self.path == "/ok" else 404)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reason(fetcher: MediaFetcher, url: str) -> MediaFetchError:
    with pytest.raises(MediaFetchError) as failed:
        fetcher.fetch(url)
    return failed.value


@pytest.mark.parametrize("url", ["https://10.1.2.3/a.png", "https://169.254.169.254/latest/meta-data/",
                                 "https://[::ffff:0:a9fe:a9fe]/x", "https://nowhere.invalid/a.png",
                                 "http://93.184.216.34/a.png"])
def test_a_refused_url_says_not_allowed_and_nothing_else(url: str) -> None:
    failure = _reason(MediaFetcher(allow_insecure=False, max_bytes=1024), url)
    assert failure.reason == str(failure) == "url_not_allowed"


def test_an_unreachable_host_does_not_say_where_or_why() -> None:
    port = _closed_port()
    failure = _reason(MediaFetcher(allow_insecure=True, max_bytes=1024), f"http://127.0.0.1:{port}/a.png")
    assert failure.reason == "unreachable" and str(port) not in str(failure) and "127.0.0.1" not in str(failure)


def test_status_and_size_are_reasons_too(server: str) -> None:
    assert _reason(MediaFetcher(allow_insecure=True, max_bytes=1024), f"{server}/missing").reason == "http_404"
    assert _reason(MediaFetcher(allow_insecure=True, max_bytes=10), f"{server}/ok").reason == "too_large"
    assert MediaFetcher(allow_insecure=True, max_bytes=1024).fetch(f"{server}/ok") == (b"x" * 64, "image/png")


def test_anything_unforeseen_is_unavailable() -> None:
    assert failure_reason(OSError("connect to 10.0.0.7:6379 refused")) == "unavailable"
    assert failure_reason(MediaFetchError("too_large")) == "too_large"
