"""The usage sync counts nothing twice and loses nothing: run twice, run concurrently (threads
and two `whatsam usage sync` processes), crashed midway and rerun, and with counts still
arriving for the hours being folded. Real Redis, DynamoDB on the moto server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import pytest

from tests.integration.billing.conftest import Traffic, folded, new_user_id, utc
from whatsam.bootstrap import Container
from whatsam.metering.counters import PLATFORM_MEMBER, Claim, Metric, UsageCounters
from whatsam.metering.periods import hour_of
from whatsam.metering.records import UsageRecords
from whatsam.metering.usage_sync import SyncReport, UsageSync

pytestmark = pytest.mark.integration

SESSIONS = ["ses_a", "ses_b", None]


class SimulatedCrash(Exception):
    pass


class CrashAfterWrites(UsageRecords):
    """The real repository, with the process 'dying' right after its n-th DynamoDB write:
    the fold is stored, the Redis claim not yet released."""

    def __init__(self, writes: int):
        self.left = writes

    def fold(self, claim: Claim) -> bool:
        done = super().fold(claim)
        self.left -= 1
        if self.left == 0:
            raise SimulatedCrash("after write, before release")
        return done


class CrashBeforeWrite(UsageRecords):
    """Dies after n successful folds, on the next claim, before writing it: claimed, not folded."""

    def __init__(self, writes: int):
        self.left = writes

    def fold(self, claim: Claim) -> bool:
        if self.left == 0:
            raise SimulatedCrash("after claim, before write")
        self.left -= 1
        return super().fold(claim)


def _hours(day: datetime, count: int) -> list[datetime]:
    return [day + timedelta(hours=n, minutes=7) for n in range(count)]


def _sync(services: Container, records: UsageRecords | None = None) -> UsageSync:
    return UsageSync(services.billing.counters, records or services.billing.records,
                     grace_seconds=services.settings.usage_sync_grace_seconds)


def _assert_exact(services: Container, traffic: Traffic, users: list[str], day: datetime) -> None:
    """Every user's records equal what was written; the platform day equals the sum; Redis holds nothing."""
    records = services.billing.records
    for user_id in users:
        assert folded(records, user_id, day, day + timedelta(days=1)) == traffic.expected(user_id), user_id
    assert records.platform_day(day.date()) == traffic.platform_total(day.date())
    _assert_redis_empty(services.billing.counters, day)


def _assert_redis_empty(counters: UsageCounters, day: datetime) -> None:
    for hour in range(hour_of(day), hour_of(day) + 24):
        assert counters.members(hour) == [] and counters.pending_claims(hour) == [], hour
        assert hour not in counters.open_hours(), hour


def test_running_twice_counts_nothing_twice(services: Container, traffic: Traffic) -> None:
    day = utc(2025, 1, 10)
    users = [new_user_id() for _ in range(3)]
    traffic.random_hours(users, SESSIONS, _hours(day, 4), seed=1)

    first = _sync(services).run()
    assert first.folded >= len(users) * len(SESSIONS) * 4
    _assert_exact(services, traffic, users, day)

    second = _sync(services).run()
    assert second.already_folded == 0 and second.recovered == 0
    _assert_exact(services, traffic, users, day)


