"""The billing schedules as `whatsam dev` runs them: the hourly sync locally, the monthly
close (a calendar cron) only on demand, without stopping the dev stack from starting."""

from __future__ import annotations

import threading

from chalice import Chalice, Cron

from whatsam.config import Settings
from whatsam.dev.event_sources import Scheduler, local_interval, split_sources


def _app() -> Chalice:
    app = Chalice(app_name="schedules")

    @app.schedule("rate(1 hour)")
    def hourly(event: object) -> None: ...

    @app.schedule(Cron(30, 0, 1, "*", "?", "*"))
    def monthly(event: object) -> None: ...

    return app


def test_rate_schedules_run_locally_and_cron_ones_do_not() -> None:
    _, schedules = split_sources(_app())
    intervals = {s.name: local_interval(s) for s in schedules}
    assert intervals == {"hourly": 3600.0, "monthly": None}


def test_the_scheduler_starts_with_a_cron_schedule_among_its_sources() -> None:
    app = _app()
    scheduler = Scheduler(app, split_sources(app)[1], Settings(), threading.Event(), speedup=60)
    assert [(source.name, interval) for source, interval in scheduler._plan] == [("hourly", 60.0)]
