"""A connect asked for right after a logout or disconnect is not undone by the old holder's
report of that ending, which may reach ingestion after the connect (seen in CI: the card went
back to `logged_out` and the connect was dropped)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.leases import TEST_WORKER, granted_lease
from whatsam.contracts.events import SessionStatusEvent, make_seq
from whatsam.domain.ids import new_id
from whatsam.domain.model import SessionStatus, User
from whatsam.domain.tiers import Tier
from whatsam.security.passwords import hash_password

pytestmark = pytest.mark.integration


def _status(user: User, session_id: str, fence: int, counter: int, status: str, **extra: Any) -> SessionStatusEvent:
    return SessionStatusEvent(session_id=session_id, tenant_id=user.user_id, worker_id=TEST_WORKER,
                              seq=make_seq(fence, counter), status=status, **extra)


@pytest.mark.parametrize("ending", ["logout", "disconnect"])
def test_the_old_holders_ending_does_not_undo_a_newer_connect(services: Any, ending: str) -> None:
    user = User(user_id=new_id("usr"), email=f"{uuid.uuid4().hex[:10]}@example.com", name="x",
                password_hash=hash_password("correct horse battery"), tier=Tier.MAX)
    services.users.add(user)
    card, _, _ = services.sessions.create(user, name="line", description="")
    sid = card.session_id
    granted_lease(sid, user.user_id)  # fence 1, released: the holder let go
    services.ingestion.apply(_status(user, sid, 1, 1, "connected", phone="15550001111"))

    getattr(services.lifecycle, ending)(user, sid)
    asked = services.sessions.connect(user, sid)
    assert (asked.status, asked.worker_id) == (SessionStatus.CONNECTING, None)

    # The holder's own report of the ending arrives now.
    services.ingestion.apply(_status(user, sid, 1, 2, "logged_out" if ending == "logout" else "disconnected"))
    after = services.sessions.get(user, sid)
    assert after.status is SessionStatus.CONNECTING, "the connect is newer than the report"
    assert after.phone == (None if ending == "logout" else "15550001111")

    # The worker that claims the connect holds a newer fence; its reports apply as ever.
    granted_lease(sid, user.user_id)
    services.ingestion.apply(_status(user, sid, 2, 1, "connecting"))
    services.ingestion.apply(_status(user, sid, 2, 2, "disconnected", reason="stream_replaced"))
    assert services.sessions.get(user, sid).status is SessionStatus.DISCONNECTED
