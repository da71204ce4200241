"""When to try connecting again: exponential backoff with full jitter.

Full jitter (a uniform draw between zero and the exponential ceiling) spreads the reconnects of
many sessions that dropped together, e.g. after a worker's network blip, instead of having them
all hit WhatsApp in the same second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# 2**62 already exceeds any sane cap; clamping keeps the float maths away from overflow.
_MAX_EXPONENT = 62


def backoff_ceiling(attempt: int, *, base: float, cap: float) -> float:
    """The longest wait before retry number `attempt` (0-based): min(cap, base * 2**attempt)."""
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must be >= 0")
    return min(cap, base * 2 ** min(attempt, _MAX_EXPONENT))


def full_jitter_delay(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """The wait before retry `attempt`, given a `jitter` draw in [0, 1)."""
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter must be in [0, 1)")
    return jitter * backoff_ceiling(attempt, base=base, cap=cap)


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """`max_attempts` consecutive failed attempts are allowed before giving up; None retries forever."""

    base: float = 2.0
    cap: float = 120.0
    max_attempts: int | None = 10

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0:
            raise ValueError("base and cap must be >= 0")
        if self.max_attempts is not None and self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0 or None")

    def allows(self, attempt: int) -> bool:
        """Whether retry number `attempt` (0-based) may happen."""
        return self.max_attempts is None or attempt < self.max_attempts

    def delay(self, attempt: int, rng: random.Random) -> float:
        return full_jitter_delay(attempt, base=self.base, cap=self.cap, jitter=rng.random())
