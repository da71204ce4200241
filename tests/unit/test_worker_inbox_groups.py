"""The worker settles its inbox's message groups (sessions) side by side, each in order."""

from __future__ import annotations

import threading
from typing import Any

from worker_fleet.worker import side_by_side


def _message(group: str, body: str) -> dict[str, Any]:
    return {"Body": body, "Attributes": {"MessageGroupId": group, "ApproximateReceiveCount": "1"}}


def test_each_groups_messages_keep_their_order() -> None:
    settled: list[str] = []
    lock = threading.Lock()

    def settle(message: dict[str, Any]) -> None:
        with lock:
            settled.append(message["Body"])

    side_by_side([_message(g, f"{g}{n}") for n in range(5) for g in "abc"], settle)
    for group in "abc":
        assert [b for b in settled if b.startswith(group)] == [f"{group}{n}" for n in range(5)]
    assert len(settled) == 15


def test_a_slow_group_does_not_hold_back_another() -> None:
    """Group a's first message waits until group b's has been settled: one after the other,
    that would never happen (the wait gives up and says so)."""
    b_settled = threading.Event()
    waited: list[bool] = []

    def settle(message: dict[str, Any]) -> None:
        if message["Body"] == "a1":
            waited.append(b_settled.wait(60))
        else:
            b_settled.set()

    side_by_side([_message("a", "a1"), _message("b", "b1")], settle)
    assert waited == [True]


def test_one_group_is_settled_on_the_calling_thread() -> None:
    threads: set[int] = set()
    side_by_side([_message("a", "1"), _message("a", "2")], lambda _m: threads.add(threading.get_ident()))
    assert threads == {threading.get_ident()}
