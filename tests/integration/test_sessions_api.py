"""Session cards over HTTP: create within the tier, list/get/rename/delete, connect."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from tests.support.waiting import wait_until
from whatsam.adapters.auth_state import auth_state_prefix
from whatsam.adapters.aws import client
from whatsam.adapters.dynamo_models import UserModel
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.commands import ConnectSession
from whatsam.domain.ids import is_id
from whatsam.domain.model import SessionCard, SessionStatus, utcnow
from whatsam.domain.tiers import Tier
from whatsam.errors import Conflict, NotFound
from whatsam.security.api_keys import is_well_formed

pytestmark = pytest.mark.integration


def _create(api: Any, token: str, name: str = "Sales", description: str | None = None) -> Any:
    body: dict[str, str] = {"name": name}
    if description is not None:
        body["description"] = description
    return api.call("POST", "/v1/sessions", json_body=body, token=token)


def _stored(repo: SessionRepository, sid: str) -> SessionCard:
    card = repo.get(sid)
    assert card is not None
    return card


def _session_count(user_id: str) -> int:
    return int(UserModel.get(user_id, consistent_read=True).session_count)


def test_create_returns_disconnected_card_and_its_key_once(api: Any, new_account: Any) -> None:
    owner = new_account()
    reply = _create(api, owner.access_token, "  Sales line ", "main number")
    assert reply.status == 201, reply.body
    card = reply.body
    assert is_id(card["id"], "ses")
    assert card["name"] == "Sales line"
    assert card["description"] == "main number"
    assert card["status"] == "disconnected"
    assert card["status_version"] == 0
    assert card["phone"] is None and card["worker_id"] is None
    key = card["api_key"]
    assert key["key"].startswith("wsk_") and is_well_formed(key["key"])
    assert key["prefix"] == key["key"][:10]
    assert key["session_id"] == card["id"]
    assert key["active"] is True
    assert _session_count(owner.user_id) == 1

    listed = api.call("GET", "/v1/sessions", token=owner.access_token)
    assert listed.status == 200
    assert [s["id"] for s in listed.body["sessions"]] == [card["id"]]
    keys = api.call("GET", f"/v1/sessions/{card['id']}/api-keys", token=owner.access_token)
    assert keys.status == 200
    assert [(k["id"], k["prefix"]) for k in keys.body["api_keys"]] == [(key["id"], key["prefix"])]
    # Shown once: never again, in any listing.
    for later in (listed, keys, api.call("GET", f"/v1/sessions/{card['id']}", token=owner.access_token)):
        assert key["key"] not in json.dumps(later.body)
        assert key["key"][10:] not in json.dumps(later.body)
        assert all("key" not in k for k in later.body.get("api_keys", []))
    # The key it returned is live.
    mine = api.call("GET", "/v1/session", api_key=key["key"])
    assert mine.status == 200 and mine.body["id"] == card["id"]


def test_basic_second_create_hits_the_limit(api: Any, new_account: Any, check_error: Any) -> None:
    owner = new_account()
    first = _create(api, owner.access_token, "one")
    assert first.status == 201
    error = check_error(_create(api, owner.access_token, "two"), 409, "session_limit_reached")
    assert error["details"] == {"tier": "BASIC", "limit": 1}
    # Nothing half-written: one card, count still 1, no orphan key.
    listed = api.call("GET", "/v1/sessions", token=owner.access_token).body["sessions"]
    assert [s["name"] for s in listed] == ["one"]
    assert _session_count(owner.user_id) == 1


def test_concurrent_creates_never_exceed_the_limit(api: Any, new_account: Any, services: Any) -> None:
    owner = new_account()
    services.users.update_plan(owner.user_id, tier=Tier.PRO)
    user = services.users.get(owner.user_id)
    assert user.tier is Tier.PRO
    threads_n = 8
    barrier = threading.Barrier(threads_n)
    created: list[str] = []
    refused: list[Conflict] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait()
        try:
            card, _, _ = services.sessions.create(user, name=f"s{i}", description="")
        except Conflict as exc:
            with lock:
                refused.append(exc)
        except BaseException as exc:
            with lock:
                unexpected.append(exc)
        else:
            with lock:
                created.append(card.session_id)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert not unexpected, unexpected
    assert len(created) == 5, (created, refused)
    assert len(refused) == threads_n - 5
    assert {e.code for e in refused} == {"session_limit_reached"}
    # The limit is the count on the user item (consistent reads), not a list: each card exists.
    assert _session_count(owner.user_id) == 5
    assert all(SessionRepository().get(session_id) is not None for session_id in created)
    # The list reads a GSI, only eventually consistent on DynamoDB: it catches up.
    wait_until(lambda: sorted(s["id"] for s in api.call("GET", "/v1/sessions", token=owner.access_token)
                              .body["sessions"]) == sorted(created), what="the list shows the five cards")
    me = api.call("GET", "/v1/me", token=owner.access_token).body
    assert me["tier"] == "PRO" and me["limits"]["sessions"] == 5


def test_list_get_rename_delete(api: Any, new_account: Any, check_error: Any) -> None:
    owner = new_account()
    card = _create(api, owner.access_token, "first", "desc").body
    sid = card["id"]

    got = api.call("GET", f"/v1/sessions/{sid}", token=owner.access_token)
    assert got.status == 200
    assert {k: got.body[k] for k in ("id", "name", "description", "status")} == \
        {"id": sid, "name": "first", "description": "desc", "status": "disconnected"}
    assert "api_key" not in got.body

    renamed = api.call("PATCH", f"/v1/sessions/{sid}", json_body={"name": " second "}, token=owner.access_token)
    assert renamed.status == 200, renamed.body
    assert (renamed.body["name"], renamed.body["description"]) == ("second", "desc")
    described = api.call("PATCH", f"/v1/sessions/{sid}", json_body={"description": "new"}, token=owner.access_token)
    assert (described.body["name"], described.body["description"]) == ("second", "new")
    assert described.body["status_version"] == 0  # a rename is not a status change
    got = api.call("GET", f"/v1/sessions/{sid}", token=owner.access_token).body
    assert (got["name"], got["description"]) == ("second", "new")
    assert got["updated_at"] >= card["updated_at"]

    deleted = api.call("DELETE", f"/v1/sessions/{sid}", token=owner.access_token)
    assert deleted.status == 204, deleted.body
    check_error(api.call("GET", f"/v1/sessions/{sid}", token=owner.access_token), 404, "session_not_found")
    check_error(api.call("DELETE", f"/v1/sessions/{sid}", token=owner.access_token), 404, "session_not_found")
    check_error(api.call("PATCH", f"/v1/sessions/{sid}", json_body={"name": "x"}, token=owner.access_token),
                404, "session_not_found")
    assert api.call("GET", "/v1/sessions", token=owner.access_token).body["sessions"] == []
    assert _session_count(owner.user_id) == 0
    # The slot is free again on BASIC.
    again = _create(api, owner.access_token, "again")
    assert again.status == 201, again.body
    assert _session_count(owner.user_id) == 1


def test_unknown_session_is_404(api: Any, new_account: Any, check_error: Any) -> None:
    owner = new_account()
    for sid in ("ses_00000000000000000000000000", "nope", "x" * 3000):
        check_error(api.call("GET", f"/v1/sessions/{sid}", token=owner.access_token), 404, "session_not_found")
        check_error(api.call("POST", f"/v1/sessions/{sid}/connect", token=owner.access_token), 404,
                    "session_not_found")


def test_delete_removes_only_that_sessions_auth_state(api: Any, new_account: Any, services: Any,
                                                     settings: Any) -> None:
    owner = new_account()
    services.users.update_plan(owner.user_id, tier=Tier.PRO)
    doomed = _create(api, owner.access_token, "doomed").body["id"]
    kept = _create(api, owner.access_token, "kept").body["id"]
    s3 = client("s3", settings)
    bucket = settings.bucket_name("auth-state")
    for sid in (doomed, kept):
        for name in ("creds.enc", "keys/1.enc"):
            s3.put_object(Bucket=bucket, Key=auth_state_prefix(owner.user_id, sid) + name, Body=b"ciphertext")

    assert api.call("DELETE", f"/v1/sessions/{doomed}", token=owner.access_token).status == 204

    def keys_under(sid: str) -> list[str]:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=auth_state_prefix(owner.user_id, sid))
        return sorted(o["Key"] for o in listed.get("Contents", []))

    assert keys_under(doomed) == []
    assert len(keys_under(kept)) == 2


def test_connect_enqueues_exactly_one_command(api: Any, new_account: Any, connect_queue: Any) -> None:
    owner = new_account()
    sid = _create(api, owner.access_token).body["id"]
    before = utcnow()

    reply = api.call("POST", f"/v1/sessions/{sid}/connect", token=owner.access_token)
    assert reply.status == 202, reply.body
    assert reply.body["status"] == "connecting"
    assert reply.body["status_version"] == 1
    commands = connect_queue.take(sid)
    assert len(commands) == 1
    command = commands[0]
    assert isinstance(command, ConnectSession)
    assert command.type == "session.connect"
    assert (command.session_id, command.tenant_id, command.status_version) == (sid, owner.user_id, 1)
    assert command.requested_at >= before - timedelta(seconds=1)

    again = api.call("POST", f"/v1/sessions/{sid}/connect", token=owner.access_token)
    assert again.status == 202
    assert (again.body["status"], again.body["status_version"]) == ("connecting", 1)
    assert connect_queue.take(sid) == []
    card = api.call("GET", f"/v1/sessions/{sid}", token=owner.access_token).body
    assert (card["status"], card["status_version"]) == ("connecting", 1)


def test_connect_when_connected_is_a_no_op(api: Any, new_account: Any, connect_queue: Any) -> None:
    owner = new_account()
    sid = _create(api, owner.access_token).body["id"]
    repo = SessionRepository()
    card = _stored(repo, sid)
    assert repo.save_status(card, replace(card, status=SessionStatus.CONNECTED, status_version=4,
                                          updated_at=utcnow()))
    reply = api.call("POST", f"/v1/sessions/{sid}/connect", token=owner.access_token)
    assert reply.status == 202
    assert (reply.body["status"], reply.body["status_version"]) == ("connected", 4)
    assert connect_queue.take(sid) == []


def test_stale_connecting_is_re_requested(api: Any, new_account: Any, connect_queue: Any) -> None:
    owner = new_account()
    sid = _create(api, owner.access_token).body["id"]
    repo = SessionRepository()
    card = _stored(repo, sid)
    assert repo.save_status(card, replace(card, status=SessionStatus.CONNECTING, status_version=2,
                                          updated_at=utcnow() - timedelta(minutes=5)))
    reply = api.call("POST", f"/v1/sessions/{sid}/connect", token=owner.access_token)
    assert reply.status == 202
    assert (reply.body["status"], reply.body["status_version"]) == ("connecting", 3)
    assert [c.status_version for c in connect_queue.take(sid)] == [3]


def test_connect_when_banned_is_409(api: Any, new_account: Any, connect_queue: Any, check_error: Any) -> None:
    owner = new_account()
    sid = _create(api, owner.access_token).body["id"]
    repo = SessionRepository()
    card = _stored(repo, sid)
    assert repo.save_status(card, replace(card, status=SessionStatus.BANNED, status_version=5, updated_at=utcnow()))
    check_error(api.call("POST", f"/v1/sessions/{sid}/connect", token=owner.access_token), 409, "session_banned")
    assert connect_queue.take(sid) == []
    assert _stored(repo, sid).status is SessionStatus.BANNED


def test_concurrent_connects_send_one_command(new_account: Any, services: Any, connect_queue: Any,
                                              api: Any) -> None:
    owner = new_account()
    sid = _create(api, owner.access_token).body["id"]
    user = services.users.get(owner.user_id)
    barrier = threading.Barrier(4)
    results: list[Any] = []

    def worker() -> None:
        barrier.wait()
        results.append(services.sessions.connect(user, sid))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 4
    assert {(r.status, r.status_version) for r in results} == {(SessionStatus.CONNECTING, 1)}
    assert [c.status_version for c in connect_queue.take(sid)] == [1]


def test_connect_puts_the_card_back_when_the_command_cannot_be_sent(api: Any, new_account: Any, services: Any,
                                                                   connect_queue: Any, check_error: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    owner = new_account()
    sid = _create(api, owner.access_token).body["id"]

    def queue_down(*args: Any, **kwargs: Any) -> str:
        raise ConnectionError("SQS unreachable")

    monkeypatch.setattr(services.queues, "publish", queue_down)
    reply = api.call("POST", f"/v1/sessions/{sid}/connect", token=owner.access_token)
    assert reply.status >= 500
    error = check_error(reply, reply.status)
    assert "SQS" not in error["message"]  # internals are not leaked
    # Not stuck in `connecting` with no command behind it, and the version never goes back.
    settled = api.call("GET", f"/v1/sessions/{sid}", token=owner.access_token).body
    assert (settled["status"], settled["status_version"]) == ("disconnected", 2)

    monkeypatch.undo()
    retry = api.call("POST", f"/v1/sessions/{sid}/connect", token=owner.access_token)
    assert retry.status == 202 and retry.body["status"] == "connecting"
    assert [c.status_version for c in connect_queue.take(sid)] == [retry.body["status_version"]]


def test_concurrent_deletes_of_one_session_never_fail_with_500(api: Any, new_account: Any, services: Any) -> None:
    """A double-clicked delete: each call ends in success or `session_not_found`, never an internal error."""
    owner = new_account()
    services.users.update_plan(owner.user_id, tier=Tier.PRO)
    user = services.users.get(owner.user_id)
    sids = [_create(api, owner.access_token, f"d{i}").body["id"] for i in range(3)]
    outcomes: list[str] = []
    lock = threading.Lock()

    def delete(sid: str, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            services.sessions.delete(user, sid)
            outcome = "deleted"
        except NotFound as exc:
            outcome = exc.code
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(outcome)

    for sid in sids:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=delete, args=(sid, barrier)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert set(outcomes) <= {"deleted", "session_not_found"}, outcomes
    assert outcomes.count("deleted") >= 3
    assert api.call("GET", "/v1/sessions", token=owner.access_token).body["sessions"] == []
    assert _session_count(owner.user_id) == 0
