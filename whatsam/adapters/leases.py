"""Session leases with fencing numbers, as DynamoDB conditional writes.

A grant succeeds only when the lease is free, expired, or already ours; every grant bumps
`fence`. Renewals and releases are conditioned on (worker, fence), so a worker that lost
its lease learns it on the next renewal and must stop that session's client at once.

The control plane can also revoke a lease (session deleted, owner deactivated): a new fence
that no worker holds, so the holder's renewals, snapshots and releases are all refused, and
no grant until it is reinstated (a deleted session's lease never is)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Literal

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition

from whatsam.adapters.conditions import update_if
from whatsam.adapters.dynamo_models import LeaseModel

RevokeReason = Literal["deleted", "deactivated"]


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Lease:
    session_id: str
    tenant_id: str
    worker_id: str
    fence: int
    expires_at: int
    auth_key: str | None = None
    revoked: RevokeReason | None = None

    def live(self, at_ms: int | None = None) -> bool:
        return self.expires_at > (at_ms if at_ms is not None else now_ms())


def _held(lease: Lease) -> Condition:
    """The lease is still exactly this grant: same worker, same fence."""
    return (LeaseModel.worker_id == lease.worker_id) & (LeaseModel.fence == lease.fence)


def _lease(item: LeaseModel) -> Lease:
    return Lease(session_id=item.session_id, tenant_id=item.tenant_id, worker_id=item.worker_id or "",
                 fence=int(item.fence), expires_at=int(item.expires_at), auth_key=item.auth_key,
                 revoked=item.revoked)  # type: ignore[arg-type]


class LeaseRepository:
    def __init__(self, ttl_ms: int = 30_000):
        self.ttl_ms = ttl_ms

    def acquire(self, session_id: str, tenant_id: str, worker_id: str) -> Lease | None:
        """Grant the lease to `worker_id` with a new fence, or None if another worker holds it
        (or the control plane revoked it)."""
        now = now_ms()
        item = LeaseModel(session_id=session_id)
        granted = update_if(item, [LeaseModel.worker_id.set(worker_id), LeaseModel.tenant_id.set(tenant_id),
                                   LeaseModel.expires_at.set(now + self.ttl_ms), LeaseModel.fence.add(1)],
                            LeaseModel.revoked.does_not_exist()
                            & (LeaseModel.session_id.does_not_exist() | (LeaseModel.expires_at <= now)
                               | (LeaseModel.worker_id == worker_id)))
        return _lease(item) if granted else None

    def renew(self, lease: Lease) -> Lease | None:
        """Extend our lease; None means it is no longer ours (stop the client now)."""
        expires_at = now_ms() + self.ttl_ms
        renewed = update_if(LeaseModel(session_id=lease.session_id), [LeaseModel.expires_at.set(expires_at)],
                            _held(lease) & (LeaseModel.expires_at > now_ms()))
        return replace(lease, expires_at=expires_at) if renewed else None

    def release(self, lease: Lease) -> bool:
        """Give the lease up (keeping the fence, so the next grant still grows it)."""
        return update_if(LeaseModel(session_id=lease.session_id), [LeaseModel.expires_at.set(0)], _held(lease))

    def revoke(self, session_id: str, tenant_id: str, reason: RevokeReason) -> Lease:
        """Take the lease back from whoever holds it (or reserve it, if nobody ever did): a new
        fence held by no worker. Every write fenced by the old grant is refused from now on."""
        item = LeaseModel(session_id=session_id)
        item.update(actions=[LeaseModel.worker_id.remove(), LeaseModel.tenant_id.set(tenant_id),
                             LeaseModel.expires_at.set(0), LeaseModel.fence.add(1), LeaseModel.revoked.set(reason)])
        return _lease(item)

    def reinstate(self, session_id: str) -> bool:
        """Lift a revocation for a deactivated owner (reactivated): the lease can be granted again."""
        return update_if(LeaseModel(session_id=session_id), [LeaseModel.revoked.remove()],
                         LeaseModel.revoked == "deactivated")

    def force_release(self, session_id: str, worker_id: str) -> bool:
        """The reaper's release of a dead worker's lease, whatever its fence; True once."""
        return update_if(LeaseModel(session_id=session_id), [LeaseModel.expires_at.set(0)],
                         (LeaseModel.worker_id == worker_id) & (LeaseModel.expires_at > 0))

    def get(self, session_id: str) -> Lease | None:
        try:
            return _lease(LeaseModel.get(session_id, consistent_read=True))
        except DoesNotExist:
            return None

    def unreleased_by(self, worker_id: str) -> list[Lease]:
        """Leases a worker took and never released, live or expired: a dead worker's sessions.
        A scan: only the reaper calls it, for workers it declares offline."""
        return [_lease(i) for i in LeaseModel.scan((LeaseModel.worker_id == worker_id) & (LeaseModel.expires_at > 0))]

    def record_auth_state(self, lease: Lease, key: str) -> bool:
        """Point the session at a new auth-state snapshot, only while `lease` is current."""
        return update_if(LeaseModel(session_id=lease.session_id),
                         [LeaseModel.auth_key.set(key), LeaseModel.auth_fence.set(lease.fence)], _held(lease))

    def clear_auth_state(self, session_id: str) -> None:
        update_if(LeaseModel(session_id=session_id), [LeaseModel.auth_key.remove(), LeaseModel.auth_fence.remove()],
                  LeaseModel.session_id.exists())

    def delete(self, session_id: str) -> None:
        LeaseModel(session_id=session_id).delete()
