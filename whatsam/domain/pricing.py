"""The price table (spec §3.5): per tier a monthly base, the messages it includes, and the
price of each message beyond them. Money is `Decimal`, never float.

Operators override it with `WHATSAM_PRICES`, JSON keyed by tier, prices as strings:
`{"PRO": {"monthly_base": "29.00", "included_messages": 20000, "overage_per_message": "0.005"}}`.
Tiers left out keep their defaults."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from whatsam.domain.tiers import Tier


@dataclass(frozen=True)
class TierPrice:
    monthly_base: Decimal
    included_messages: int
    overage_per_message: Decimal


DEFAULT_CURRENCY = "USD"

DEFAULT_PRICES: dict[Tier, TierPrice] = {
    Tier.BASIC: TierPrice(monthly_base=Decimal("0.00"), included_messages=1_000,
                          overage_per_message=Decimal("0.01")),
    Tier.PRO: TierPrice(monthly_base=Decimal("29.00"), included_messages=20_000,
                        overage_per_message=Decimal("0.005")),
    Tier.MAX: TierPrice(monthly_base=Decimal("99.00"), included_messages=200_000,
                        overage_per_message=Decimal("0.002")),
}


@dataclass(frozen=True)
class PriceTable:
    # A tuple, not a dict: Settings is a frozen (hashable) dataclass.
    entries: tuple[tuple[Tier, TierPrice], ...]
    currency: str = DEFAULT_CURRENCY

    def for_tier(self, tier: Tier | str) -> TierPrice:
        return dict(self.entries)[Tier(tier)]


def default_price_table() -> PriceTable:
    return PriceTable(entries=tuple(DEFAULT_PRICES.items()))


def parse_price_table(raw: str | None, currency: str | None = None) -> PriceTable:
    """The defaults overridden by `raw` (WHATSAM_PRICES); a clear error names what is wrong."""
    prices = dict(DEFAULT_PRICES)
    if raw and raw.strip():
        try:
            overrides = json.loads(raw, parse_float=Decimal)
        except ValueError as exc:
            raise ValueError(f"WHATSAM_PRICES is not valid JSON: {exc}") from exc
        if not isinstance(overrides, dict):
            raise ValueError("WHATSAM_PRICES must be a JSON object keyed by tier")
        for name, entry in overrides.items():
            try:
                tier = Tier(str(name).upper())
            except ValueError as exc:
                raise ValueError(f"WHATSAM_PRICES: unknown tier {name!r} (one of {[t.value for t in Tier]})") from exc
            prices[tier] = _tier_price(tier, entry)
    code = (currency or DEFAULT_CURRENCY).strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"WHATSAM_CURRENCY must be an ISO 4217 code such as USD, got {currency!r}")
    return PriceTable(entries=tuple((tier, prices[tier]) for tier in Tier), currency=code)


def _tier_price(tier: Tier, entry: Any) -> TierPrice:
    fields = {"monthly_base", "included_messages", "overage_per_message"}
    if not isinstance(entry, dict) or set(entry) != fields:
        raise ValueError(f"WHATSAM_PRICES[{tier.value}] must have exactly {sorted(fields)}")
    included = entry["included_messages"]
    if isinstance(included, bool) or not isinstance(included, int) or included < 0:
        raise ValueError(f"WHATSAM_PRICES[{tier.value}].included_messages must be a whole number >= 0")
    return TierPrice(monthly_base=_money(tier, "monthly_base", entry["monthly_base"]),
                     included_messages=included,
                     overage_per_message=_money(tier, "overage_per_message", entry["overage_per_message"]))


def _money(tier: Tier, name: str, value: Any) -> Decimal:
    # Strings (or JSON numbers read as Decimal): a float never gets near a price.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"WHATSAM_PRICES[{tier.value}].{name} must be a decimal string such as \"0.005\"")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"WHATSAM_PRICES[{tier.value}].{name} is not a number: {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"WHATSAM_PRICES[{tier.value}].{name} must be a finite amount >= 0")
    return amount
