"""Helpers of the webhook suites: an account with a session card, endpoints over the API,
and waiting on the delivery log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support.leases import TEST_WORKER, granted_lease
from tests.support.waiting import wait_for_value
from whatsam.contracts.events import SessionStatusEvent, make_seq


@dataclass
class Owner:
    user_id: str
    token: str
    session_id: str
    seq: int = 0

    def status(self, status: str, **extra: Any) -> SessionStatusEvent:
        """The card's next status event, as a worker would emit it."""
        self.seq += 1
        return SessionStatusEvent(session_id=self.session_id, tenant_id=self.user_id, seq=make_seq(1, self.seq),
                                  status=status, worker_id=TEST_WORKER, **extra)


def new_owner(api: Any) -> Owner:
    account = api.register()
    card = api.call("POST", "/v1/sessions", json_body={"name": "hooks"}, token=account["access_token"])
    assert card.status == 201, card.body
    granted_lease(card.body["id"], account["user"]["id"])
    return Owner(account["user"]["id"], account["access_token"], card.body["id"])


def create_endpoint(api: Any, owner: Owner, url: str, events: list[str] | None = None, *,
                    session: bool = False, **extra: Any) -> dict[str, Any]:
    body = {"url": url, "events": events or ["*"], **extra}
    if session:
        body["session_id"] = owner.session_id
    reply = api.call("POST", "/v1/webhooks", json_body=body, token=owner.token)
    assert reply.status == 201, reply.body
    return dict(reply.body)


def deliveries(api: Any, owner: Owner, endpoint_id: str, query: str = "?limit=100") -> list[dict[str, Any]]:
    reply = api.call("GET", f"/v1/webhooks/{endpoint_id}/deliveries{query}", token=owner.token)
    assert reply.status == 200, reply.body
    return list(reply.body["deliveries"])


def wait_deliveries(api: Any, owner: Owner, endpoint_id: str,
                    predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 40) -> list[dict[str, Any]]:
    return wait_for_value(lambda: deliveries(api, owner, endpoint_id), predicate, timeout, every=0.2,
                          what="the deliveries")


def all_done(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    """`count` deliveries, none still pending."""
    return lambda seen: len(seen) == count and all(d["status"] != "pending" for d in seen)
