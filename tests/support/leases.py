"""A session lease granted to a pretend worker, so a test can inject that worker's events."""

from __future__ import annotations

import uuid
from typing import Any

from whatsam.adapters.leases import Lease, LeaseRepository
from whatsam.domain.ids import new_id
from whatsam.domain.model import User
from whatsam.domain.tiers import Tier
from whatsam.security.passwords import hash_password

TEST_WORKER = "w-test"


def granted_lease(session_id: str, tenant_id: str, worker_id: str = TEST_WORKER) -> Lease:
    """Granted (fence 1 on a new session) and released at once: ingestion admits that worker's
    events at that fence, and no command is routed to a worker that does not exist."""
    leases = LeaseRepository()
    lease = leases.acquire(session_id, tenant_id, worker_id)
    assert lease is not None, f"{session_id} is leased to another worker"
    assert leases.release(lease)
    return lease


def leased_session(services: Any, name: str) -> tuple[str, str]:
    """(tenant id, session id) of a new MAX user's new session, leased as `granted_lease` does."""
    user = User(user_id=new_id("usr"), email=f"{uuid.uuid4().hex[:10]}@example.com", name=name,
                password_hash=hash_password("correct horse battery"), tier=Tier.MAX)
    services.users.add(user)
    card, _, _ = services.sessions.create(user, name=name, description="")
    granted_lease(card.session_id, user.user_id)
    return user.user_id, card.session_id
