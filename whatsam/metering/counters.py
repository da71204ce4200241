"""Usage counters on the hot path: one Redis round trip per count, bucketed per hour, user
and session, so the hourly usage sync can fold closed hours into DynamoDB and forget them.

Layout (one schema, shared by the API, the workers and the sync):
- `whatsam:usage:{hour}:{user}:{session}` hash: metric -> count (session `-` when none);
- `whatsam:usage:index:{hour}` set of `{user}:{session}` buckets written in that hour;
- `whatsam:usage:hours` sorted set of hours that still hold unfolded buckets.
`hour` is the epoch hour (unix seconds // 3600) of the moment counted.

The sync takes a bucket over by *claiming* it: one atomic rename to
- `whatsam:usage:claim:{hour}:{user}:{session}:{claim_id}` hash (the counts, frozen), listed in
- `whatsam:usage:claims:{hour}` set of `{user}:{session}:{claim_id}` until it is folded.
A count arriving after the claim starts a fresh bucket, and the claim id names exactly one
set of counts, so DynamoDB can tell "already folded" from "new counts" (whatsam.metering.usage_sync)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import redis

NO_SESSION = "-"
PREFIX = "whatsam:usage"
# Unfolded buckets outlive any sane sync outage; the sync deletes them once folded.
BUCKET_TTL_SECONDS = 35 * 86400


class Metric(StrEnum):
    MESSAGES_SENT = "messages_sent"
    MESSAGES_RECEIVED = "messages_received"
    API_CALLS = "api_calls"
    SESSION_MINUTES = "session_minutes"


def epoch_hour(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // 3600)


@dataclass(frozen=True)
class Bucket:
    hour: int
    user_id: str
    session_id: str  # NO_SESSION for counts that belong to no session (API calls with a JWT)
    counts: dict[Metric, int]


def _bucket_key(hour: int, member: str) -> str:
    return f"{PREFIX}:{hour}:{member}"


def _index_key(hour: int) -> str:
    return f"{PREFIX}:index:{hour}"


_HOURS_KEY = f"{PREFIX}:hours"

# The platform's own bucket per hour: the claim script adds every claimed bucket's counts to
# it, and it is folded like any other (user `_platform`), so platform totals need no scan and
# no multi-item transaction. User ids are `usr_…`: it cannot collide.
PLATFORM_USER = "_platform"
PLATFORM_MEMBER = f"{PLATFORM_USER}:{NO_SESSION}"


@dataclass(frozen=True)
class Claim:
    """A bucket the sync took over: its counts can no longer change."""

    hour: int
    user_id: str
    session_id: str
    claim_id: str
    counts: dict[Metric, int]

    @property
    def member(self) -> str:
        return f"{self.user_id}:{self.session_id}:{self.claim_id}"


def _claim_key(hour: int, claim_member: str) -> str:
    return f"{PREFIX}:claim:{hour}:{claim_member}"


def _claims_key(hour: int) -> str:
    return f"{PREFIX}:claims:{hour}"


# Rename, not copy-and-delete: an increment lands either in the claimed counts or in a fresh
# bucket, never in between. The claim is listed (with its lease) before the bucket leaves the
# index, so a crash at any point leaves it findable. Its counts go into the platform bucket in
# the same step, so they reach the platform totals exactly once too.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[1])
  return 0
end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2])
redis.call('EXPIRE', KEYS[4], ttl)
redis.call('RENAME', KEYS[1], KEYS[3])
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('SREM', KEYS[2], ARGV[1])
if ARGV[1] ~= ARGV[5] then
  local counts = redis.call('HGETALL', KEYS[3])
  for i = 1, #counts, 2 do
    redis.call('HINCRBY', KEYS[5], counts[i], counts[i + 1])
  end
  redis.call('EXPIRE', KEYS[5], ttl)
  redis.call('SADD', KEYS[2], ARGV[5])
  redis.call('EXPIRE', KEYS[2], ttl)
end
return 1
"""

