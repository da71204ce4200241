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
    # Session operations (create, delete, connect, disconnect, logout, restart, pairing code,
    # API-key create) per minute and user: the same for every tier, they cost a worker round trip.
    session_ops_per_minute: int = 60

    def public(self) -> dict[str, int]:
        """The limits a customer sees (`GET /v1/me`, `GET /v1/billing`)."""
        return {"sessions": self.sessions, "messages_per_hour": self.messages_per_hour,
                "api_calls_per_hour": self.api_calls_per_hour}


LIMITS: dict[Tier, TierLimits] = {
    Tier.BASIC: TierLimits(sessions=1, messages_per_hour=100, api_calls_per_hour=1_000),
    Tier.PRO: TierLimits(sessions=5, messages_per_hour=1_000, api_calls_per_hour=10_000),
    Tier.MAX: TierLimits(sessions=20, messages_per_hour=10_000, api_calls_per_hour=100_000),
}


def limits_for(tier: Tier | str) -> TierLimits:
    return LIMITS[Tier(tier)]
