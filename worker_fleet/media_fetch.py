"""Fetching media by URL for outbound messages, through the webhooks' SSRF guard: the same
rules (public addresses only, https unless dev mode), the same pinned connection (the
checked address is the one connected to), no redirects, and a size cap and timeout."""

from __future__ import annotations

import urllib3

from whatsam.webhooks.ssrf import SsrfGuard, Target
from whatsam.webhooks.transport import PinnedTransport


class MediaFetchError(Exception):
    pass


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
                    raise MediaFetchError(f"the media URL answered {response.status}")
                data = response.read(max_bytes + 1)
                if len(data) > max_bytes:
                    raise MediaFetchError(f"the media is larger than {max_bytes} bytes")
                content_type = response.headers.get("content-type")
                return data, content_type.split(";")[0].strip() if content_type else None
            finally:
                response.close()
                pool.close()
        raise MediaFetchError(f"could not reach the media URL: {last_error}")


class MediaFetcher:
    def __init__(self, *, allow_insecure: bool, max_bytes: int, timeout: float = 30.0):
        self._guard = SsrfGuard(allow_insecure=allow_insecure)
        self._downloader = PinnedDownloader(timeout=timeout)
        self._max_bytes = max_bytes

    def fetch(self, url: str) -> tuple[bytes, str | None]:
        return self._downloader.get(self._guard.check(url), self._max_bytes)
