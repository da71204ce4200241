"""The SSRF guard: which URLs a webhook may target, and which addresses it may reach.

A URL passes when its scheme is https (http too when insecure targets are allowed, i.e. dev
mode), it names a host without credentials, and *every* address the host resolves to is
public. The caller then connects to one of exactly those addresses (see `transport`), so a
DNS answer that changes between the check and the connection cannot slip a private one in."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048

# Named so a refusal says why. Anything else that is not globally routable is refused too
# (`is_global` below), so this list is the explanation, not the whole rule.
_BLOCKED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this-network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "cgnat"),
    ("127.0.0.0/8", "loopback"),
    # Link-local, which holds the EC2 metadata service (169.254.169.254) and the ECS task
    # metadata/credentials endpoint (169.254.170.2).
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "ietf-protocol"),
    ("192.0.2.0/24", "documentation"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    # IPv4-mapped addresses (::ffff:a.b.c.d) are judged by the IPv4 address inside them (see
    # `address_problem`). Every other form that embeds an IPv4 address, the deprecated
    # IPv4-compatible one, SIIT's IPv4-translated one (::ffff:0:a.b.c.d), NAT64 and 6to4, and
    # the tunnelling prefixes, can lead anywhere and is refused outright, whatever it embeds.
    ("::/96", "ipv4-compatible"),
    ("::ffff:0:0:0/96", "ipv4-translated"),
    ("64:ff9b::/96", "nat64"),
    ("64:ff9b:1::/48", "nat64"),
    ("100::/64", "discard"),
    ("2001::/32", "teredo"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
BLOCKED_NETWORKS: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.ip_network(cidr), label) for cidr, label in _BLOCKED)


class UrlRejected(ValueError):
    """The URL may not be used as a webhook target. `code` is stable, `str()` explains."""

    def __init__(self, code: str, message: str, *, address: str | None = None):
        super().__init__(message)
        self.code = code
        self.address = address


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`, all vetted) and what to say (`host`
    for SNI and certificate checks, `host_header`, `path`)."""

    scheme: str
    host: str
    port: int
    host_header: str
    path: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class ParsedUrl:
    scheme: str
    host: str
    port: int
    host_header: str
    path: str


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in seen:
            seen.append(address)
    return seen


def address_problem(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why `address` may not be reached (a range label), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
        embedded = address.ipv4_mapped
        if embedded is not None:
            problem = address_problem(embedded, allow_loopback=allow_loopback)
            return f"ipv4-mapped {problem}" if problem else None
    if allow_loopback and address.is_loopback:
        return None
    for network, label in BLOCKED_NETWORKS:
        if address.version == network.version and address in network:
            return label
    if not address.is_global or address.is_multicast:
        return "not-global"
    return None


def parse_url(url: str, *, allow_insecure: bool) -> ParsedUrl:
    """Check the URL's shape (no DNS): scheme, host, port, no credentials."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UrlRejected("invalid_url", f"The URL must be 1 to {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UrlRejected("invalid_url", "The URL may not contain whitespace or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRejected("invalid_url", f"The URL is not valid: {exc}.") from exc
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if allow_insecure else ("https",)
    if scheme not in allowed:
        raise UrlRejected("scheme_not_allowed", "Webhook URLs must use https." if not allow_insecure
                          else "Webhook URLs must use https or http.")
    if parts.username is not None or parts.password is not None:
        raise UrlRejected("credentials_in_url", "Webhook URLs may not carry credentials; "
                                                "verify deliveries by their signature instead.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRejected("invalid_url", "The URL has no host.")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise UrlRejected("invalid_url", "The URL's host is not a valid domain name.") from exc
    if port == 0:
        raise UrlRejected("invalid_url", "Port 0 is not a valid port.")
    port = port or (443 if scheme == "https" else 80)
    host_header = f"[{host}]" if ":" in host else host
    if (scheme, port) not in {("https", 443), ("http", 80)}:
        host_header = f"{host_header}:{port}"
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return ParsedUrl(scheme=scheme, host=host, port=port, host_header=host_header, path=path)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class SsrfGuard:
    """`check(url)` → a `Target` whose addresses are all safe to connect to, or UrlRejected.

    `allow_insecure` (dev mode only) admits plain http and loopback addresses; every other
    private, link-local, shared or reserved range stays refused either way."""

    def __init__(self, *, allow_insecure: bool, resolver: Resolver = system_resolver):
        self.allow_insecure = allow_insecure
        self._resolver = resolver

    def check(self, url: str) -> Target:
        parsed = parse_url(url, allow_insecure=self.allow_insecure)
        literal = _literal(parsed.host)
        if literal is not None:
            raw_addresses: Sequence[str] = [str(literal)]
        else:
            try:
                raw_addresses = self._resolver(parsed.host, parsed.port)
            except (OSError, UnicodeError) as exc:
                raise UrlRejected("unresolvable_host", f"The host {parsed.host!r} does not resolve.") from exc
            if not raw_addresses:
                raise UrlRejected("unresolvable_host", f"The host {parsed.host!r} does not resolve.")
        addresses: list[str] = []
        for raw in raw_addresses:
            address = _literal(raw)
            if address is None:
                raise UrlRejected("address_not_allowed", f"The host resolved to something unusable: {raw!r}.")
            problem = address_problem(address, allow_loopback=self.allow_insecure)
            if problem:
                raise UrlRejected("address_not_allowed",
                                  f"The host resolves to a non-public address ({problem}); "
                                  "webhooks may only target public addresses.", address=str(address))
            addresses.append(str(address))
        return Target(scheme=parsed.scheme, host=parsed.host, port=parsed.port, host_header=parsed.host_header,
                      path=parsed.path, addresses=tuple(addresses))
