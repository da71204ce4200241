"""A session's proxy (spec §3.10): an ``http(s)://`` or ``socks5://`` URL its worker connects to
WhatsApp through, from the next connect on. Kept sealed (`SecretBox`, its password being a
secret) and shown masked; in a deployed stack it must lead to a public address (the webhooks'
`SsrfGuard`), so a session cannot make the worker open connections into the VPC."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from whatsam.errors import ValidationFailed
from whatsam.webhooks.secret_box import SESSION_PROXY, SecretBox
from whatsam.webhooks.ssrf import SsrfGuard, UrlRejected

PROXY_SCHEMES = ("http", "https", "socks5")
PROXY_URL_MAX = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080}


@dataclass(frozen=True)
class SealedProxy:
    sealed: str
    shown: str


def _invalid(message: str, code: str = "invalid_proxy") -> ValidationFailed:
    return ValidationFailed(message, code=code)


def masked_proxy(url: str) -> str:
    """The URL without its password: ``socks5://user:***@host:1080``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}:***@" if parts.username and parts.password is not None else (
        f"{parts.username}@" if parts.username else "")
    return f"{parts.scheme.lower()}://{user}{host}{port}"


class ProxySealer:
    def __init__(self, box: SecretBox, guard: SsrfGuard, *, dev_mode: bool):
        self._box = box
        self._guard = guard
        self._dev_mode = dev_mode

    def seal(self, url: str, *, tenant_id: str, session_id: str) -> SealedProxy:
        """Check `url` (shape; outside dev mode, a public address) and seal it; else a 400."""
        url = url.strip()
        if not url or len(url) > PROXY_URL_MAX or any(ch.isspace() for ch in url):
            raise _invalid(f"A proxy URL has 1 to {PROXY_URL_MAX} characters and no spaces.")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise _invalid(f"The proxy URL is not valid: {exc}.") from exc
        scheme = parts.scheme.lower()
        if scheme not in PROXY_SCHEMES:
            raise _invalid("A proxy URL starts with http://, https:// or socks5://.", "proxy_scheme_not_allowed")
        if not parts.hostname or port == 0 or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise _invalid("A proxy URL is scheme://[user:password@]host[:port], nothing more.")
        if not self._dev_mode:
            self._check_public(parts.hostname, port or _DEFAULT_PORTS[scheme])
        sealed = self._box.seal(url, tenant_id=tenant_id, endpoint_id=session_id, purpose=SESSION_PROXY)
        return SealedProxy(sealed=sealed, shown=masked_proxy(url))

    def open(self, sealed: str, *, tenant_id: str, session_id: str) -> str:
        return self._box.open(sealed, tenant_id=tenant_id, endpoint_id=session_id, purpose=SESSION_PROXY)

    def _check_public(self, host: str, port: int) -> None:
        literal_host = f"[{host}]" if ":" in host else host
        try:
            self._guard.check(f"https://{literal_host}:{port}/")
        except UrlRejected as exc:
            raise ValidationFailed(f"The proxy is not usable: {exc}", code="proxy_not_allowed",
                                   details={"reason": exc.code}) from exc
