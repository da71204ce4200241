"""Rate-limit policies: what is limited, by how much, per tier (spec §3.5).

A policy is `limit` units per `window` seconds with a bucket of `burst` units: a client may
spend up to `burst` at once, and the bucket refills evenly, one unit every `window / limit`
seconds. Over any span of `window` seconds at most `limit + burst` units pass; sustained, it is
`limit` per `window`. By default `burst == limit`: a quiet client can use a whole window's
quota at once, which is what a customer reading "100 messages per hour" expects.

Numbers of the tier-dependent policies come from `whatsam.domain.tiers`; the rest are here.
`WHATSAM_RATE_LIMITS` overrides any of them (see `parse_overrides`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from whatsam.domain.tiers import Tier, TierLimits, limits_for

MICROS = 1_000_000


class Policy(StrEnum):
    """Policy names, as they appear in `RateLimit-Policy` / `RateLimit` headers."""

    MESSAGES_KEY = "messages-key"
    MESSAGES_USER = "messages-user"
    API_KEY = "api-key"
    API_USER = "api-user"
    SESSION_OPS = "session-ops"
    LOGIN_PAIR = "login-pair"
    LOGIN_PAIR_HOUR = "login-pair-hour"
    LOGIN_PAIR_DAY = "login-pair-day"
    LOGIN_IP = "login-ip"
    LOGIN_ACCOUNT = "login-account"
    REGISTER_IP = "register-ip"


@dataclass(frozen=True)
class RatePolicy:
    name: Policy
    limit: int
    window: int
    burst: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window < 1 or self.burst < 1:
            raise ValueError(f"rate policy {self.name}: limit, window and burst must be positive")

    @property
    def emission_interval_us(self) -> int:
        """Microseconds one unit takes to come back."""
        return max(1, self.window * MICROS // self.limit)


def _per_hour(pick: Callable[[TierLimits], int]) -> Callable[[Tier], tuple[int, int]]:
    return lambda tier: (pick(limits_for(tier)), 3600)


_TIERED: dict[Policy, Callable[[Tier], tuple[int, int]]] = {
    Policy.MESSAGES_KEY: _per_hour(lambda t: t.messages_per_hour),
    Policy.MESSAGES_USER: _per_hour(lambda t: t.messages_per_hour),
    Policy.API_KEY: _per_hour(lambda t: t.api_calls_per_hour),
    Policy.API_USER: _per_hour(lambda t: t.api_calls_per_hour),
    Policy.SESSION_OPS: lambda tier: (limits_for(tier).session_ops_per_minute, 60),
}

# Brute-force and sign-up abuse brakes; the same for everyone (there is no tier before login):
# (limit, window, burst). Login limits count failed attempts (a successful login gives its
# units back). One account from one address waits longer the more it fails: the three
# `login-pair` buckets stack to 5 tries at once, then one per 12 s up to 10, one per 3 min
# up to 20, one per 36 min after that. The account's own ceiling, over every address, is
# looser, and never refuses an address with no failures on it (`whatsam.http.rate_limits`).
_FLAT: dict[Policy, tuple[int, int, int]] = {
    Policy.LOGIN_PAIR: (5, 60, 5),
    Policy.LOGIN_PAIR_HOUR: (20, 3600, 10),
    Policy.LOGIN_PAIR_DAY: (40, 86400, 20),
    Policy.LOGIN_ACCOUNT: (100, 3600, 100),
    Policy.LOGIN_IP: (10, 60, 10),
    Policy.REGISTER_IP: (20, 3600, 20),
}

# Failed logins of one account from one address, fastest first.
LOGIN_PAIR_POLICIES = (Policy.LOGIN_PAIR, Policy.LOGIN_PAIR_HOUR, Policy.LOGIN_PAIR_DAY)

OverrideKey = tuple[Policy, Tier | None]


def default_policy(name: Policy, tier: Tier | None = None) -> RatePolicy:
    if name in _TIERED:
        limit, window = _TIERED[name](tier or Tier.BASIC)
        return RatePolicy(name, limit, window, burst=limit)
    limit, window, burst = _FLAT[name]
    return RatePolicy(name, limit, window, burst)


def parse_overrides(text: str) -> dict[OverrideKey, RatePolicy]:
    """`name[.TIER]=LIMIT/WINDOW[/BURST]`, comma separated, e.g.
    `login-ip=50/60,messages-key.BASIC=5/3600/2`. Without a tier it applies to every tier;
    without a burst the burst is the limit. A malformed entry is an error at start-up, not a
    silently unlimited route."""
    overrides: dict[OverrideKey, RatePolicy] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        target, sep, numbers = entry.partition("=")
        name, _, tier = target.strip().partition(".")
        parts = numbers.split("/")
        if not sep or len(parts) not in (2, 3):
            raise ValueError(f"WHATSAM_RATE_LIMITS: {entry!r} is not name[.TIER]=LIMIT/WINDOW[/BURST]")
        try:
            policy = Policy(name)
            limit, window = int(parts[0]), int(parts[1])
            burst = int(parts[2]) if len(parts) == 3 else limit
            tier_key = Tier(tier) if tier else None
        except ValueError as exc:
            raise ValueError(f"WHATSAM_RATE_LIMITS: bad entry {entry!r}: {exc}") from exc
        if tier_key is not None and policy not in _TIERED:
            raise ValueError(f"WHATSAM_RATE_LIMITS: {policy} is the same for every tier")
        overrides[(policy, tier_key)] = RatePolicy(policy, limit, window, burst)
    return overrides


class PolicyTable:
    """The policy in force for a name and tier: an override for that tier, else one for every
    tier, else the default."""

    def __init__(self, overrides: Mapping[OverrideKey, RatePolicy] | None = None):
        self._overrides = dict(overrides or {})

    @classmethod
    def from_text(cls, text: str) -> PolicyTable:
        return cls(parse_overrides(text))

    def get(self, name: Policy, tier: Tier | None = None) -> RatePolicy:
        tier = tier if name in _TIERED else None
        return (self._overrides.get((name, tier)) or self._overrides.get((name, None))
                or default_policy(name, tier))
