"""Billing: a month's plan, usage and charges for one user, month to date (GET /v1/billing)
or closed (statements). Billable: messages sent (accepted sends), see UsageTotals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from whatsam.domain.model import User, iso_z, utcnow
from whatsam.domain.pricing import PriceTable, TierPrice
from whatsam.domain.tiers import Tier, limits_for
from whatsam.errors import NotFound
from whatsam.metering.charges import Charges, charges_for, money
from whatsam.metering.periods import Month
from whatsam.metering.statements import StatementRepository
from whatsam.metering.totals import UsageTotals
from whatsam.metering.usage_reports import UsageReports


@dataclass(frozen=True)
class MonthSummary:
    user_id: str
    month: Month
    tier: Tier
    price: TierPrice
    usage: UsageTotals
    charges: Charges

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": str(self.month),
            "period": {"from": self.month.first_day.isoformat(), "to": self.month.last_day.isoformat()},
            "plan": {"tier": self.tier.value, "monthly_base": money(self.price.monthly_base),
                     "included_messages": self.price.included_messages,
                     "overage_per_message": str(self.price.overage_per_message),
                     "currency": self.charges.currency},
            "usage": self.usage.to_dict(),
            "billable_messages": self.usage.billable_messages,
            "charges": self.charges.to_dict(),
        }


class BillingService:
    def __init__(self, prices: PriceTable, usage: UsageReports, statements: StatementRepository,
                 clock: Callable[[], datetime] = utcnow):
        self._prices = prices
        self._usage = usage
        self._statements = statements
        self._clock = clock

    def summary(self, user: User, month: Month, *, include_live: bool = True) -> MonthSummary:
        """The month on the user's current tier (a plan change applies to the whole month)."""
        price = self._prices.for_tier(user.tier)
        usage = self._usage.month(user, month, include_live=include_live)
        return MonthSummary(user_id=user.user_id, month=month, tier=user.tier, price=price, usage=usage,
                            charges=charges_for(user.tier, price, usage, self._prices.currency))

    def month_to_date(self, user: User) -> dict[str, Any]:
        now = self._clock().astimezone(UTC)
        summary = self.summary(user, Month.of(now))
        return {**summary.to_dict(), "status": "open", "as_of": iso_z(now), "limits": limits_for(user.tier).public()}

    def statements(self, user: User) -> list[dict[str, Any]]:
        return self._statements.list(user.user_id)

    def statement(self, user: User, month: Month) -> dict[str, Any]:
        found = self._statements.get(user.user_id, month)
        if found is None:
            raise NotFound(f"No statement for {month}: months are closed after they end.", code="statement_not_found")
        return found
