"""Anti-ban: a daily cap on first-time recipients per session, growing as the number warms
up (WhatsApp bans numbers that cold-message many strangers). Sends to known chats are not
counted. One Redis round trip (a Lua script) per check, correct across processes."""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from whatsam.domain.tiers import Tier
from whatsam.errors import TooManyRequests

# KEYS: known-recipients set, today's counter, first-send day.
# ARGV: chat, base, today (epoch day), counter ttl, growth per day, ceiling.
_ADMIT = """
local first = redis.call('GET', KEYS[3])
if not first then redis.call('SET', KEYS[3], ARGV[3]); first = ARGV[3] end
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {1, tonumber(first)} end
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
local age = tonumber(ARGV[3]) - tonumber(first)
local cap = math.min(tonumber(ARGV[6]), tonumber(ARGV[2]) + tonumber(ARGV[5]) * age)
if used >= cap then return {0, tonumber(first)} end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return {1, tonumber(first)}
"""


@dataclass(frozen=True)
class CapPolicy:
    """New recipients per day: `base` on day one, `growth` more each day, at most `ceiling`."""

    base: int
    growth: int
    ceiling: int

    def cap_on(self, age_days: int) -> int:
        return min(self.ceiling, self.base + self.growth * max(0, age_days))


DEFAULT_POLICIES: dict[Tier, CapPolicy] = {
    Tier.BASIC: CapPolicy(base=20, growth=5, ceiling=200),
    Tier.PRO: CapPolicy(base=50, growth=10, ceiling=1_000),
    Tier.MAX: CapPolicy(base=100, growth=25, ceiling=5_000),
}


class RecipientCap:
    def __init__(self, client: redis.Redis, policies: dict[Tier, CapPolicy] | None = None):
        self._redis = client
        self._policies = policies or DEFAULT_POLICIES
        self._admit = client.register_script(_ADMIT)

    def admit(self, session_id: str, tier: Tier, chat_jid: str) -> None:
        """Count a send to `chat_jid`; 429 when it is a first-time recipient over today's cap."""
        policy = self._policies[tier]
        now = time.time()
        today = int(now // 86400)
        keys = [f"whatsam:recipients:{session_id}", f"whatsam:new-recipients:{session_id}:{today}",
                f"whatsam:first-send-day:{session_id}"]
        admitted, first_day = self._admit(keys=keys, args=[chat_jid, policy.base, today, 2 * 86400, policy.growth,
                                                            policy.ceiling])
        if not admitted:
            retry_after = int((today + 1) * 86400 - now) + 1
            raise TooManyRequests(
                "Today's limit of first-time recipients for this number is reached; it grows as the number warms up.",
                code="new_recipient_limit", retry_after=retry_after,
                details={"limit": policy.cap_on(today - int(first_day)), "retry_after": retry_after})