# A claim whose lease ran out belongs to a run that died (or gave it up): hand each to
# exactly one taker, with a new lease.
_TAKE_EXPIRED = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, member in ipairs(expired) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return expired
"""

# Atomic, so an `add` racing with it either keeps the hour open or re-opens it after.
_CLOSE_HOUR = """
if redis.call('SCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 1
end
return 0
"""


class UsageCounters:
    def __init__(self, client: redis.Redis):
        self._redis = client
        self._claim = client.register_script(_CLAIM)
        self._take_expired = client.register_script(_TAKE_EXPIRED)
        self._close_hour = client.register_script(_CLOSE_HOUR)

    def add(self, user_id: str, metric: Metric, n: int = 1, *, session_id: str | None = None,
            at: float | None = None) -> None:
        hour = epoch_hour(at)
        member = f"{user_id}:{session_id or NO_SESSION}"
        key = _bucket_key(hour, member)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hincrby(key, metric.value, n)
        pipe.expire(key, BUCKET_TTL_SECONDS)
        pipe.sadd(_index_key(hour), member)
        pipe.expire(_index_key(hour), BUCKET_TTL_SECONDS)
        pipe.zadd(_HOURS_KEY, {str(hour): hour})
        pipe.execute()

    def open_hours(self, first_hour: int | None = None, end_hour: int | None = None) -> list[int]:
        """Hours that still hold buckets the sync has not folded, oldest first; only those in
        [first_hour, end_hour) when given."""
        low = "-inf" if first_hour is None else first_hour
        high = "+inf" if end_hour is None else f"({end_hour}"
        hours: list[bytes | str] = self._redis.zrangebyscore(_HOURS_KEY, low, high)  # type: ignore[assignment]
        return [int(_text(h)) for h in hours]

    def buckets(self, hour: int) -> Iterator[Bucket]:
        for member in self.members(hour):
            user_id, _, session_id = member.rpartition(":")
            yield Bucket(hour=hour, user_id=user_id, session_id=session_id,
                         counts=_counts(self._redis.hgetall(_bucket_key(hour, member))))

    def user_buckets(self, user_id: str, hour: int, session_ids: list[str]) -> list[Bucket]:
        """One user's live (not yet folded) buckets of an hour, read directly (no index scan):
        month-to-date billing adds them to the folded records."""
        members = [f"{user_id}:{s}" for s in [NO_SESSION, *session_ids]]
        pipe = self._redis.pipeline(transaction=False)
        for member in members:
            pipe.hgetall(_bucket_key(hour, member))
        found = []
        for member, counts in zip(members, pipe.execute(), strict=True):
            if counts:
                found.append(Bucket(hour=hour, user_id=user_id, session_id=member.rpartition(":")[2],
                                    counts=_counts(counts)))
        return found

    def close_hour(self, hour: int) -> bool:
        """Forget an hour once every bucket and claim in it is folded (it stays open if one
        came back); True if it was forgotten."""
        return bool(self._close_hour(keys=[_index_key(hour), _claims_key(hour), _HOURS_KEY], args=[str(hour)]))

    # ------------------------------------------------------------ claims (the usage sync)

    def members(self, hour: int) -> list[str]:
        """`{user}:{session}` of the hour's unclaimed buckets."""
        return sorted(_text(m) for m in self._redis.smembers(_index_key(hour)))

    def claim(self, hour: int, member: str, *, lease_until: float) -> Claim | None:
        """Take a bucket over for folding, leased to the caller until `lease_until` (unix
        seconds); None if it is gone (claimed by another sync)."""
        claim_member = f"{member}:{uuid.uuid4().hex}"
        claimed = self._claim(keys=[_bucket_key(hour, member), _index_key(hour), _claim_key(hour, claim_member),
                                    _claims_key(hour), _bucket_key(hour, PLATFORM_MEMBER)],
                              args=[member, claim_member, BUCKET_TTL_SECONDS, lease_until, PLATFORM_MEMBER])
        if not claimed:
            return None
        return self._read_claim(hour, claim_member)

    def take_expired_claims(self, hour: int, *, now: float, lease_until: float) -> list[Claim]:
        """Claims of the hour whose lease ran out (their run died or gave them up), now
        leased to the caller: no two runs fold one claim at the same time."""
        return self._read_claims(hour, self._take_expired(keys=[_claims_key(hour)], args=[now, lease_until]))

    def pending_claims(self, hour: int) -> list[Claim]:
        """Every claim of the hour not released yet, leased or not (to read, not to fold)."""
        listed: list[bytes | str] = self._redis.zrange(_claims_key(hour), 0, -1)  # type: ignore[assignment]
        return self._read_claims(hour, listed)

    def abandon(self, claim: Claim) -> None:
        """Give a claim up (its run is failing): the next run takes it over at once."""
        self._redis.zadd(_claims_key(claim.hour), {claim.member: 0}, xx=True)

    def release(self, claim: Claim) -> None:
        """Drop a claim whose counts are folded into DynamoDB."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(_claim_key(claim.hour, claim.member))
        pipe.zrem(_claims_key(claim.hour), claim.member)
        pipe.execute()

    def _read_claims(self, hour: int, claim_members: list[bytes | str]) -> list[Claim]:
        claims = (self._read_claim(hour, _text(raw)) for raw in sorted(claim_members))
        return [claim for claim in claims if claim is not None]

    def _read_claim(self, hour: int, claim_member: str) -> Claim | None:
        counts = self._redis.hgetall(_claim_key(hour, claim_member))
        if not counts:
            # Released meanwhile by another sync (its counts are folded): only the listing is left.
            self._redis.zrem(_claims_key(hour), claim_member)
            return None
        rest, _, claim_id = claim_member.rpartition(":")
        user_id, _, session_id = rest.rpartition(":")
        return Claim(hour=hour, user_id=user_id, session_id=session_id, claim_id=claim_id, counts=_counts(counts))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _counts(raw: dict[bytes | str, bytes | str]) -> dict[Metric, int]:
    """A bucket's or claim's hash as metric -> count."""
    return {Metric(_text(k)): int(v) for k, v in raw.items()}
