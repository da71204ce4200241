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


def _describe(what: str | Callable[[], object]) -> str:
    return str(what()) if callable(what) else what


def wait_until(predicate: Callable[[], T], timeout: float = DEFAULT_TIMEOUT, *, every: float = 0.05,
               what: str | Callable[[], object] = "the condition") -> T:
    """Calls `predicate` until it returns something truthy, and returns that. Fails the test after
    `timeout` seconds, saying `what` (a string, or a function giving the last state seen)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not met within {timeout:.0f} s: {_describe(what)}")
        time.sleep(every)


async def wait_until_async(predicate: Callable[[], T | Awaitable[T]], timeout: float = DEFAULT_TIMEOUT, *,
                           every: float = 0.01, what: str | Callable[[], object] = "the condition") -> T:
    """wait_until for a test's event loop: the loop keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            pytest.fail(f"not met within {timeout:.0f} s: {_describe(what)}")
        await asyncio.sleep(every)
