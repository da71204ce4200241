from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from tests.support.leases import granted_lease
from whatsam.adapters.repositories import SessionRepository
from whatsam.domain.model import SessionStatus


@dataclass
class Line:
    """A session card with its API key, marked connected (no worker is needed to accept), its
    lease granted to the pretend worker `TEST_WORKER` at fence 1, whose events tests inject."""

    session_id: str
    key: str
    token: str


@pytest.fixture
def connected_line(api: Any) -> Line:
    account = api.register()
    token = account["access_token"]
    card = api.call("POST", "/v1/sessions", json_body={"name": "line"}, token=token).body
    repository = SessionRepository()
    before = repository.get(card["id"])
    assert before is not None
    assert repository.save_status(before, replace(before, status=SessionStatus.CONNECTED,
                                                  status_version=before.status_version + 1))
    granted_lease(before.session_id, before.tenant_id)
    return Line(card["id"], card["api_key"]["key"], token)
