"""The charges of one month: the tier's base, the included messages and the overage, as
line items in `Decimal` money. Each line is rounded to the cent (half up) and the total
is the sum of the rounded lines, so the lines always add up to the total shown."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from whatsam.domain.pricing import TierPrice
from whatsam.domain.tiers import Tier
from whatsam.metering.totals import UsageTotals

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_value(rounding=ROUND_HALF_UP))


def to_cent(amount: Decimal) -> Decimal:
    """Rounded to the cent, half up."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money(amount: Decimal) -> str:
    return str(to_cent(amount))


@dataclass(frozen=True)
class LineItem:
    code: str
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "description": self.description, "quantity": self.quantity,
                "unit_price": str(self.unit_price), "amount": money(self.amount),
                "amount_cents": to_cents(self.amount)}


@dataclass(frozen=True)
class Charges:
    currency: str
    line_items: tuple[LineItem, ...]

    @property
    def total(self) -> Decimal:
        return sum((item.amount for item in self.line_items), Decimal("0.00"))

    def to_dict(self) -> dict[str, Any]:
        return {"currency": self.currency, "line_items": [item.to_dict() for item in self.line_items],
                "total": money(self.total), "total_cents": to_cents(self.total)}


def charges_for(tier: Tier, price: TierPrice, usage: UsageTotals, currency: str) -> Charges:
    billable = usage.billable_messages
    included = min(billable, price.included_messages)
    overage = billable - included
    return Charges(currency=currency, line_items=(
        LineItem(code="base", description=f"{tier.value} plan, monthly base", quantity=1,
                 unit_price=price.monthly_base, amount=to_cent(price.monthly_base)),
        LineItem(code="included_messages",
                 description=f"Messages sent, {price.included_messages:,} included in the plan",
                 quantity=included, unit_price=Decimal("0"), amount=Decimal("0.00")),
        LineItem(code="overage_messages", description=f"Messages sent beyond the {price.included_messages:,} included",
                 quantity=overage, unit_price=price.overage_per_message,
                 amount=to_cent(overage * price.overage_per_message)),
    ))
