"""A session lease granted to a pretend worker, so a test can inject that worker's events."""

from __future__ import annotations

from whatsam.adapters.leases import Lease, LeaseRepository

TEST_WORKER = "w-test"


def granted_lease(session_id: str, tenant_id: str, worker_id: str = TEST_WORKER) -> Lease:
    """Granted (fence 1 on a new session) and released at once: ingestion admits that worker's
    events at that fence, and no command is routed to a worker that does not exist."""
    leases = LeaseRepository()
    lease = leases.acquire(session_id, tenant_id, worker_id)
    assert lease is not None, f"{session_id} is leased to another worker"
    assert leases.release(lease)
    return lease
