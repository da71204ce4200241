"""Usage and billing suites: counters written to the real Redis with explicit timestamps,
folded by the real sync into the moto server's DynamoDB."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from whatsam.bootstrap import Container
from whatsam.metering.counters import Metric, UsageCounters
from whatsam.metering.periods import hour_of
from whatsam.metering.records import UsageRecords
from whatsam.metering.totals import UsageTotals

pytestmark = pytest.mark.integration


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def new_user_id() -> str:
    return f"usr_t{uuid.uuid4().hex[:24]}"


@dataclass
class Traffic:
    """Writes counts through UsageCounters.add and remembers what it wrote, per user, hour and session."""

    counters: UsageCounters
    written: dict[tuple[str, int, str], dict[Metric, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def add(self, user_id: str, metric: Metric, n: int, *, session_id: str | None, at: datetime) -> None:
        self.counters.add(user_id, metric, n, session_id=session_id, at=at.timestamp())
        self.written[(user_id, hour_of(at), session_id or "-")][metric] += n

    def random_hours(self, users: list[str], sessions: list[str], hours: list[datetime], seed: int) -> None:
        """Several counts of every metric in every (user, session, hour)."""
        rng = random.Random(seed)
        for user_id in users:
            for session_id in sessions:
                for at in hours:
                    for metric in Metric:
                        for _ in range(rng.randint(1, 2)):
                            self.add(user_id, metric, rng.randint(1, 50), session_id=session_id,
                                     at=at.replace(minute=rng.randint(0, 59)))

    def expected(self, user_id: str) -> dict[tuple[int, str], UsageTotals]:
        return {(hour, session): UsageTotals.of(counts)
                for (user, hour, session), counts in self.written.items() if user == user_id}

    def platform_total(self, day: Any) -> UsageTotals:
        from whatsam.metering.periods import day_of_hour

        result = UsageTotals()
        for (_, hour, _), counts in self.written.items():
            if day_of_hour(hour) == day:
                result = result + UsageTotals.of(counts)
        return result


def folded(records: UsageRecords, user_id: str, first: datetime, end: datetime) -> dict[tuple[int, str], UsageTotals]:
    """The user's usage records in DynamoDB between two moments."""
    return {(h.hour, h.session_id): h.totals for h in records.hours(user_id, hour_of(first), hour_of(end))}


@pytest.fixture
def traffic(services: Container) -> Traffic:
    return Traffic(services.billing.counters)
