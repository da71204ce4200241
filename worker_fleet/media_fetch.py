"""Fetching media by URL for outbound messages, through the webhooks' SSRF guard: the same
rules (public addresses only, https unless dev mode), the same pinned connection (the
checked address is the one connected to), no redirects, and a size cap and timeout.

A failure says only a stable reason (it becomes the message's `error`, which its owner
reads): which address a host resolved to, or why a connection failed, stays in the log."""

from __future__ import annotations

import logging

import urllib3

from whatsam.webhooks.ssrf import SsrfGuard, Target, UrlRejected
from whatsam.webhooks.transport import PinnedTransport

log = logging.getLogger("whatsam.media_fetch")


class MediaFetchError(Exception):
    """`reason` is stable and safe to show the message's owner: `url_not_allowed`,
    `unreachable`, `http_<status>` or `too_large`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def failure_reason(exc: Exception) -> str:
    """What a failed fetch tells the message's owner; anything unforeseen is `unavailable`."""
    return exc.reason if isinstance(exc, MediaFetchError) else "unavailable"


class PinnedDownloader(PinnedTransport):
    def get(self, target: Target, max_bytes: int) -> tuple[bytes, str | None]:
        last_error: Exception | None = None
        for address in target.addresses:
            pool = self._pool(target, address)
            try:
                response = pool.urlopen("GET", target.path, headers={"Host": target.host_header}, redirect=False,
                                        retries=False, assert_same_host=False, preload_content=False)
            except urllib3.exceptions.HTTPError as exc:
                last_error = exc
                pool.close()
                continue
            try:
                if response.status != 200:
                    raise MediaFetchError(f"http_{response.status}")
                data = response.read(max_bytes + 1)
                if len(data) > max_bytes:
                    raise MediaFetchError("too_large")
                content_type = response.headers.get("content-type")
                return data, content_type.split(";")[0].strip() if content_type else None
            finally:
                response.close()
                pool.close()
        log.info("media fetch failed", extra={"host": target.host, "error": repr(last_error)})
        raise MediaFetchError("unreachable")


class MediaFetcher:
    def __init__(self, *, allow_insecure: bool, max_bytes: int, timeout: float = 30.0):
        self._guard = SsrfGuard(allow_insecure=allow_insecure)
        self._downloader = PinnedDownloader(timeout=timeout)
        self._max_bytes = max_bytes

    def fetch(self, url: str) -> tuple[bytes, str | None]:
        try:
            target = self._guard.check(url)
        except UrlRejected as exc:
            log.info("media URL refused", extra={"reason": exc.code, "detail": str(exc), "address": exc.address})
            raise MediaFetchError("url_not_allowed") from exc
        return self._downloader.get(target, self._max_bytes)
