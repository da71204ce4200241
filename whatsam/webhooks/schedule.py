"""When a failed delivery is tried again.

Attempt 1 is immediate; attempt n+1 waits `delays[n-1]` stretched by a random factor in
[1 - jitter, 1 + jitter]; after the last delay's attempt fails the delivery is `failed`.
`Retry-After` (429/503) is honoured: the next attempt never comes before it says."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from whatsam.config import Settings

# A Retry-After further out than this is treated as this (a receiver cannot park us for weeks).
MAX_RETRY_AFTER_SECONDS = 86400.0
# SQS holds a message back at most this long; longer waits hop through the queue.
SQS_MAX_DELAY_SECONDS = 900


@dataclass(frozen=True)
class RetryPolicy:
    delays: tuple[float, ...]
    jitter: float = 0.1
    rand: Callable[[], float] = random.random

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        delays = tuple(settings.webhook_retry_schedule)
        if any(d < 0 for d in delays) or not 0 <= settings.webhook_retry_jitter < 1:
            raise ValueError("webhook retry delays must be ≥ 0 and the jitter in [0, 1)")
        return cls(delays=delays, jitter=settings.webhook_retry_jitter)

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def minimum_span(self) -> float:
        """Least time from the first attempt to the last, whatever the jitter draws."""
        return sum(d * (1 - self.jitter) for d in self.delays)

    def delay_after(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait after failed attempt `attempt` (1-based), or None when it was the last."""
        if attempt >= self.max_attempts:
            return None
        base = self.delays[attempt - 1]
        delay = base * (1 + self.jitter * (2 * self.rand() - 1))
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return max(0.0, delay)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def sqs_delay(seconds: float) -> int:
    """The DelaySeconds of one hop towards a wait of `seconds`."""
    return max(0, min(SQS_MAX_DELAY_SECONDS, int(-(-seconds // 1))))
