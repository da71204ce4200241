"""Groups and communities through `whatsam dev` over HTTP (simulated WhatsApp, one worker): create
a group with two members, rename it, promote one, get and revoke the invite link, a simulated
outsider joins, a member leaves, a text mentions a member; every step's event reaches a webhook
receiver and verifies with `standardwebhooks`. Bad input and other tenants get 4xx codes."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FAST_FLEET, DevProcess, module_stack
from tests.e2e.test_fleet import _account, _card, _cli, _connect_and_scan
from tests.e2e.test_readme_walkthrough import run_as_written, walkthrough
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

stack = module_stack("groups", "--workers", "1", "--schedule-speedup", "30", env_overrides=FAST_FLEET)

ANN, BOB = "+14155552671", "+447911123456"
ANN_JID, BOB_JID = "14155552671@s.whatsapp.net", "447911123456@s.whatsapp.net"
OUTSIDER = "+16502530001"
NOT_ON_WHATSAPP = "+447911123450"  # the simulated WhatsApp: numbers ending in 0 are not on it


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _line(stack: DevProcess) -> dict[str, str]:
    token = _account(stack)
    session_id = _card(stack, token)
    _connect_and_scan(stack, token, session_id)
    status, key, _ = stack.request("POST", f"/v1/sessions/{session_id}/api-keys", {"name": "groups"}, token=token)
    assert status == 201, key
    return {"token": token, "session_id": session_id, "key": key["key"]}


@pytest.fixture(scope="module")
def line(stack: DevProcess, receiver: Receiver) -> dict[str, str]:
    account = _line(stack)
    hook = {"url": receiver.url, "events": ["group.*", "message.sent"], "session_id": account["session_id"]}
    status, endpoint, _ = stack.request("POST", "/v1/webhooks", hook, token=account["token"])
    assert status == 201, endpoint
    return {**account, "secret": endpoint["secret"]}


def _call(stack: DevProcess, line: dict[str, str], method: str, path: str, body: Any = None,
          expect: int = 200) -> Any:
    status, reply, _ = stack.request(method, path, body, api_key=line["key"])
    assert status == expect, (method, path, status, reply)
    return reply


def _hooks(receiver: Receiver, secret: str, predicate: Any, timeout: float = 30) -> list[dict[str, Any]]:
    """Every verified webhook payload so far, once `predicate` holds for them."""
    def verified(requests: list[Any]) -> list[dict[str, Any]]:
        return [request.verify(secret) for request in requests]

    seen = receiver.wait_for(lambda got: predicate(verified(got)), timeout=timeout)
    return verified(seen)


def _hook(payloads: list[dict[str, Any]], kind: str, **match: Any) -> dict[str, Any]:
    for payload in payloads:
        data = payload["data"]
        if payload["type"] == kind and all(data.get(k) == v for k, v in match.items()):
            return dict(data)
    raise AssertionError(f"no {kind} {match} in {[p['type'] for p in payloads]}")


def _has(kind: str, **match: Any) -> Any:
    def predicate(payloads: list[dict[str, Any]]) -> bool:
        try:
            _hook(payloads, kind, **match)
        except AssertionError:
            return False
        return True

    return predicate


def test_a_group_from_creation_to_mentions_with_every_event_signed(stack: DevProcess, line: dict[str, str],
                                                                 receiver: Receiver) -> None:
    group = _call(stack, line, "POST", "/v1/groups", {"subject": "Team", "participants": [ANN, BOB]}, expect=201)
    jid = group["jid"]
    assert jid.endswith("@g.us") and group["subject"] == "Team"
    roles = {p["jid"]: p["role"] for p in group["participants"]}
    assert roles[ANN_JID] == roles[BOB_JID] == "member" and "superadmin" in roles.values()
    ann = next(p for p in group["participants"] if p["jid"] == ANN_JID)
    assert ann["phone"] == "14155552671" and ann["lid"].endswith("@lid")
    joined = _hook(_hooks(receiver, line["secret"], _has("group.joined")), "group.joined")
    assert joined["group"]["jid"] == jid and joined["reason"] == "create"

    renamed = _call(stack, line, "PATCH", f"/v1/groups/{jid}", {"subject": "Team 2", "description": "Weekly"})
    assert (renamed["subject"], renamed["description"]) == ("Team 2", "Weekly")
    promoted = _call(stack, line, "POST", f"/v1/groups/{jid}/participants",
                     {"action": "promote", "participants": [ANN]})
    assert [(r["jid"], r["status"]) for r in promoted["results"]] == [(ANN_JID, "ok")]
    added = _call(stack, line, "POST", f"/v1/groups/{jid}/participants",
                  {"action": "add", "participants": [BOB, NOT_ON_WHATSAPP]})
    assert [r["status"] for r in added["results"]] == ["already_in_group", "not_on_whatsapp"]

    link = _call(stack, line, "GET", f"/v1/groups/{jid}/invite-link")
    assert link["invite_link"].startswith("https://chat.whatsapp.com/")
    fresh = _call(stack, line, "POST", f"/v1/groups/{jid}/invite-link/revoke")
    assert fresh["code"] != link["code"]
    revoked = _call(stack, line, "GET", f"/v1/groups/invites/{link['code']}", expect=410)
    assert revoked["error"]["code"] == "invite_revoked"
    assert _call(stack, line, "GET", f"/v1/groups/invites/{fresh['code']}")["jid"] == jid

    outsider = _cli(stack, "simulate", line["session_id"], "group.join", "--group", jid, "--phone", OUTSIDER)
    assert outsider.returncode == 0, outsider.stderr
    left = _cli(stack, "simulate", line["session_id"], "group.leave", "--group", jid, "--phone", BOB)
    assert left.returncode == 0, left.stderr

    sent = _call(stack, line, "POST", "/v1/messages",
                 {"type": "text", "to": jid, "text": "welcome @14155552671", "mentions": [ANN]}, expect=202)
    everyone = _call(stack, line, "POST", "/v1/messages",
                     {"type": "text", "to": jid, "text": "hello all", "mention_all": True}, expect=202)

    payloads = _hooks(receiver, line["secret"], lambda got: all(
        _has(kind, **match)(got) for kind, match in (
            ("group.updated", {"group_jid": jid, "changes": {"subject": "Team 2"}}),
            ("group.updated", {"group_jid": jid, "changes": {"invite_link_reset": True}}),
            ("group.participants", {"group_jid": jid, "action": "promote"}),
            ("group.participants", {"group_jid": jid, "action": "join"}),
            ("group.participants", {"group_jid": jid, "action": "leave"}),
            ("message.sent", {"message_id": sent["id"]}),
            ("message.sent", {"message_id": everyone["id"]}))))
    join = _hook(payloads, "group.participants", group_jid=jid, action="join")
    assert [(p["phone"], p["lid"] is not None) for p in join["participants"]] == [("16502530001", True)]
    leave = _hook(payloads, "group.participants", group_jid=jid, action="leave")
    assert leave["participants"][0]["jid"] == BOB_JID and leave["by"]["phone"] == "447911123456"
    promote = _hook(payloads, "group.participants", group_jid=jid, action="promote")
    assert promote["participants"][0]["role"] == "admin"

    # The session's list follows the events: the outsider in, Bob out, Ann an admin.
    listed = {g["jid"]: g for g in _call(stack, line, "GET", "/v1/groups")["groups"]}
    members = {p["jid"]: p["role"] for p in listed[jid]["participants"]}
    assert members.get("16502530001@s.whatsapp.net") == "member" and BOB_JID not in members
    assert members[ANN_JID] == "admin" and listed[jid]["subject"] == "Team 2"
    assert [g["jid"] for g in _call(stack, line, "GET", "/v1/groups?refresh=true")["groups"]] == [jid]

    message = _call(stack, line, "GET", f"/v1/messages/{sent['id']}")
    assert message["to"] == jid


def test_join_by_invite_leave_and_communities(stack: DevProcess, line: dict[str, str], receiver: Receiver) -> None:
    added = _cli(stack, "simulate", line["session_id"], "group.added", "--phone", OUTSIDER, "--subject", "Theirs",
                 "--participant", ANN)
    assert added.returncode == 0, added.stderr
    theirs = json.loads(added.stdout)["group"]
    joined = _hook(_hooks(receiver, line["secret"], _has("group.joined", reason="added")), "group.joined",
                   reason="added")
    assert joined["group"]["jid"] == theirs and joined["by"]["phone"] == "16502530001"
    refused = _call(stack, line, "POST", f"/v1/groups/{theirs}/participants",
                    {"action": "add", "participants": [BOB]}, expect=403)
    assert refused["error"]["code"] == "not_group_admin"

    mine = _call(stack, line, "POST", "/v1/groups", {"subject": "Mine", "participants": [ANN]}, expect=201)["jid"]
    code = _call(stack, line, "GET", f"/v1/groups/{mine}/invite-link")["code"]
    _call(stack, line, "POST", f"/v1/groups/{mine}/leave", expect=204)
    assert _call(stack, line, "GET", f"/v1/groups/{mine}", expect=404)["error"]["code"] == "group_not_found"
    assert mine not in {g["jid"] for g in _call(stack, line, "GET", "/v1/groups")["groups"]}
    assert _call(stack, line, "POST", "/v1/groups/join", {"invite": f"https://chat.whatsapp.com/{code}"}) == {
        "group": mine}
    _hooks(receiver, line["secret"], _has("group.left", group_jid=mine))

    community = _call(stack, line, "POST", "/v1/communities", {"subject": "Town"}, expect=201)
    assert community["is_community"] is True
    group = _call(stack, line, "POST", "/v1/groups", {"subject": "Street", "participants": [ANN]}, expect=201)["jid"]
    linked = _call(stack, line, "POST", f"/v1/communities/{community['jid']}/groups/{group}")
    assert linked == {"community": community["jid"], "group": group, "linked": True}
    listed = _call(stack, line, "GET", f"/v1/communities/{community['jid']}/groups")
    assert [g["jid"] for g in listed["groups"]] == [group]
    not_a_community = _call(stack, line, "POST", f"/v1/communities/{group}/groups/{mine}", expect=422)
    assert not_a_community["error"]["code"] == "not_a_community"
    _call(stack, line, "DELETE", f"/v1/communities/{community['jid']}/groups/{group}")
    assert _call(stack, line, "GET", f"/v1/communities/{community['jid']}/groups")["groups"] == []


def test_pictures_join_requests_and_members_posting(stack: DevProcess, line: dict[str, str],
                                                     receiver: Receiver) -> None:
    jid = _call(stack, line, "POST", "/v1/groups", {"subject": "Club", "participants": [ANN]}, expect=201)["jid"]
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 64).decode()
    picture = _call(stack, line, "PUT", f"/v1/groups/{jid}/picture", {"image_base64": jpeg})
    assert picture["group"] == jid and picture["picture_id"]
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
    not_jpeg = _call(stack, line, "PUT", f"/v1/groups/{jid}/picture", {"image_base64": png}, expect=422)
    assert not_jpeg["error"]["code"] == "group_request_invalid"
    _call(stack, line, "DELETE", f"/v1/groups/{jid}/picture", expect=204)

    assert _call(stack, line, "PATCH", f"/v1/groups/{jid}", {"join_approval": True})["join_approval"] is True
    for phone in (BOB, OUTSIDER):
        asked = _cli(stack, "simulate", line["session_id"], "group.request", "--group", jid, "--phone", phone)
        assert asked.returncode == 0, asked.stderr
    requests = _call(stack, line, "GET", f"/v1/groups/{jid}/requests")["requests"]
    assert sorted(r["phone"] for r in requests) == ["16502530001", "447911123456"]
    approved = _call(stack, line, "POST", f"/v1/groups/{jid}/requests",
                     {"action": "approve", "participants": [BOB, "+14155550199"]})
    assert [r["status"] for r in approved["results"]] == ["ok", "no_request"]
    rejected = _call(stack, line, "POST", f"/v1/groups/{jid}/requests",
                     {"action": "reject", "participants": [OUTSIDER]})
    assert [r["status"] for r in rejected["results"]] == ["ok"]
    assert _call(stack, line, "GET", f"/v1/groups/{jid}/requests")["requests"] == []
    removed = _call(stack, line, "POST", f"/v1/groups/{jid}/participants",
                    {"action": "remove", "participants": [BOB, OUTSIDER]})
    assert [r["status"] for r in removed["results"]] == ["ok", "not_in_group"]

    posted = _cli(stack, "simulate", line["session_id"], "group.message", "--group", jid, "--phone", ANN,
                  "--text", "hello club")
    assert posted.returncode == 0, posted.stderr
    deadline = time.monotonic() + 30
    while True:
        history = _call(stack, line, "GET", f"/v1/messages?chat={jid}")["messages"]
        inbound = [m for m in history if m["direction"] == "in"]
        if inbound or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert inbound and inbound[0]["content"]["text"] == "hello club", history
    payloads = _hooks(receiver, line["secret"], _has("group.updated", group_jid=jid, changes={"picture": None}))
    assert _hook(payloads, "group.updated", group_jid=jid, changes={"join_approval": True})["by"]["phone"]


def test_bad_input_and_other_tenants(stack: DevProcess, line: dict[str, str]) -> None:
    group = _call(stack, line, "POST", "/v1/groups", {"subject": "Private", "participants": [ANN]}, expect=201)["jid"]
    cases: list[tuple[str, str, Any, int, str]] = [
        ("GET", "/v1/groups/120363999999999999@g.us", None, 404, "group_not_found"),
        ("GET", "/v1/groups/not-a-group", None, 400, "invalid_group_id"),
        ("POST", "/v1/groups", {"subject": "Empty", "participants": []}, 400, "validation_error"),
        ("POST", "/v1/groups", {"subject": "", "participants": [ANN]}, 400, "validation_error"),
        ("POST", f"/v1/groups/{group}/participants",
         {"action": "add", "participants": [f"+1415555{n:04d}" for n in range(1025)]}, 400, "validation_error"),
        ("POST", f"/v1/groups/{group}/participants", {"action": "kick", "participants": [ANN]}, 400,
         "validation_error"),
        ("POST", f"/v1/groups/{group}/participants", {"action": "add", "participants": ["not a phone"]}, 400,
         "invalid_recipient"),
        ("POST", "/v1/groups/join", {"invite": "https://chat.whatsapp.com/no spaces!"}, 400, "invalid_invite"),
        ("POST", "/v1/groups/join", {"invite": "AAAAAAAAAAAAAAAAAAAAAA"}, 404, "invite_invalid"),
        ("PATCH", f"/v1/groups/{group}", {}, 400, "validation_error"),
        ("POST", "/v1/messages", {"type": "text", "to": ANN, "text": "hi", "mention_all": True}, 422,
         "mention_all_needs_group"),
    ]
    for method, path, body, status, code in cases:
        reply = _call(stack, line, method, path, body, expect=status)
        assert reply["error"]["code"] == code, (path, reply)

    other = _line(stack)
    for method, path in (("GET", f"/v1/groups/{group}"), ("GET", f"/v1/groups/{group}/invite-link"),
                         ("POST", f"/v1/groups/{group}/leave")):
        reply = _call(stack, other, method, path, expect=404)
        assert reply["error"]["code"] == "group_not_found"
    assert group not in {g["jid"] for g in _call(stack, other, "GET", "/v1/groups")["groups"]}
    assert _call(stack, line, "GET", f"/v1/groups/{group}")["subject"] == "Private", "nothing changed for A"

    status, body, _ = stack.request("POST", f"/v1/sessions/{other['session_id']}/disconnect", token=other["token"])
    assert status == 202
    deadline = time.monotonic() + 30
    while True:
        status, reply, _ = stack.request("GET", f"/v1/groups/{group}", api_key=other["key"])
        if status == 409 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert (status, reply["error"]["code"]) == (409, "session_not_connected")


def test_the_readme_groups_walkthrough_works_as_written(stack: DevProcess, tmp_path: Path) -> None:
    answers = run_as_written(stack, tmp_path, walkthrough("### Groups with curl"), "bea@example.com")
    assert [a for a in answers if isinstance(a, dict) and isinstance(a.get("error"), dict)] == []
    renamed = next(a for a in answers if isinstance(a, dict) and a.get("subject") == "Team 2")
    promoted = next(a for a in answers if isinstance(a, dict) and a.get("action") == "promote")
    assert [r["status"] for r in promoted["results"]] == ["ok"]
    links = [a["code"] for a in answers if isinstance(a, dict) and "invite_link" in a]
    assert len(links) == 2 and links[0] != links[1]
    sent = next(a for a in answers if isinstance(a, dict) and str(a.get("id", "")).startswith("msg_"))
    assert sent["status"] == "queued" and sent["to"] == renamed["jid"]
    (listed,) = [a["groups"] for a in answers if isinstance(a, dict) and "groups" in a]
    members = {p["phone"]: p["role"] for p in listed[0]["participants"]}
    assert members["16502530001"] == "member" and members["14155552671"] == "admin"
    assert "447911123456" not in members, "the simulated leave reached the list through its event"
    assert answers[-1]["is_community"] is True
