"""Billing maths: line items, rounding, what is billable, and the price table from config."""

from __future__ import annotations

from decimal import Decimal

import pytest

from whatsam.domain.pricing import DEFAULT_PRICES, TierPrice, parse_price_table
from whatsam.domain.tiers import Tier
from whatsam.metering.charges import charges_for, money, to_cents
from whatsam.metering.counters import Metric
from whatsam.metering.totals import UsageTotals, total

PRO = TierPrice(monthly_base=Decimal("29.00"), included_messages=20_000, overage_per_message=Decimal("0.005"))


def _amounts(usage: UsageTotals, price: TierPrice = PRO, tier: Tier = Tier.PRO) -> list[tuple[str, int, str]]:
    return [(i.code, i.quantity, money(i.amount)) for i in charges_for(tier, price, usage, "USD").line_items]


def test_within_the_included_messages_only_the_base_is_charged() -> None:
    charges = charges_for(Tier.PRO, PRO, UsageTotals(messages_sent=19_999), "USD")
    assert [(i.code, i.quantity, money(i.amount)) for i in charges.line_items] == [
        ("base", 1, "29.00"), ("included_messages", 19_999, "0.00"), ("overage_messages", 0, "0.00")]
    assert charges.total == Decimal("29.00")
    assert charges.to_dict()["total_cents"] == 2900


def test_overage_is_charged_per_message_beyond_the_included() -> None:
    assert _amounts(UsageTotals(messages_sent=22_150)) == [
        ("base", 1, "29.00"), ("included_messages", 20_000, "0.00"), ("overage_messages", 2_150, "10.75")]
    assert charges_for(Tier.PRO, PRO, UsageTotals(messages_sent=22_150), "USD").to_dict()["total"] == "39.75"


@pytest.mark.parametrize(("overage", "amount"), [(1, "0.01"), (2, "0.01"), (3, "0.02"), (101, "0.51"), (0, "0.00")])
def test_sub_cent_overage_rounds_half_up_to_the_cent(overage: int, amount: str) -> None:
    # 0.005 each: 1 -> 0.005 -> 0.01, 2 -> 0.010, 3 -> 0.015 -> 0.02, 101 -> 0.505 -> 0.51.
    items = charges_for(Tier.PRO, PRO, UsageTotals(messages_sent=20_000 + overage), "USD").line_items
    assert money(items[2].amount) == amount


def test_the_total_is_the_sum_of_the_rounded_lines() -> None:
    odd = TierPrice(monthly_base=Decimal("9.995"), included_messages=0, overage_per_message=Decimal("0.0033"))
    charges = charges_for(Tier.BASIC, odd, UsageTotals(messages_sent=5), "EUR")
    # base 9.995 -> 10.00; 5 x 0.0033 = 0.0165 -> 0.02; total 10.02 (not round(10.0115) = 10.01).
    assert [money(i.amount) for i in charges.line_items] == ["10.00", "0.00", "0.02"]
    assert charges.to_dict() | {"line_items": []} == {"currency": "EUR", "line_items": [], "total": "10.02",
                                                      "total_cents": 1002}
    assert all(isinstance(i.amount, Decimal) for i in charges.line_items)


def test_only_sent_messages_are_billable() -> None:
    usage = UsageTotals(messages_sent=10, messages_received=1_000_000, api_calls=5_000_000, session_minutes=44_640)
    assert usage.billable_messages == 10
    basic = DEFAULT_PRICES[Tier.BASIC]
    assert charges_for(Tier.BASIC, basic, usage, "USD").total == basic.monthly_base


def test_usage_totals_add_up() -> None:
    a = UsageTotals.of({Metric.MESSAGES_SENT: 3, Metric.API_CALLS: 1})
    b = UsageTotals.of({Metric.MESSAGES_SENT: 4, Metric.SESSION_MINUTES: 60})
    assert a + b == UsageTotals(messages_sent=7, api_calls=1, session_minutes=60)
    assert total([a, b, UsageTotals()]) == a + b
    assert total([]) == UsageTotals()
    assert (a + b).to_dict() == {"messages_sent": 7, "messages_received": 0, "api_calls": 1, "session_minutes": 60}


def test_cents() -> None:
    assert to_cents(Decimal("39.75")) == 3975
    assert to_cents(Decimal("0.005")) == 1
    assert money(Decimal("29")) == "29.00"


# ------------------------------------------------------------------------------ the price table


def test_defaults_cover_every_tier() -> None:
    table = parse_price_table(None)
    assert {tier for tier, _ in table.entries} == set(Tier)
    assert table.currency == "USD"
    assert table.for_tier("PRO") == DEFAULT_PRICES[Tier.PRO]


def test_overrides_replace_named_tiers_and_keep_decimal_exactness() -> None:
    table = parse_price_table('{"pro": {"monthly_base": "31.50", "included_messages": 5000, '
                              '"overage_per_message": 0.0049}}', "eur")
    assert table.for_tier(Tier.PRO) == TierPrice(Decimal("31.50"), 5_000, Decimal("0.0049"))
    assert table.for_tier(Tier.MAX) == DEFAULT_PRICES[Tier.MAX]
    assert table.currency == "EUR"
    hash(table)   # Settings is a frozen dataclass: its price table must be hashable


@pytest.mark.parametrize("raw", [
    "{", "[]", '{"GOLD": {}}', '{"PRO": {"monthly_base": "1"}}',
    '{"PRO": {"monthly_base": "x", "included_messages": 1, "overage_per_message": "0.1"}}',
    '{"PRO": {"monthly_base": "-1", "included_messages": 1, "overage_per_message": "0.1"}}',
    '{"PRO": {"monthly_base": "1", "included_messages": -1, "overage_per_message": "0.1"}}',
    '{"PRO": {"monthly_base": "1", "included_messages": 1.5, "overage_per_message": "0.1"}}',
    '{"PRO": {"monthly_base": "1", "included_messages": true, "overage_per_message": "0.1"}}',
    '{"PRO": {"monthly_base": "NaN", "included_messages": 1, "overage_per_message": "0.1"}}',
    '{"PRO": {"monthly_base": null, "included_messages": 1, "overage_per_message": "0.1"}}',
    '{"PRO": {"monthly_base": "1", "included_messages": 1, "overage_per_message": "0.1", "extra": 1}}',
])
def test_bad_price_tables_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(ValueError, match="WHATSAM_PRICES"):
        parse_price_table(raw)


@pytest.mark.parametrize("currency", ["US", "dollars", "12$"])
def test_bad_currencies_are_refused(currency: str) -> None:
    with pytest.raises(ValueError, match="WHATSAM_CURRENCY"):
        parse_price_table(None, currency)
