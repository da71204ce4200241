"""Posting one webhook to a checked `Target`, pinned to the addresses the guard vetted.

The connection goes to the vetted IP itself; the hostname travels only as the Host header,
the TLS SNI name and the name the certificate must match. Nothing re-resolves the host, so
DNS rebinding cannot redirect it; redirects are never followed; the response body is never
read (only the status line and headers), so nothing of it can be stored or echoed."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import (
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from whatsam.webhooks.ssrf import Target

USER_AGENT = "Whatsam-Webhooks/1.0"


@dataclass(frozen=True)
class HttpOutcome:
    """What one attempt got: a status code, or an error class (never the response body)."""

    status_code: int | None
    error: str | None
    latency_ms: int
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def classify_status(status: int) -> str | None:
    """The error class of a response status; None for success. 3xx is a failure: redirects
    are never followed."""
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return "redirect"
    if status == 410:
        return "gone"
    return f"http_{status // 100}xx"


class PinnedTransport:
    def __init__(self, *, timeout: float = 15.0, ssl_context: ssl.SSLContext | None = None):
        self._timeout = timeout
        self._ssl_context = ssl_context or ssl.create_default_context()

    def _pool(self, target: Target, address: str) -> urllib3.HTTPConnectionPool:
        timeout = urllib3.Timeout(total=self._timeout)
        if target.scheme == "https":
            return urllib3.HTTPSConnectionPool(
                address, target.port, timeout=timeout, maxsize=1, retries=False,
                server_hostname=target.host, assert_hostname=target.host, cert_reqs="CERT_REQUIRED",
                ssl_context=self._ssl_context)
        return urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, maxsize=1, retries=False)

    def post(self, target: Target, body: bytes, headers: dict[str, str]) -> HttpOutcome:
        sent = {**headers, "Host": target.host_header, "Content-Type": "application/json",
                "User-Agent": USER_AGENT}
        started = time.monotonic()
        error = "connection_error"
        # Each vetted address in turn, but only while nothing was sent: once a request may
        # have reached the receiver, its outcome is this attempt's outcome.
        for address in target.addresses:
            pool = self._pool(target, address)
            try:
                response = pool.urlopen("POST", target.path, body=body, headers=sent, redirect=False,
                                        retries=False, assert_same_host=False, preload_content=False)
                try:
                    status = int(response.status)
                    return HttpOutcome(status_code=status, error=classify_status(status),
                                       latency_ms=_ms(started), retry_after=response.headers.get("retry-after"))
                finally:
                    response.close()
            except Exception as exc:
                error = _error_class(exc)
                if error not in {"connection_error", "connect_timeout"}:
                    return HttpOutcome(status_code=None, error=error, latency_ms=_ms(started))
            finally:
                pool.close()
        return HttpOutcome(status_code=None, error=error, latency_ms=_ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _error_class(exc: BaseException) -> str:
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        return _error_class(exc.reason)
    if isinstance(exc, SSLError | ssl.SSLError):
        return "tls_error"
    if isinstance(exc, NewConnectionError):
        # urllib3 derives NewConnectionError from ConnectTimeoutError; tell them apart.
        return "connect_timeout" if isinstance(exc.__cause__, TimeoutError) else "connection_error"
    if isinstance(exc, ReadTimeoutError):
        return "timeout"
    if isinstance(exc, Urllib3Timeout | TimeoutError):
        return "connect_timeout"
    if isinstance(exc, ProtocolError):
        return "protocol_error"
    if isinstance(exc, HTTPError | OSError):
        return "connection_error"
    return "unexpected_error"
