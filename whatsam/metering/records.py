"""Usage records in DynamoDB: the folded counts of each user, hour and session. The
platform's totals are the records of user `_platform` (see counters.PLATFORM_USER).

Folding a claim is one conditional update: add its counts to the hour record on condition
that the record's `folded_claims` does not hold the claim id yet. A failed condition means
the claim was folded before (by a run that crashed before releasing it): nothing is added
twice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from whatsam.adapters.conditions import update_if
from whatsam.adapters.usage_models import UsageModel
from whatsam.domain.model import utcnow
from whatsam.metering.counters import PLATFORM_USER, Claim, Metric
from whatsam.metering.periods import day_of_hour, first_hour_of_day, hour_label
from whatsam.metering.totals import UsageTotals, total


def record_slot(hour: int, session_id: str) -> str:
    return f"{hour_label(hour)}#{session_id}"


@dataclass(frozen=True)
class HourUsage:
    hour: int
    session_id: str
    totals: UsageTotals


def _totals(item: UsageModel) -> UsageTotals:
    return UsageTotals(**{metric.value: int(getattr(item, metric.value) or 0) for metric in Metric})


class UsageRecords:
    def fold(self, claim: Claim) -> bool:
        """Add a claim's counts; True if added now, False if an earlier fold added them."""
        m = UsageModel
        adds = [getattr(m, metric.value).add(n) for metric, n in sorted(claim.counts.items()) if n]
        return update_if(m(user_id=claim.user_id, slot=record_slot(claim.hour, claim.session_id)),
                         [m.hour.set(claim.hour), m.day.set(day_of_hour(claim.hour).isoformat()),
                          m.session_id.set(claim.session_id), m.updated_at.set(utcnow()), *adds,
                          m.folded_claims.add({claim.claim_id})],
                         m.folded_claims.does_not_exist() | ~m.folded_claims.contains(claim.claim_id))

    def hours(self, user_id: str, first_hour: int, end_hour: int, *,
              session_id: str | None = None) -> Iterator[HourUsage]:
        """A user's folded hours in [first_hour, end_hour), oldest first."""
        if end_hour <= first_hour:
            return
        m = UsageModel
        # Slots of an hour sort before the next hour's label; U+FFFF after any session id.
        slots = m.slot.between(hour_label(first_hour), f"{hour_label(end_hour - 1)}#\uffff")
        for item in m.query(user_id, range_key_condition=slots, consistent_read=True,
                            filter_condition=(m.session_id == session_id) if session_id else None):
            yield HourUsage(hour=int(item.hour), session_id=str(item.session_id), totals=_totals(item))

    def platform_day(self, day: date) -> UsageTotals:
        """The whole platform's folded counts of a UTC day (at most 24 records)."""
        first = first_hour_of_day(day)
        return total(h.totals for h in self.hours(PLATFORM_USER, first, first + 24))
