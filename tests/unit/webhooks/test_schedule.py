"""The retry schedule: ≥ 72 h by default whatever the jitter draws, Retry-After honoured,
and SQS's 15-minute delay cap respected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from whatsam.config import DEFAULT_WEBHOOK_RETRY_SCHEDULE, Settings
from whatsam.webhooks.schedule import MAX_RETRY_AFTER_SECONDS, RetryPolicy, parse_retry_after, sqs_delay


def test_default_schedule_spans_at_least_72_hours_even_at_the_lowest_jitter() -> None:
    policy = RetryPolicy.from_settings(Settings())
    assert policy.delays == DEFAULT_WEBHOOK_RETRY_SCHEDULE
    assert policy.minimum_span() >= 72 * 3600
    lowest = RetryPolicy(delays=policy.delays, jitter=policy.jitter, rand=lambda: 0.0)
    assert sum(lowest.delay_after(n) or 0 for n in range(1, lowest.max_attempts)) >= 72 * 3600
    # Backoff: delays never shrink.
    assert list(policy.delays) == sorted(policy.delays)


def test_schedule_and_jitter_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAM_WEBHOOK_RETRY_SCHEDULE", "0.5, 1,2")
    monkeypatch.setenv("WHATSAM_WEBHOOK_RETRY_JITTER", "0")
    policy = RetryPolicy.from_settings(Settings.from_env())
    assert policy.delays == (0.5, 1.0, 2.0)
    assert policy.max_attempts == 4
    assert [policy.delay_after(n) for n in range(1, 5)] == [0.5, 1.0, 2.0, None]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy.from_settings(Settings(webhook_retry_schedule=(1, -1)))
    with pytest.raises(ValueError):
        RetryPolicy.from_settings(Settings(webhook_retry_jitter=1.5))


@pytest.mark.parametrize(("draw", "factor"), [(0.0, 0.9), (0.5, 1.0), (1.0, 1.1)])
def test_jitter_stretches_within_bounds(draw: float, factor: float) -> None:
    policy = RetryPolicy(delays=(100.0, 200.0), jitter=0.1, rand=lambda: draw)
    assert policy.delay_after(1) == pytest.approx(100 * factor)
    assert policy.delay_after(2) == pytest.approx(200 * factor)
    assert policy.delay_after(3) is None


def test_retry_after_is_honoured_but_bounded() -> None:
    policy = RetryPolicy(delays=(5.0, 10.0), jitter=0.0)
    assert policy.delay_after(1, retry_after=120) == 120
    # Never sooner than the schedule says.
    assert policy.delay_after(1, retry_after=1) == 5
    assert policy.delay_after(1, retry_after=10**9) == MAX_RETRY_AFTER_SECONDS
    assert policy.delay_after(3, retry_after=5) is None


def test_retry_after_parsing() -> None:
    now = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(format_datetime(now + timedelta(minutes=2), usegmt=True), now) == 120
    assert parse_retry_after(format_datetime(now - timedelta(minutes=2), usegmt=True), now) == 0
    for bad in (None, "", "soon", "-5", "1.5e9"):
        assert parse_retry_after(bad, now) is None


@pytest.mark.parametrize(("wait", "delay"), [(-3, 0), (0, 0), (0.2, 1), (1, 1), (59.5, 60), (900, 900),
                                             (3600, 900), (72 * 3600, 900)])
def test_sqs_delay_is_whole_seconds_capped_at_15_minutes(wait: float, delay: int) -> None:
    assert sqs_delay(wait) == delay
