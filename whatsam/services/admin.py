"""Operators' view and levers: platform stats, users (tier, active), sessions by worker."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from whatsam.adapters.directory import Directory
from whatsam.adapters.repositories import SessionRepository, UserRepository
from whatsam.adapters.workers import WorkerRepository
from whatsam.domain.ids import new_id
from whatsam.domain.model import Role, SessionCard, User, iso_z, utcnow
from whatsam.domain.tiers import Tier
from whatsam.errors import Conflict, NotFound
from whatsam.metering.counters import PLATFORM_USER, UsageCounters
from whatsam.metering.periods import first_hour_of_day
from whatsam.metering.records import UsageRecords
from whatsam.metering.totals import UsageTotals
from whatsam.security import passwords
from whatsam.services.teardown import SessionTeardown


class AdminService:
    def __init__(self, users: UserRepository, directory: Directory, workers: WorkerRepository,
                 counters: UsageCounters, records: UsageRecords, sessions: SessionRepository,
                 teardown: SessionTeardown, clock: Callable[[], datetime] = utcnow):
        self._users = users
        self._directory = directory
        self._workers = workers
        self._counters = counters
        self._records = records
        self._sessions = sessions
        self._teardown = teardown
        self._clock = clock

    def stats(self) -> dict[str, Any]:
        now = self._clock().astimezone(UTC)
        workers: Counter[str] = Counter(w.status for w in self._workers.list())
        today = self.messages_on(now.date())
        return {
            "as_of": iso_z(now),
            "users": self._directory.user_counts(),
            "sessions": self._directory.session_counts(),
            "workers": {"total": sum(workers.values()), "by_status": dict(sorted(workers.items()))},
            "messages_today": {"date": now.date().isoformat(), "sent": today.messages_sent,
                               "received": today.messages_received,
                               "total": today.messages_sent + today.messages_received},
        }

    def messages_on(self, day: date) -> UsageTotals:
        """The platform's counts of a UTC day: its folded platform records, plus what Redis
        still holds: unclaimed buckets, and the platform bucket (claimed counts whose
        platform share is not folded yet), including its pending claims."""
        live = UsageTotals()
        first = first_hour_of_day(day)
        for hour in self._counters.open_hours(first, first + 24):
            for bucket in self._counters.buckets(hour):
                live = live + UsageTotals.of(bucket.counts)
            for claim in self._counters.pending_claims(hour):
                if claim.user_id == PLATFORM_USER:
                    live = live + UsageTotals.of(claim.counts)
        return self._records.platform_day(day) + live

    def users(self, *, limit: int, cursor: str | None) -> tuple[list[User], str | None]:
        return self._directory.users_page(limit=limit, cursor=cursor)

    def update_user(self, actor: User, user_id: str, *, tier: Tier | None, active: bool | None) -> User:
        user = self._users.get(user_id)
        if user is None:
            raise NotFound("No such user.", code="user_not_found")
        if active is False and user.user_id == actor.user_id:
            raise Conflict("Administrators cannot deactivate themselves.", code="cannot_deactivate_self")
        self._users.update_plan(user_id, tier=tier, active=active)
        updated = self._users.get(user_id)
        if updated is None:
            raise NotFound("No such user.", code="user_not_found")
        if active is not None:
            # After the flag, so no new connect can start meanwhile; again on a repeated
            # request, which finishes what an error cut short.
            for card in self._sessions.list_for_tenant(user_id):
                if active:
                    self._teardown.reactivate(card)
                else:
                    self._teardown.deactivate(card)
        return updated

    def sessions(self, *, worker_id: str | None, limit: int,
                 cursor: str | None) -> tuple[list[SessionCard], str | None]:
        if worker_id is not None and self._workers.get(worker_id) is None:
            raise NotFound("No such worker.", code="worker_not_found")
        return self._directory.sessions_page(worker_id=worker_id, limit=limit, cursor=cursor)


def create_admin_user(users: UserRepository, *, email: str, password: str, name: str = "",
                      tier: Tier = Tier.BASIC) -> User:
    """A new user with role `admin` (`whatsam admin create-user`); Conflict `email_taken` if the
    email already has an account, which is left as it is."""
    user = User(user_id=new_id("usr"), email=email, name=name, password_hash=passwords.hash_password(password),
                role=Role.ADMIN, tier=tier)
    users.add(user)
    return user
