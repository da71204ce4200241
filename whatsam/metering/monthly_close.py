"""The monthly close: an immutable statement per user for a month that is over and whose
usage is entirely folded into DynamoDB (run the usage sync first). Closing a month again
writes nothing: each statement is a conditional put."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from whatsam.adapters.directory import Directory
from whatsam.domain.model import iso_z, utcnow
from whatsam.errors import Conflict
from whatsam.metering.billing import BillingService
from whatsam.metering.counters import UsageCounters
from whatsam.metering.periods import Month, hour_label
from whatsam.metering.statements import StatementRepository

log = logging.getLogger(__name__)


@dataclass
class CloseReport:
    month: str
    closed: int = 0
    already_closed: int = 0
    not_yet_customers: int = 0

    def to_dict(self) -> dict[str, int | str]:
        return asdict(self)


class MonthlyClose:
    def __init__(self, directory: Directory, counters: UsageCounters, billing: BillingService,
                 statements: StatementRepository, clock: Callable[[], datetime] = utcnow):
        self._directory = directory
        self._counters = counters
        self._billing = billing
        self._statements = statements
        self._clock = clock

    def close_previous_month(self) -> CloseReport:
        return self.close(Month.of(self._clock()).previous())

    def close(self, month: Month) -> CloseReport:
        now = self._clock()
        if now < month.end:
            raise Conflict(f"{month} is not over yet.", code="month_not_over", details={"month": str(month)})
        unfolded = self._counters.open_hours(month.first_hour, month.end_hour)
        if unfolded:
            # A statement is final: closing before every count of the month is folded would
            # leave those counts out of it for good.
            raise Conflict(f"{month} still has usage not folded into DynamoDB; run the usage sync first.",
                           code="usage_not_folded",
                           details={"month": str(month), "hours": [hour_label(h) for h in unfolded[:24]]})
        report = CloseReport(month=str(month))
        for user in self._directory.all_users():
            if user.created_at >= month.end:
                report.not_yet_customers += 1
                continue
            summary = self._billing.summary(user, month, include_live=False)
            document = {**summary.to_dict(), "user_id": user.user_id, "status": "closed",
                        "closed_at": iso_z(now)}
            if self._statements.add(user.user_id, month, tier=summary.tier.value,
                                    currency=summary.charges.currency,
                                    total_cents=int(document["charges"]["total_cents"]),
                                    document=document, closed_at=now):
                report.closed += 1
            else:
                report.already_closed += 1
        log.info("monthly close: %s", report.to_dict())
        return report
