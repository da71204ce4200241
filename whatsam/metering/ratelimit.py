"""The rate limiter: GCRA (generic cell rate algorithm) buckets in Redis, checked and taken
by one Lua script, so one request is one atomic round trip however many limits apply.

Each bucket is a single number, its theoretical arrival time (TAT, microseconds of Redis's
clock): the moment the bucket would be full again. A charge of `cost` units moves it
`cost * T` later (T = window / limit); it is allowed while TAT stays within `burst * T` of now.
All the charges of one request are all-or-nothing: if any limit refuses, no bucket moves.
The script reads Redis's own clock, so Lambda containers and workers with skewed clocks
still agree. Keys expire when their bucket is full again, so idle clients cost no memory.

Every key a request touches goes to one script call; on Redis Cluster they would have to share
a hash slot, which they do not: this expects a non-clustered Redis (as the stack deploys)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis

from whatsam.metering.policies import MICROS, RatePolicy

KEY_PREFIX = "whatsam:rl"

# KEYS[i]: bucket i. ARGV[3i-2..3i]: emission interval (µs), burst, cost (negative refunds).
# Returns {allowed, now, tat_1, ..., tat_n}: each TAT after the call (moved only when allowed).
# TATs are written with %d: Lua's default number formatting keeps 14 digits, too few for µs.
_GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tats, moved = {}, {}
local allowed = 1
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i - 2])
  local burst = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local after = tat + cost * interval
  if after < now then after = now end
  if cost > 0 and after - now > burst * interval then allowed = 0 end
  tats[i] = tat
  moved[i] = after
end
local reply = {allowed, now}
for i = 1, #KEYS do
  local tat = tats[i]
  if allowed == 1 then
    tat = moved[i]
    if tat > now then
      redis.call('SET', KEYS[i], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000))
    else
      redis.call('DEL', KEYS[i])
    end
  end
  reply[#reply + 1] = tat
end
return reply
"""


@dataclass(frozen=True)
class Charge:
    """`cost` units of `policy` for one subject (a key id, user id, IP...). A negative cost
    gives units back (a successful login is not a failed attempt) and is always allowed; a
    zero cost only reads the bucket."""

    policy: RatePolicy
    subject: str
    cost: int = 1

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}:{self.policy.name}:{self.subject}"


@dataclass(frozen=True)
class Verdict:
    """One limit's state after a check, in the units the RateLimit headers speak."""

    policy: RatePolicy
    allowed: bool
    # Units that could be taken right now.
    remaining: int
    # Seconds until the bucket is full again.
    reset_after: int
    # Seconds until this charge would fit; 0 when it did.
    retry_after: int


def verdict(charge: Charge, tat_us: int, now_us: int, *, taken: bool) -> Verdict:
    """The limit's state given its TAT after the check (the GCRA maths, outside Redis).
    `taken`: the request's charges were taken; otherwise say whether this one would have fit."""
    policy = charge.policy
    interval = policy.emission_interval_us
    headroom = now_us + policy.burst * interval - tat_us
    remaining = min(policy.burst, max(0, headroom // interval))
    reset_after = _ceil_seconds(tat_us - now_us)
    # The moment the bucket has room for this charge again.
    fits_at = tat_us + charge.cost * interval - policy.burst * interval
    allowed = taken or charge.cost <= 0 or fits_at <= now_us
    retry_after = 0 if allowed else max(1, _ceil_seconds(fits_at - now_us))
    return Verdict(policy, allowed, remaining, reset_after, retry_after)


def _ceil_seconds(micros: int) -> int:
    return max(0, -(-micros // MICROS))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    verdicts: tuple[Verdict, ...]

    @property
    def denied_by(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.allowed)

    @property
    def retry_after(self) -> int:
        """Seconds until every refusing limit would take the charge."""
        return max((v.retry_after for v in self.denied_by), default=0)


class RateLimiter:
    def __init__(self, client: redis.Redis):
        self._script = client.register_script(_GCRA)

    def apply(self, charges: Sequence[Charge]) -> Decision:
        """Take every charge, or none when any limit refuses. One round trip."""
        if not charges:
            return Decision(True, ())
        args: list[int] = []
        for charge in charges:
            args += [charge.policy.emission_interval_us, charge.policy.burst, charge.cost]
        allowed, now, *tats = self._script(keys=[c.key for c in charges], args=args)
        return Decision(bool(allowed), tuple(verdict(c, int(tat), int(now), taken=bool(allowed))
                                             for c, tat in zip(charges, tats, strict=True)))
