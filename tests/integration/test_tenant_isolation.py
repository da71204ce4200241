"""Another tenant's session ids answer 404 on every route, and nothing of theirs changes."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def victim(api: Any, new_account: Any) -> dict[str, Any]:
    owner = new_account()
    card = api.call("POST", "/v1/sessions", json_body={"name": "victim", "description": "theirs"},
                    token=owner.access_token).body
    return {"owner": owner, "card": card, "key": card["api_key"]}


def _snapshot(api: Any, victim: dict[str, Any]) -> tuple[Any, Any]:
    token = victim["owner"].access_token
    sid = victim["card"]["id"]
    card = api.call("GET", f"/v1/sessions/{sid}", token=token)
    keys = api.call("GET", f"/v1/sessions/{sid}/api-keys", token=token)
    assert card.status == 200 and keys.status == 200
    return card.body, keys.body


ROUTES = [
    ("GET", "/v1/sessions/{sid}", None),
    ("PATCH", "/v1/sessions/{sid}", {"name": "pwned"}),
    ("DELETE", "/v1/sessions/{sid}", None),
    ("POST", "/v1/sessions/{sid}/connect", None),
    ("GET", "/v1/sessions/{sid}/api-keys", None),
    ("POST", "/v1/sessions/{sid}/api-keys", {"name": "mine now"}),
    ("DELETE", "/v1/sessions/{sid}/api-keys/{key_id}", None),
]


@pytest.mark.parametrize(("method", "template", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_other_tenants_session_is_404(api: Any, new_account: Any, victim: dict[str, Any], connect_queue: Any,
                                      check_error: Any, method: str, template: str, body: Any) -> None:
    intruder = new_account()
    before = _snapshot(api, victim)
    path = template.format(sid=victim["card"]["id"], key_id=victim["key"]["id"])
    reply = api.call(method, path, json_body=body, token=intruder.access_token)
    check_error(reply, 404, "session_not_found")
    assert "victim" not in str(reply.body) and "theirs" not in str(reply.body)
    # Unchanged for its owner: card, keys, the key still works, and no connect was queued.
    assert _snapshot(api, victim) == before
    assert api.call("GET", "/v1/session", api_key=victim["key"]["key"]).status == 200
    assert connect_queue.take(victim["card"]["id"]) == []


def test_other_tenants_session_missing_from_list(api: Any, new_account: Any, victim: dict[str, Any]) -> None:
    intruder = new_account()
    own = api.call("POST", "/v1/sessions", json_body={"name": "own"}, token=intruder.access_token).body
    listed = api.call("GET", "/v1/sessions", token=intruder.access_token).body["sessions"]
    assert [s["id"] for s in listed] == [own["id"]]


def test_key_of_another_tenant_cannot_be_revoked_through_own_session(api: Any, new_account: Any,
                                                                    victim: dict[str, Any], check_error: Any) -> None:
    intruder = new_account()
    own = api.call("POST", "/v1/sessions", json_body={"name": "own"}, token=intruder.access_token).body
    reply = api.call("DELETE", f"/v1/sessions/{own['id']}/api-keys/{victim['key']['id']}",
                     token=intruder.access_token)
    check_error(reply, 404, "api_key_not_found")
    assert api.call("GET", "/v1/session", api_key=victim["key"]["key"]).status == 200


def test_api_key_sees_only_its_own_session(api: Any, new_account: Any, victim: dict[str, Any]) -> None:
    other = new_account()
    other_card = api.call("POST", "/v1/sessions", json_body={"name": "other"}, token=other.access_token).body
    assert api.call("GET", "/v1/session", api_key=victim["key"]["key"]).body["id"] == victim["card"]["id"]
    assert api.call("GET", "/v1/session", api_key=other_card["api_key"]["key"]).body["id"] == other_card["id"]
