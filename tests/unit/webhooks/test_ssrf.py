"""The SSRF guard: every non-public range is refused, however it is spelled or resolved;
dev mode admits plain http and loopback and nothing else."""

from __future__ import annotations

import ipaddress

import pytest

from whatsam.webhooks.ssrf import SsrfGuard, UrlRejected, address_problem, parse_url

# Each range the spec lists (and the other non-public ones), by its first, a middle and its
# last address: a guard that lets any of them through fails here.
BLOCKED_RANGES = {
    "0.0.0.0/8": ["0.0.0.0", "0.1.2.3", "0.255.255.255"],
    "10.0.0.0/8": ["10.0.0.0", "10.20.30.40", "10.255.255.255"],
    "100.64.0.0/10": ["100.64.0.0", "100.100.100.200", "100.127.255.255"],
    "127.0.0.0/8": ["127.0.0.1", "127.1.2.3", "127.255.255.255"],
    "169.254.0.0/16": ["169.254.0.1", "169.254.169.254", "169.254.170.2", "169.254.255.255"],
    "172.16.0.0/12": ["172.16.0.0", "172.20.1.1", "172.31.255.255"],
    "192.168.0.0/16": ["192.168.0.0", "192.168.1.1", "192.168.255.255"],
    "192.0.0.0/24": ["192.0.0.1", "192.0.0.170"],
    "192.0.2.0/24": ["192.0.2.1"],
    "198.18.0.0/15": ["198.18.0.1", "198.19.255.255"],
    "198.51.100.0/24": ["198.51.100.7"],
    "203.0.113.0/24": ["203.0.113.9"],
    "224.0.0.0/4": ["224.0.0.1", "239.255.255.250"],
    "240.0.0.0/4": ["240.0.0.1", "255.255.255.255"],
    "::/128": ["::"],
    "::1/128": ["::1"],
    "::/96 (IPv4-compatible)": ["::7f00:1", "::a00:1", "::808:808"],
    "::ffff:0:0/96 (IPv4-mapped)": ["::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
                                    "::ffff:a9fe:aa02", "::ffff:100.64.0.1", "::ffff:192.168.0.1",
                                    "::ffff:0.0.0.0", "::ffff:172.16.0.1"],
    # Every other IPv4-embedding form is refused whatever it embeds, a public address included.
    "::ffff:0:0:0/96 (IPv4-translated)": ["::ffff:0:7f00:1", "::ffff:0:127.0.0.1", "::ffff:0:a9fe:a9fe",
                                          "::ffff:0:10.0.0.1", "::ffff:0:8.8.8.8", "::ffff:0:0:0"],
    "::/96 (IPv4-compatible, dotted)": ["::127.0.0.1", "::10.0.0.1", "::169.254.169.254", "::8.8.8.8"],
    "64:ff9b::/96 (NAT64)": ["64:ff9b::a9fe:a9fe", "64:ff9b::808:808", "64:ff9b::127.0.0.1", "64:ff9b::10.0.0.1"],
    "64:ff9b:1::/48 (local NAT64)": ["64:ff9b:1::a00:1", "64:ff9b:1:ffff::808:808"],
    "2001::/32 (Teredo)": ["2001::1", "2001:0:4136:e378:8000:63bf:f5ff:fffe"],
    "2001:db8::/32": ["2001:db8::1"],
    "2002::/16 (6to4)": ["2002:7f00:1::1", "2002:a9fe:a9fe::", "2002:a00:1::1", "2002:c0a8:101::1",
                         "2002:808:808::1"],
    "fc00::/7": ["fc00::", "fd00:ec2::254", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    "fe80::/10": ["fe80::", "fe80::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    "fec0::/10": ["fec0::1"],
    "ff00::/8": ["ff02::1", "ff05::2"],
}
ALL_BLOCKED = [(label, address) for label, addresses in BLOCKED_RANGES.items() for address in addresses]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.15.255.255",
          "172.32.0.0", "192.167.255.255", "169.253.255.255", "2606:4700:4700::1111", "2a00:1450:4001:81c::200e",
          "::ffff:8.8.8.8"]
LOOPBACK = ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"]


def resolver_for(mapping: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in mapping:
            raise OSError("no such host")
        return mapping[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def _url(address: str, scheme: str = "https") -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{scheme}://{host}/hook"


@pytest.mark.parametrize(("label", "address"), ALL_BLOCKED, ids=[f"{lab}-{a}" for lab, a in ALL_BLOCKED])
def test_every_listed_range_is_refused_as_a_literal(label: str, address: str) -> None:
    guard = SsrfGuard(allow_insecure=False, resolver=resolver_for({}))
    with pytest.raises(UrlRejected) as refused:
        guard.check(_url(address))
    assert refused.value.code == "address_not_allowed"


@pytest.mark.parametrize(("label", "address"), ALL_BLOCKED, ids=[f"{lab}-{a}" for lab, a in ALL_BLOCKED])
def test_every_listed_range_is_refused_when_a_name_resolves_to_it(label: str, address: str) -> None:
    # Even next to a public address: every resolved address must be public.
    guard = SsrfGuard(allow_insecure=False, resolver=resolver_for({"hooks.example.com": ["8.8.8.8", address]}))
    with pytest.raises(UrlRejected) as refused:
        guard.check("https://hooks.example.com/in")
    assert refused.value.code == "address_not_allowed"
    assert refused.value.address == str(ipaddress.ip_address(address))


def _loopback(address: str) -> bool:
    parsed = ipaddress.ip_address(address)
    mapped = getattr(parsed, "ipv4_mapped", None)
    return parsed.is_loopback or (mapped is not None and mapped.is_loopback)


NOT_LOOPBACK = [(label, address) for label, address in ALL_BLOCKED if not _loopback(address)]


@pytest.mark.parametrize(("label", "address"), NOT_LOOPBACK, ids=[f"{lab}-{a}" for lab, a in NOT_LOOPBACK])
def test_dev_mode_still_refuses_everything_but_loopback(label: str, address: str) -> None:
    guard = SsrfGuard(allow_insecure=True, resolver=resolver_for({"inside.test": [address]}))
    with pytest.raises(UrlRejected):
        guard.check(_url(address, "http"))
    with pytest.raises(UrlRejected):
        guard.check("http://inside.test:8080/")


@pytest.mark.parametrize("address", LOOPBACK)
def test_loopback_only_in_dev_mode(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is not None
    assert address_problem(ipaddress.ip_address(address), allow_loopback=True) is None
    with pytest.raises(UrlRejected):
        SsrfGuard(allow_insecure=False).check(_url(address))
    assert SsrfGuard(allow_insecure=True).check(_url(address, "http")).addresses == (
        str(ipaddress.ip_address(address)),)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    target = SsrfGuard(allow_insecure=False, resolver=resolver_for({"hooks.example.com": [address]})).check(
        "https://hooks.example.com/in")
    assert target.addresses == (str(ipaddress.ip_address(address)),)
    assert address_problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("spelling", ["2130706433", "0x7f000001", "017700000001", "127.1", "0x7f.0.0.1",
                                      "0177.0.0.1", "0", "0.0.0.0", "localhost"])
def test_odd_spellings_of_local_addresses_are_refused(spelling: str) -> None:
    # The system resolver turns these into 127.0.0.1 / 0.0.0.0 / ::1; the guard judges the result.
    with pytest.raises(UrlRejected) as refused:
        SsrfGuard(allow_insecure=False).check(f"https://{spelling}/hook")
    assert refused.value.code == "address_not_allowed"


def test_http_is_refused_unless_in_dev_mode() -> None:
    resolver = resolver_for({"hooks.example.com": ["93.184.216.34"]})
    with pytest.raises(UrlRejected) as refused:
        SsrfGuard(allow_insecure=False, resolver=resolver).check("http://hooks.example.com/in")
    assert refused.value.code == "scheme_not_allowed"
    assert SsrfGuard(allow_insecure=True, resolver=resolver).check("http://hooks.example.com/in").scheme == "http"


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/", "file:///etc/passwd", "gopher://x/", "javascript:x",
                                 "hooks.example.com/in", "//hooks.example.com/in"])
def test_other_schemes_are_refused_even_in_dev_mode(url: str) -> None:
    with pytest.raises(UrlRejected) as refused:
        SsrfGuard(allow_insecure=True).check(url)
    assert refused.value.code == "scheme_not_allowed"


@pytest.mark.parametrize("url", ["https://user:pass@hooks.example.com/", "https://user@hooks.example.com/",
                                 "https:///nohost", "https://hooks.example.com:0/", "https://hooks.example.com:99999/",
                                 "https://hooks.example.com/a b", "https://hooks.example.com/\n", "https://[::1/",
                                 "https://" + "a" * 2100 + ".com/"])
def test_malformed_or_credentialed_urls_are_refused(url: str) -> None:
    with pytest.raises(UrlRejected):
        SsrfGuard(allow_insecure=False, resolver=resolver_for({"hooks.example.com": ["93.184.216.34"]})).check(url)


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UrlRejected) as refused:
        SsrfGuard(allow_insecure=False, resolver=resolver_for({})).check("https://nowhere.example/")
    assert refused.value.code == "unresolvable_host"


def test_the_target_keeps_host_port_and_path_and_resolves_once() -> None:
    resolver = resolver_for({"hooks.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]})
    target = SsrfGuard(allow_insecure=False, resolver=resolver).check("https://Hooks.Example.com:8443/in/x?a=1#frag")
    assert (target.scheme, target.host, target.port) == ("https", "hooks.example.com", 8443)
    assert target.host_header == "hooks.example.com:8443"
    assert target.path == "/in/x?a=1"
    assert target.addresses == ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    assert resolver.calls == ["hooks.example.com"]  # type: ignore[attr-defined]


def test_default_ports_and_ipv6_host_headers() -> None:
    assert parse_url("https://hooks.example.com", allow_insecure=False).host_header == "hooks.example.com"
    assert parse_url("https://hooks.example.com", allow_insecure=False).path == "/"
    assert parse_url("http://[::1]:8080/x", allow_insecure=True).host_header == "[::1]:8080"
    assert parse_url("https://bücher.example/", allow_insecure=False).host == "xn--bcher-kva.example"
