"""Connected session-minutes: once a minute the worker counts one minute for every session it
holds connected. Only the lease holder hosts a session, so two workers never count the same
minute; a session connected for less than the minute between two ticks is not counted (the
count samples, it does not integrate)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from whatsam.metering.counters import Metric, UsageCounters

log = logging.getLogger("whatsam.worker.usage")

# (tenant id, session id) of every session held connected right now.
ConnectedSessions = Callable[[], Iterable[tuple[str, str]]]


class SessionMinuteTicker:
    def __init__(self, connected: ConnectedSessions, counters: UsageCounters, *, every_seconds: float = 60.0):
        """`every_seconds`: the length of the "minute"; only tests shorten it."""
        self._connected = connected
        self._counters = counters
        self._every = every_seconds

    def tick(self) -> int:
        """Count one minute per connected session; returns how many were counted."""
        counted = 0
        for tenant_id, session_id in self._connected():
            try:
                self._counters.add(tenant_id, Metric.SESSION_MINUTES, session_id=session_id)
            except Exception:
                log.exception("could not count a session-minute of %s", session_id)
                continue
            counted += 1
        return counted

    def run(self, stop: threading.Event) -> None:
        """Tick on a fixed cadence until `stop`: deadlines advance by whole periods, so a slow
        tick does not drift the schedule (and a late one is not made up twice)."""
        deadline = time.monotonic() + self._every
        while not stop.wait(max(0.0, deadline - time.monotonic())):
            self.tick()
            deadline += self._every
            now = time.monotonic()
            if deadline < now:
                # Far behind (a stalled process): skip the missed minutes rather than burst them.
                deadline = now + self._every
