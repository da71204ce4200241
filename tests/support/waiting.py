"""Waiting for a condition instead of sleeping: a test on a busy machine waits longer, never
fails because a fixed pause was too short, and on an idle machine does not wait at all."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0


def wait_for_value(read: Callable[[], T], done: Callable[[T], object], timeout: float = DEFAULT_TIMEOUT, *,
                   every: float = 0.05, what: str = "the expected state") -> T:
    """Calls `read` until `done(value)` holds, and returns that value. Fails the test after
    `timeout` seconds, naming `what` and the last value read."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached within {timeout:.0f} s; last seen {value!r}")
        time.sleep(every)


def wait_until(predicate: Callable[[], T], timeout: float = DEFAULT_TIMEOUT, *, every: float = 0.05,
               what: str = "the condition") -> T:
    """Calls `predicate` until it returns something truthy, and returns that."""
    return wait_for_value(predicate, bool, timeout, every=every, what=what)


async def wait_until_async(predicate: Callable[[], T | Awaitable[T]], timeout: float = DEFAULT_TIMEOUT, *,
                           every: float = 0.01, what: str = "the condition") -> T:
    """wait_until for a test's event loop: the loop keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached within {timeout:.0f} s")
        await asyncio.sleep(every)