def test_concurrent_syncs_fold_every_bucket_once(services: Container, traffic: Traffic) -> None:
    day = utc(2025, 1, 11)
    users = [new_user_id() for _ in range(12)]
    traffic.random_hours(users, SESSIONS, _hours(day, 5), seed=2)   # 180 buckets
    barrier = threading.Barrier(4)
    reports: list[SyncReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(_sync(services).run())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert sum(r.folded for r in reports) >= 180
    assert sum(1 for r in reports if r.folded) >= 2, f"the runs did not overlap: {reports}"
    _assert_exact(services, traffic, users, day)


def test_claims_of_a_dead_run_are_recovered_once_their_lease_ends(services: Container, traffic: Traffic) -> None:
    """A run was killed right after claiming every bucket (no chance to give them up). Its
    leases keep others off until they run out; then two runs at once take each claim over
    exactly once (the lease is atomic), and fold each once."""
    day = utc(2025, 1, 12)
    users = [new_user_id() for _ in range(6)]
    traffic.random_hours(users, SESSIONS, _hours(day, 3), seed=3)
    counters = services.billing.counters
    now = time.time()
    hours = range(hour_of(day), hour_of(day) + 3)
    claimed = [counters.claim(hour, member, lease_until=now + 300) for hour in hours
               for member in counters.members(hour) if member != PLATFORM_MEMBER]
    assert len(claimed) == len(users) * len(SESSIONS) * 3 and all(claimed)

    _sync(services).run()   # while the dead run's leases hold, its claims stay put
    assert len([c for hour in hours for c in counters.pending_claims(hour)]) == len(claimed)
    assert all(folded(services.billing.records, u, day, day + timedelta(days=1)) == {} for u in users)

    later = UsageSync(counters, services.billing.records, grace_seconds=300, clock=lambda: time.time() + 301)
    barrier = threading.Barrier(2)
    reports: list[SyncReport] = []

    def run() -> None:
        barrier.wait()
        reports.append(later.run())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(reports) == 2
    assert sum(r.recovered for r in reports) == len(claimed), reports
    assert sum(r.already_folded for r in reports) == 0, reports
    _assert_exact(services, traffic, users, day)


def test_crash_after_writing_before_forgetting_then_rerun(services: Container, traffic: Traffic) -> None:
    _sync(services).run()   # nothing else pending: the crash point counts only this test's buckets
    day = utc(2025, 1, 13)
    users = [new_user_id() for _ in range(4)]
    traffic.random_hours(users, SESSIONS, _hours(day, 3), seed=4)   # 36 buckets

    with pytest.raises(SimulatedCrash):
        _sync(services, CrashAfterWrites(writes=10)).run()
    counters = services.billing.counters
    pending = [c for hour in range(hour_of(day), hour_of(day) + 3) for c in counters.pending_claims(hour)]
    assert len(pending) == 1, "the crash left the last folded claim unreleased"
    # Half done: ten buckets are in DynamoDB, the rest still in Redis.
    records = services.billing.records
    stored = sum(len(folded(records, u, day, day + timedelta(days=1))) for u in users)
    assert stored == 10

    rerun = _sync(services).run()
    assert rerun.recovered == 1 and rerun.already_folded == 1, rerun
    _assert_exact(services, traffic, users, day)
    _sync(services).run()
    _assert_exact(services, traffic, users, day)


def test_crash_after_claiming_before_writing_then_rerun(services: Container, traffic: Traffic) -> None:
    _sync(services).run()
    day = utc(2025, 1, 14)
    users = [new_user_id() for _ in range(4)]
    traffic.random_hours(users, SESSIONS, _hours(day, 3), seed=5)

    for writes in (7, 3, 0):   # crash three times in a row, each at a different point
        with pytest.raises(SimulatedCrash):
            _sync(services, CrashBeforeWrite(writes=writes)).run()
    rerun = _sync(services).run()
    assert rerun.recovered >= 1 and rerun.already_folded == 0, rerun
    _assert_exact(services, traffic, users, day)


def test_counts_arriving_for_an_hour_being_folded_are_kept(services: Container, traffic: Traffic) -> None:
    """Late increments (at= an hour the sync is folding) land in the claim or in a fresh
    bucket, never in between; a later run folds the fresh ones."""
    day = utc(2025, 1, 15)
    users = [new_user_id() for _ in range(4)]
    traffic.random_hours(users, SESSIONS, _hours(day, 2), seed=6)
    stop = threading.Event()
    late_lock = threading.Lock()

    def write_late() -> None:
        n = 0
        while not stop.is_set():
            with late_lock:
                traffic.add(users[n % len(users)], Metric.MESSAGES_SENT, 1, session_id="ses_a",
                            at=day + timedelta(hours=n % 2, minutes=59))
            n += 1

    writer = threading.Thread(target=write_late)
    writer.start()
    try:
        for _ in range(3):
            _sync(services).run()
    finally:
        stop.set()
        writer.join(30)
    assert sum(c[Metric.MESSAGES_SENT] for c in traffic.written.values()) > 0
    _sync(services).run()
    _assert_exact(services, traffic, users, day)


def test_an_hour_is_folded_only_after_its_grace(services: Container, traffic: Traffic) -> None:
    at = utc(2025, 1, 17, 5, 30)
    user_id = new_user_id()
    traffic.add(user_id, Metric.MESSAGES_SENT, 5, session_id="ses_a", at=at)
    hour_end = utc(2025, 1, 17, 6).timestamp()
    counters, records = services.billing.counters, services.billing.records

    early = UsageSync(counters, records, grace_seconds=300, clock=lambda: hour_end + 299)
    early.run()
    assert folded(records, user_id, at, at + timedelta(hours=1)) == {}
    assert counters.members(hour_of(at)) == [f"{user_id}:ses_a"]

    UsageSync(counters, records, grace_seconds=300, clock=lambda: hour_end + 300).run()
    assert folded(records, user_id, at, at + timedelta(hours=1)) == traffic.expected(user_id)


def test_two_cli_processes_at_once(services: Container, traffic: Traffic, stack_env: dict[str, str]) -> None:
    """`whatsam usage sync` twice at the same time, as two cron jobs or an operator racing the schedule would."""
    day = utc(2025, 1, 16)
    users = [new_user_id() for _ in range(10)]
    traffic.random_hours(users, SESSIONS, _hours(day, 4), seed=7)   # 120 buckets
    env = {**os.environ, **stack_env}
    processes = [subprocess.Popen([sys.executable, "-m", "whatsam.cli", "usage", "sync"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=240) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    for _, stderr in outputs:
        assert f"prefix {stack_env['WHATSAM_PREFIX']}" in stderr, stderr
    _assert_exact(services, traffic, users, day)
