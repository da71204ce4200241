"""What a user used: folded records plus the counts still in Redis (not folded yet), by day
or by month. A bucket is either live in Redis or folded in DynamoDB, never both (the sync
renames it away before folding), so adding the two counts nothing twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from whatsam.adapters.repositories import SessionRepository
from whatsam.domain.model import User
from whatsam.errors import NotFound
from whatsam.metering.counters import NO_SESSION, UsageCounters
from whatsam.metering.periods import Month, day_of_hour, days_between, first_hour_of_day
from whatsam.metering.records import HourUsage, UsageRecords
from whatsam.metering.totals import UsageTotals, total


@dataclass(frozen=True)
class DailyUsage:
    day: date
    totals: UsageTotals


class UsageReports:
    def __init__(self, counters: UsageCounters, records: UsageRecords, sessions: SessionRepository):
        self._counters = counters
        self._records = records
        self._sessions = sessions

    def daily(self, owner: User, start: date, end: date, *, session_id: str | None = None) -> list[DailyUsage]:
        """Every day of [start, end] (zeros included); one session's only when `session_id`
        is given, which must be the owner's (404 otherwise, as for any other tenant's id)."""
        if session_id is not None:
            card = self._sessions.get(session_id)
            if card is None or card.tenant_id != owner.user_id:
                raise NotFound("No such session.", code="session_not_found")
        first, end_hour = first_hour_of_day(start), first_hour_of_day(end) + 24
        hours = self._hours(owner, first, end_hour, session_id=session_id)
        by_day: dict[date, list[UsageTotals]] = defaultdict(list)
        for hour in hours:
            by_day[day_of_hour(hour.hour)].append(hour.totals)
        return [DailyUsage(day=day, totals=total(by_day.get(day, []))) for day in days_between(start, end)]

    def month(self, user: User, month: Month, *, include_live: bool = True) -> UsageTotals:
        return total(h.totals for h in self._hours(user, month.first_hour, month.end_hour, include_live=include_live))

    def _hours(self, owner: User, first_hour: int, end_hour: int, *, session_id: str | None = None,
               include_live: bool = True) -> Iterable[HourUsage]:
        yield from self._records.hours(owner.user_id, first_hour, end_hour, session_id=session_id)
        if include_live:
            yield from self._live(owner, first_hour, end_hour, session_id)

    def _live(self, owner: User, first_hour: int, end_hour: int, session_id: str | None) -> Iterable[HourUsage]:
        hours = self._counters.open_hours(first_hour, end_hour)
        if not hours:
            return
        session_ids = ([session_id] if session_id
                       else [card.session_id for card in self._sessions.list_for_tenant(owner.user_id)])
        for hour in hours:
            for bucket in self._counters.user_buckets(owner.user_id, hour, session_ids):
                if session_id is not None and bucket.session_id == NO_SESSION:
                    continue
                yield HourUsage(hour=hour, session_id=bucket.session_id, totals=UsageTotals.of(bucket.counts))
