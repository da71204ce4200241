"""`OfferedCalls`: a call is rejected by id while it rings (at most `CALL_MEMORY_SECONDS`, at most
`CALLS_REMEMBERED` of them); a call this session rejected ends once."""

from __future__ import annotations

import pytest

from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.profile import CALL_MEMORY_SECONDS, CALLS_REMEMBERED, OfferedCalls


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _not_ringing(calls: OfferedCalls, call_id: str) -> None:
    with pytest.raises(EngineRefusedError) as refused:
        calls.caller(call_id)
    assert refused.value.code == "call_not_found"


def test_a_call_rings_until_it_expires_or_ends() -> None:
    clock = Clock()
    calls = OfferedCalls(clock)
    calls.offered("A", "1@s.whatsapp.net:3")
    assert calls.caller("A") == "1@s.whatsapp.net:3"
    clock.now += CALL_MEMORY_SECONDS + 1
    _not_ringing(calls, "A")
    calls.offered("B", "2@s.whatsapp.net")
    assert calls.ended("B") is True, "ended by WhatsApp: news"
    _not_ringing(calls, "B")
    assert calls.ended("never-seen") is True, "a call this worker never saw ring is still news"


def test_a_rejected_call_cannot_be_rejected_again_and_its_terminate_is_no_news() -> None:
    calls = OfferedCalls(Clock())
    calls.offered("A", "1@s.whatsapp.net")
    calls.rejected("A")
    _not_ringing(calls, "A")
    assert calls.ended("A") is False
    assert calls.ended("A") is True, "forgotten after its terminate"


def test_only_the_latest_calls_are_remembered() -> None:
    calls = OfferedCalls(Clock())
    for n in range(CALLS_REMEMBERED + 1):
        calls.offered(f"C{n}", f"{n}@s.whatsapp.net")
    _not_ringing(calls, "C0")
    assert calls.caller(f"C{CALLS_REMEMBERED}") == f"{CALLS_REMEMBERED}@s.whatsapp.net"
