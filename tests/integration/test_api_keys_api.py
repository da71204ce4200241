"""Session API keys over HTTP: create (secret once), list, last use, revoke, and what stops a key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from whatsam.security.api_keys import generate_api_key, is_well_formed

pytestmark = pytest.mark.integration


@pytest.fixture
def owned(api: Any, new_account: Any) -> dict[str, Any]:
    owner = new_account()
    card = api.call("POST", "/v1/sessions", json_body={"name": "keys"}, token=owner.access_token).body
    return {"owner": owner, "token": owner.access_token, "sid": card["id"], "first": card["api_key"]}


def _keys(api: Any, owned: dict[str, Any]) -> dict[str, dict[str, Any]]:
    reply = api.call("GET", f"/v1/sessions/{owned['sid']}/api-keys", token=owned["token"])
    assert reply.status == 200, reply.body
    return {k["id"]: k for k in reply.body["api_keys"]}


def _create_key(api: Any, owned: dict[str, Any], name: str = "ci") -> dict[str, Any]:
    reply = api.call("POST", f"/v1/sessions/{owned['sid']}/api-keys", json_body={"name": name},
                     token=owned["token"])
    assert reply.status == 201, reply.body
    return dict(reply.body)


def test_create_shows_the_secret_once(api: Any, owned: dict[str, Any]) -> None:
    created = _create_key(api, owned, " deploy bot ")
    assert is_well_formed(created["key"])
    assert created["key"] != owned["first"]["key"]
    assert created["name"] == "deploy bot"
    assert created["prefix"] == created["key"][:10]
    assert created["session_id"] == owned["sid"]
    assert (created["active"], created["revoked_at"], created["last_used_at"]) == (True, None, None)
    listed = _keys(api, owned)
    assert set(listed) == {owned["first"]["id"], created["id"]}
    assert listed[created["id"]]["prefix"] == created["prefix"]
    assert "key" not in listed[created["id"]]
    assert created["key"] not in json.dumps(listed)
    # A body-less create is fine too (the name is optional).
    bare = api.call("POST", f"/v1/sessions/{owned['sid']}/api-keys", token=owned["token"])
    assert bare.status == 201 and bare.body["name"] == "" and is_well_formed(bare.body["key"])


def test_use_sets_last_used_at_for_both_header_styles(api: Any, owned: dict[str, Any]) -> None:
    header_key = _create_key(api, owned, "header")
    bearer_key = _create_key(api, owned, "bearer")

    by_header = api.call("GET", "/v1/session", api_key=header_key["key"])
    assert by_header.status == 200 and by_header.body["id"] == owned["sid"]
    listed = _keys(api, owned)
    assert listed[header_key["id"]]["last_used_at"] is not None
    assert listed[bearer_key["id"]]["last_used_at"] is None
    assert listed[owned["first"]["id"]]["last_used_at"] is None

    by_bearer = api.call("GET", "/v1/session", token=bearer_key["key"])
    assert by_bearer.status == 200 and by_bearer.body["id"] == owned["sid"]
    assert _keys(api, owned)[bearer_key["id"]]["last_used_at"] is not None


def test_revoke_stops_the_key_and_only_that_key(api: Any, owned: dict[str, Any], check_error: Any) -> None:
    doomed = _create_key(api, owned, "doomed")
    assert api.call("GET", "/v1/session", api_key=doomed["key"]).status == 200

    reply = api.call("DELETE", f"/v1/sessions/{owned['sid']}/api-keys/{doomed['id']}", token=owned["token"])
    assert reply.status == 204, reply.body
    check_error(api.call("GET", "/v1/session", api_key=doomed["key"]), 401, "invalid_api_key")
    check_error(api.call("GET", "/v1/session", token=doomed["key"]), 401, "invalid_api_key")
    listed = _keys(api, owned)
    assert listed[doomed["id"]]["active"] is False and listed[doomed["id"]]["revoked_at"] is not None
    assert api.call("GET", "/v1/session", api_key=owned["first"]["key"]).status == 200
    # Revoking again is harmless.
    again = api.call("DELETE", f"/v1/sessions/{owned['sid']}/api-keys/{doomed['id']}", token=owned["token"])
    assert again.status == 204
    check_error(api.call("GET", "/v1/session", api_key=doomed["key"]), 401, "invalid_api_key")


def test_revoke_unknown_key_is_404(api: Any, owned: dict[str, Any], check_error: Any) -> None:
    for key_id in ("key_00000000000000000000000000", "nope"):
        check_error(api.call("DELETE", f"/v1/sessions/{owned['sid']}/api-keys/{key_id}", token=owned["token"]),
                    404, "api_key_not_found")
    assert set(_keys(api, owned)) == {owned["first"]["id"]}


def test_malformed_and_unknown_keys_are_401(api: Any, owned: dict[str, Any], check_error: Any) -> None:
    real = owned["first"]["key"]
    flipped = real[:12] + ("a" if real[12] != "a" else "b") + real[13:]
    for bad in ("wsk_123", "garbage", real[:-1], real + "x", flipped, "WSK_" + real[4:], generate_api_key()):
        check_error(api.call("GET", "/v1/session", api_key=bad), 401, "invalid_api_key")
        check_error(api.call("GET", "/v1/session", token=bad), 401, "invalid_api_key")
    # A user's JWT is not an API key.
    check_error(api.call("GET", "/v1/session", token=owned["token"]), 401, "invalid_api_key")
    check_error(api.call("GET", "/v1/session"), 401, "missing_api_key")
    # An API key is not a user token.
    check_error(api.call("GET", "/v1/sessions", token=real), 401, "invalid_token")
    assert api.call("GET", "/v1/session", api_key=real).status == 200


def test_deleted_sessions_keys_stop_working(api: Any, owned: dict[str, Any], check_error: Any) -> None:
    extra = _create_key(api, owned, "extra")
    for key in (owned["first"]["key"], extra["key"]):
        assert api.call("GET", "/v1/session", api_key=key).status == 200
    assert api.call("DELETE", f"/v1/sessions/{owned['sid']}", token=owned["token"]).status == 204
    for key in (owned["first"]["key"], extra["key"]):
        check_error(api.call("GET", "/v1/session", api_key=key), 401, "invalid_api_key")


def test_keys_of_a_deactivated_account_are_refused(api: Any, owned: dict[str, Any], services: Any,
                                                   check_error: Any) -> None:
    services.users.update_plan(owned["owner"].user_id, active=False)
    check_error(api.call("GET", "/v1/session", api_key=owned["first"]["key"]), 403, "account_inactive")


def test_last_use_write_racing_a_delete_leaves_no_ghost_key(api: Any, owned: dict[str, Any], services: Any,
                                                            settings: Any, check_error: Any) -> None:
    """The authenticator reads the key, then records its use. If the session (and its keys) is
    deleted in between, recording the use must not resurrect a partial key item."""
    from whatsam.adapters.repositories import ApiKeyRepository
    from whatsam.domain.model import utcnow
    from whatsam.security.api_keys import hash_api_key

    secret = owned["first"]["key"]
    keys = ApiKeyRepository()
    record = keys.get_by_hash(hash_api_key(settings.api_key_pepper, secret))  # authenticator: read
    assert record is not None and record.last_used_at is None
    assert api.call("DELETE", f"/v1/sessions/{owned['sid']}", token=owned["token"]).status == 204  # meanwhile
    keys.touch(record, utcnow())                                                # authenticator: record the use
    assert keys.get_by_hash(record.key_hash) is None, "a deleted key came back as a partial item"
    check_error(api.call("GET", "/v1/session", api_key=secret), 401, "invalid_api_key")
