"""Plans and their limits (spec §3.1 and §3.5)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Tier(StrEnum):
    BASIC = "BASIC"
    PRO = "PRO"
    MAX = "MAX"


@dataclass(frozen=True)
class TierLimits:
    sessions: int
    messages_per_hour: int
    api_calls_per_hour: int


LIMITS: dict[Tier, TierLimits] = {
    Tier.BASIC: TierLimits(sessions=1, messages_per_hour=100, api_calls_per_hour=1_000),
    Tier.PRO: TierLimits(sessions=5, messages_per_hour=1_000, api_calls_per_hour=10_000),
    Tier.MAX: TierLimits(sessions=20, messages_per_hour=10_000, api_calls_per_hour=100_000),
}


def limits_for(tier: Tier | str) -> TierLimits:
    return LIMITS[Tier(tier)]
