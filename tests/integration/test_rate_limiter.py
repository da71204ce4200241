"""The GCRA Lua script on a real redis-server: the maths, all-or-nothing charges, refunds,
expiry, and many OS processes with many threads against one key."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.support.ratelimit_clients import ClientPlan, run_clients
from tests.support.waiting import wait_until
from whatsam.metering.policies import Policy, RatePolicy
from whatsam.metering.ratelimit import Charge, RateLimiter

pytestmark = pytest.mark.integration


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    connection.close()


@pytest.fixture
def limiter(client: redis.Redis) -> RateLimiter:
    return RateLimiter(client)


def _subject() -> str:
    return uuid.uuid4().hex


def _remaining(limiter: RateLimiter, policy: RatePolicy, subject: str) -> int:
    """Read a bucket: a zero-cost charge takes nothing."""
    return limiter.apply([Charge(policy, subject, 0)]).verdicts[0].remaining


def test_the_burst_passes_then_refusals_say_when_to_retry(limiter: RateLimiter, client: redis.Redis) -> None:
    policy = RatePolicy(Policy.MESSAGES_KEY, limit=100, window=3600, burst=100)
    charge = Charge(policy, _subject())
    started = time.monotonic()
    seen = [limiter.apply([charge]) for _ in range(100)]
    assert all(d.allowed for d in seen)
    assert [d.verdicts[0].remaining for d in seen] == list(range(99, -1, -1))
    assert seen[0].verdicts[0].reset_after == 36
    stored = client.get(charge.key)
    refused = limiter.apply([charge])
    # Counted from the first charge: on a busy machine the hundred charges take a while.
    elapsed = math.ceil(time.monotonic() - started)
    assert 3600 - elapsed <= seen[-1].verdicts[0].reset_after <= 3600
    assert not refused.allowed
    assert 35 - elapsed <= refused.retry_after <= 36, "one unit comes back every 36 s"
    assert refused.denied_by[0].remaining == 0
    assert client.get(charge.key) == stored, "a refusal moves nothing"
    assert (3600 - elapsed) * 1000 < client.pttl(charge.key) <= 3600_000, "the key lives until the bucket is full"


def test_units_come_back_at_the_policy_rate(limiter: RateLimiter) -> None:
    policy = RatePolicy(Policy.API_KEY, limit=20, window=1, burst=2)  # one unit every 50 ms
    charge = Charge(policy, _subject())
    assert limiter.apply([charge]).allowed and limiter.apply([charge]).allowed
    assert not limiter.apply([charge]).allowed
    peek = Charge(policy, charge.subject, cost=0)  # reads the bucket, takes nothing
    wait_until(lambda: limiter.apply([peek]).verdicts[0].remaining == 2, what="the bucket full again")
    # Full holds two units, never more, however long it waited: three at once do not fit, two do.
    assert not limiter.apply([Charge(policy, charge.subject, cost=3)]).allowed
    assert limiter.apply([Charge(policy, charge.subject, cost=2)]).allowed


def test_several_limits_are_all_or_nothing(limiter: RateLimiter) -> None:
    per_key = RatePolicy(Policy.MESSAGES_KEY, 3, 3600, 3)
    per_user = RatePolicy(Policy.MESSAGES_USER, 5, 3600, 5)
    user, key_a, key_b = _subject(), _subject(), _subject()
    for _ in range(3):
        assert limiter.apply([Charge(per_key, key_a), Charge(per_user, user)]).allowed
    refused = limiter.apply([Charge(per_key, key_a), Charge(per_user, user)])
    assert not refused.allowed
    assert [v.policy.name for v in refused.denied_by] == [Policy.MESSAGES_KEY]
    assert _remaining(limiter, per_user, user) == 2, "the user's units were not taken by the refused call"
    # Another key of the same user has its own bucket, but shares the user's.
    assert limiter.apply([Charge(per_key, key_b), Charge(per_user, user)]).allowed
    assert limiter.apply([Charge(per_key, key_b), Charge(per_user, user)]).allowed
    refused = limiter.apply([Charge(per_key, key_b), Charge(per_user, user)])
    assert [v.policy.name for v in refused.denied_by] == [Policy.MESSAGES_USER]
    assert _remaining(limiter, per_key, key_b) == 1, "key b's unit was not taken by the refused call"


def test_refunds_give_units_back_and_never_more_than_the_burst(limiter: RateLimiter, client: redis.Redis) -> None:
    policy = RatePolicy(Policy.LOGIN_ACCOUNT, 5, 900, 5)
    charge = Charge(policy, _subject())
    for _ in range(3):
        limiter.apply([charge])
    assert _remaining(limiter, policy, charge.subject) == 2
    limiter.apply([Charge(policy, charge.subject, -1)])
    assert _remaining(limiter, policy, charge.subject) == 3
    for _ in range(5):
        limiter.apply([Charge(policy, charge.subject, -1)])
    assert _remaining(limiter, policy, charge.subject) == 5
    assert client.get(charge.key) is None, "a full bucket is no key at all"


def test_microsecond_times_survive_the_round_trip(limiter: RateLimiter, client: redis.Redis) -> None:
    # Lua's default number formatting would keep 14 digits and round a µs timestamp.
    policy = RatePolicy(Policy.API_USER, 7, 3, 7)  # an interval of 428571 µs
    charge = Charge(policy, _subject())
    limiter.apply([charge])
    first = int(client.get(charge.key) or 0)
    limiter.apply([charge])
    assert int(client.get(charge.key) or 0) - first == policy.emission_interval_us


# ---------------------------------------------------------------- many processes, many threads


def _plan(label: str, *charges: Charge) -> ClientPlan:
    return ClientPlan(label, [{"name": c.policy.name.value, "limit": c.policy.limit, "window": c.policy.window,
                               "burst": c.policy.burst, "subject": c.subject} for c in charges])


def test_parallel_clients_in_many_processes_never_get_more_than_the_burst_through(redis_url: str) -> None:
    policy = RatePolicy(Policy.MESSAGES_KEY, limit=40, window=3600, burst=40)  # refills one per 90 s
    charge = Charge(policy, _subject())
    outcomes, elapsed = run_clients(redis_url, [_plan(f"p{i}", charge) for i in range(4)], threads=8, attempts=6)
    assert len(outcomes) == 4 * 8 * 6
    admitted = sum(o.allowed for o in outcomes)
    refill = math.ceil(elapsed * policy.limit / policy.window)
    assert admitted <= policy.limit + policy.burst, "the issue's bound"
    assert policy.burst <= admitted <= policy.burst + refill, (admitted, elapsed)
    refusals = [o for o in outcomes if not o.allowed]
    assert len(refusals) == len(outcomes) - admitted
    for refusal in refusals:
        assert 1 <= refusal.retry_after <= 90
        assert refusal.headers["RateLimit-Policy"] == '"messages-key";q=40;w=3600'
        assert refusal.headers["RateLimit"].startswith('"messages-key";r=0;t=')


def test_per_key_and_per_user_limits_hold_together_under_concurrency(redis_url: str, limiter: RateLimiter) -> None:
    per_key = RatePolicy(Policy.MESSAGES_KEY, 30, 3600, 30)
    per_user = RatePolicy(Policy.MESSAGES_USER, 45, 3600, 45)
    user, key_a, key_b = _subject(), _subject(), _subject()
    plans = [_plan(label, Charge(per_key, key), Charge(per_user, user))
             for label, key in (("a", key_a), ("a", key_a), ("b", key_b), ("b", key_b))]
    outcomes, elapsed = run_clients(redis_url, plans, threads=6, attempts=10)
    assert elapsed < 80, "no unit of the user's bucket came back during the run"
    by_key = {label: sum(o.allowed for o in outcomes if o.label == label) for label in ("a", "b")}
    assert by_key["a"] + by_key["b"] == per_user.burst, by_key
    assert by_key["a"] <= per_key.burst and by_key["b"] <= per_key.burst
    # All-or-nothing: a key's bucket lost exactly what its admitted calls took, nothing for
    # the calls the user's limit refused.
    assert per_key.burst - _remaining(limiter, per_key, key_a) == by_key["a"]
    assert per_key.burst - _remaining(limiter, per_key, key_b) == by_key["b"]
    assert _remaining(limiter, per_user, user) == 0
