"""The worker's session-minute ticker, against a recording counter."""

from __future__ import annotations

import threading

from whatsam.metering.counters import Metric
from worker_fleet.session_minutes import SessionMinuteTicker


class RecordingCounters:
    def __init__(self, fail_for: str | None = None, stop_after: int | None = None,
                 stop: threading.Event | None = None):
        self.added: list[tuple[str, Metric, int, str | None]] = []
        self._fail_for = fail_for
        self._stop_after = stop_after
        self._stop = stop

    def add(self, user_id: str, metric: Metric, n: int = 1, *, session_id: str | None = None) -> None:
        if session_id == self._fail_for:
            raise ConnectionError("redis went away")
        self.added.append((user_id, metric, n, session_id))
        if self._stop is not None and self._stop_after is not None and len(self.added) >= self._stop_after:
            self._stop.set()


def test_each_tick_counts_one_minute_per_connected_session() -> None:
    connected = [("usr_a", "ses_1"), ("usr_a", "ses_2"), ("usr_b", "ses_3")]
    counters = RecordingCounters()
    ticker = SessionMinuteTicker(lambda: connected, counters)  # type: ignore[arg-type]
    assert ticker.tick() == 3
    connected.pop()
    assert ticker.tick() == 2
    minute = Metric.SESSION_MINUTES
    assert counters.added == [("usr_a", minute, 1, "ses_1"), ("usr_a", minute, 1, "ses_2"),
                              ("usr_b", minute, 1, "ses_3"), ("usr_a", minute, 1, "ses_1"),
                              ("usr_a", minute, 1, "ses_2")]


def test_a_failed_count_does_not_stop_the_others() -> None:
    counters = RecordingCounters(fail_for="ses_1")
    ticker = SessionMinuteTicker(lambda: [("u", "ses_1"), ("u", "ses_2")], counters)  # type: ignore[arg-type]
    assert ticker.tick() == 1
    assert [a[3] for a in counters.added] == ["ses_2"]


def test_nothing_connected_counts_nothing() -> None:
    counters = RecordingCounters()
    assert SessionMinuteTicker(list, counters).tick() == 0  # type: ignore[arg-type]
    assert counters.added == []


def test_run_ticks_until_stopped() -> None:
    stop = threading.Event()
    counters = RecordingCounters(stop_after=3, stop=stop)
    ticker = SessionMinuteTicker(lambda: [("u", "s")], counters, every_seconds=0.01)  # type: ignore[arg-type]
    runner = threading.Thread(target=ticker.run, args=(stop,))
    runner.start()
    runner.join(10)
    assert not runner.is_alive(), "run returns once stop is set"
    assert len(counters.added) == 3, "no tick after stop"
