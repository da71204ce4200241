"""Reads the events of one batch share: ingestion handles a batch of up to ten events (one
SQS receive, one POST /v1/internal/events) within milliseconds, and most of them name the
same few sessions and one tenant. Reading the session's card and lease, or the tenant's
webhook endpoints, once per batch instead of once per event cuts the round trips per event.

Only reads that cannot turn a right answer wrong are shared:
- a session's card and lease for admission: admitting on a read a few milliseconds old is
  what admitting an event that arrived a few milliseconds earlier would have done. A refusal
  is never made on a shared read (see `EventAdmission.check`): the reads are forgotten and
  made again, so a lease granted during the batch never makes its holder's events refused;
- a tenant's webhook endpoints for fan-out (the deliverer reads the endpoint again).
What decides a write (the card applied to, a message's status) is always read fresh.

Outside `shared_reads()` every read goes to the store, as before."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_batch: ContextVar[dict[Hashable, Any] | None] = ContextVar("whatsam_batch_reads", default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Within this block (one batch of events, on one thread), `read_once` reads each key once."""
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def read_once(key: Hashable, load: Callable[[], T]) -> T:
    """`load()`, or what it answered for `key` earlier in this batch."""
    memo = _batch.get()
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    value: T = memo[key]
    return value


def forget(*keys: Hashable) -> bool:
    """Drop these keys from the batch's reads; True if any was shared (so reading again may
    answer differently)."""
    memo = _batch.get()
    if memo is None:
        return False
    return any([memo.pop(key, _MISSING) is not _MISSING for key in keys])


_MISSING = object()
