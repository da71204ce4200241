"""The usage sync: folds the Redis counters of closed hours into DynamoDB usage records.

For each closed hour (ended at least `grace_seconds` ago), each bucket goes through three
steps, in this order:
1. claim (Redis, one atomic script): the bucket is renamed to a claim with a fresh id, leased
   to this run; a late increment starts a new bucket instead of changing counts being
   folded, and the counts are added to the hour's platform bucket in the same step;
2. fold (DynamoDB, one conditional update): add the counts to the user's hour record on
   condition that the record has not recorded that claim id (whatsam.metering.records);
3. release (Redis): delete the claim.
A crash between 1 and 3 leaves the claim; once its lease runs out (at once if the run saw its
own failure) the next run takes it over and folds it again, and the condition turns a
repeat into a no-op. The lease is taken atomically, so two concurrent runs never fold one
claim at once. Running twice, running concurrently, or crashing at any point counts nothing
twice and loses nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from whatsam.metering.counters import PLATFORM_MEMBER, Claim, UsageCounters
from whatsam.metering.periods import is_closed
from whatsam.metering.records import UsageRecords

log = logging.getLogger(__name__)

# A fold takes milliseconds; a claim still leased after this belongs to a run that died.
DEFAULT_LEASE_SECONDS = 300.0
# Each claim adds to the platform bucket, so a second pass folds that; counts still arriving
# for a closed hour (they should not) wait for the next run rather than keep this one busy.
_PASSES_PER_HOUR = 3


@dataclass
class SyncReport:
    hours_seen: int = 0
    hours_closed: int = 0
    folded: int = 0
    already_folded: int = 0
    recovered: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class UsageSync:
    def __init__(self, counters: UsageCounters, records: UsageRecords, *, grace_seconds: float,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS, clock: Callable[[], float] = time.time):
        self._counters = counters
        self._records = records
        self._grace = grace_seconds
        self._lease = lease_seconds
        self._clock = clock

    def run(self) -> SyncReport:
        report = SyncReport()
        for hour in self._counters.open_hours():
            if not is_closed(hour, self._clock(), self._grace):
                continue
            report.hours_seen += 1
            self._fold_hour(hour, report)
            if self._counters.close_hour(hour):
                report.hours_closed += 1
        log.info("usage sync: %s", report.to_dict())
        return report

    def _fold_hour(self, hour: int, report: SyncReport) -> None:
        now = self._clock()
        for claim in self._counters.take_expired_claims(hour, now=now, lease_until=now + self._lease):
            report.recovered += 1
            self._fold(claim, report)
        for _ in range(_PASSES_PER_HOUR):
            members = self._counters.members(hour)
            if not members:
                return
            # The platform bucket last: every claim before it adds to it.
            for member in sorted(members, key=lambda m: m == PLATFORM_MEMBER):
                taken = self._counters.claim(hour, member, lease_until=self._clock() + self._lease)
                if taken is not None:
                    self._fold(taken, report)

    def _fold(self, claim: Claim, report: SyncReport) -> None:
        # Write first, then forget: a crash in between leaves the claim, which a later run
        # folds again as a no-op and then releases.
        try:
            folded = self._records.fold(claim)
        except BaseException:
            self._counters.abandon(claim)
            raise
        report.folded += folded
        report.already_folded += not folded
        self._counters.release(claim)
