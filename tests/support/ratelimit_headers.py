"""Reading the `RateLimit` header (draft-ietf-httpapi-ratelimit-headers) the API sends."""

from __future__ import annotations


def ratelimit_state(headers: dict[str, str]) -> dict[str, dict[str, int]]:
    """`RateLimit` parsed: policy -> {"r": units left, "t": seconds until whole again}."""
    parsed: dict[str, dict[str, int]] = {}
    for item in headers["ratelimit"].split(","):
        name, *params = item.strip().split(";")
        parsed[name.strip('"')] = {k: int(v) for k, v in (p.split("=") for p in params)}
    return parsed
