from __future__ import annotations

import random

import pytest

from worker_fleet.engines.reconnect import ReconnectPolicy, backoff_ceiling, full_jitter_delay


def test_ceiling_doubles_from_base_until_cap() -> None:
    ceilings = [backoff_ceiling(attempt, base=1.0, cap=10.0) for attempt in range(6)]
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_ceiling_stays_finite_for_huge_attempt_numbers() -> None:
    assert backoff_ceiling(10_000, base=2.0, cap=300.0) == 300.0


def test_full_jitter_scales_the_ceiling() -> None:
    assert full_jitter_delay(3, base=1.0, cap=100.0, jitter=0.0) == 0.0
    assert full_jitter_delay(3, base=1.0, cap=100.0, jitter=0.5) == 4.0
    assert full_jitter_delay(3, base=1.0, cap=100.0, jitter=0.999) == pytest.approx(7.992)


@pytest.mark.parametrize("jitter", [-0.1, 1.0, 1.5])
def test_jitter_outside_unit_interval_is_rejected(jitter: float) -> None:
    with pytest.raises(ValueError):
        full_jitter_delay(0, base=1.0, cap=1.0, jitter=jitter)


def test_negative_inputs_are_rejected() -> None:
    with pytest.raises(ValueError):
        backoff_ceiling(-1, base=1.0, cap=1.0)
    with pytest.raises(ValueError):
        ReconnectPolicy(base=-1.0)
    with pytest.raises(ValueError):
        ReconnectPolicy(max_attempts=-1)


def test_policy_delays_stay_within_their_ceilings_and_vary() -> None:
    policy = ReconnectPolicy(base=0.5, cap=30.0)
    rng = random.Random(7)
    for attempt in range(12):
        delays = {policy.delay(attempt, rng) for _ in range(50)}
        ceiling = backoff_ceiling(attempt, base=0.5, cap=30.0)
        assert all(0.0 <= delay < ceiling for delay in delays)
        assert len(delays) > 1, "full jitter must spread the delays"


def test_same_seed_gives_same_delays() -> None:
    policy = ReconnectPolicy()
    first = [policy.delay(n, random.Random(42)) for n in range(5)]
    second = [policy.delay(n, random.Random(42)) for n in range(5)]
    assert first == second


def test_attempt_budget() -> None:
    limited = ReconnectPolicy(max_attempts=3)
    assert [limited.allows(n) for n in range(5)] == [True, True, True, False, False]
    assert not ReconnectPolicy(max_attempts=0).allows(0)
    assert ReconnectPolicy(max_attempts=None).allows(1_000_000)
