"""Usage totals: what was counted, summed over any hours and sessions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from whatsam.metering.counters import Metric


@dataclass(frozen=True)
class UsageTotals:
    messages_sent: int = 0
    messages_received: int = 0
    api_calls: int = 0
    session_minutes: int = 0

    @classmethod
    def of(cls, counts: Mapping[Metric, int]) -> UsageTotals:
        return cls(**{metric.value: int(counts.get(metric, 0)) for metric in Metric})

    def __add__(self, other: UsageTotals) -> UsageTotals:
        return UsageTotals(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def billable_messages(self) -> int:
        """Messages that are charged: accepted sends. Received messages, API calls and
        connected minutes are counted and shown, never charged."""
        return self.messages_sent

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def total(items: Iterable[UsageTotals]) -> UsageTotals:
    result = UsageTotals()
    for item in items:
        result = result + item
    return result
