"""Status (stories), channels (newsletters) and what contacts do to messages, through `whatsam dev`
over HTTP (simulated WhatsApp, one worker): a simulated poll vote reaches a webhook with its option
names and the tally counts each voter's latest vote; a voice note played is `message.played`; a
status posted through the API goes out from the outbox and a contact's status arrives as
`status.received`; a channel is created, followed, posted to and read; messages are forwarded and
sent view-once. Bad input and other tenants get 4xx codes."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FAST_FLEET, DevProcess, module_stack
from tests.e2e.test_fleet import _cli
from tests.e2e.test_groups import _call, _hooks, _line
from tests.e2e.test_groups import receiver as receiver  # the module-scoped webhook receiver fixture
from tests.e2e.test_readme_walkthrough import run_as_written, walkthrough
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

stack = module_stack("status-channels", "--workers", "1", env_overrides=FAST_FLEET)

ANN, BOB = "+14155552671", "+447911123456"
ANN_JID, BOB_JID = "14155552671@s.whatsapp.net", "447911123456@s.whatsapp.net"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
OGG = base64.b64encode(b"OggS" + b"\0" * 64).decode()


@pytest.fixture(scope="module")
def line(stack: DevProcess, receiver: Receiver) -> dict[str, str]:
    account = _line(stack)
    hook = {"url": receiver.url, "events": ["message.*", "status.received"], "session_id": account["session_id"]}
    status, endpoint, _ = stack.request("POST", "/v1/webhooks", hook, token=account["token"])
    assert status == 201, endpoint
    return {**account, "secret": endpoint["secret"]}


def _hook(payloads: list[dict[str, Any]], event_type: str, **match: Any) -> dict[str, Any]:
    """The data of the first webhook of `event_type` whose data has `match`."""
    for payload in payloads:
        data = payload["data"]
        if payload["type"] == event_type and all(data.get(k) == v for k, v in match.items()):
            return dict(data)
    raise AssertionError(f"no {event_type} {match} in {[p['type'] for p in payloads]}")


def _has(event_type: str, **match: Any) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda payloads: any(p["type"] == event_type and all(p["data"].get(k) == v for k, v in match.items())
                                for p in payloads)


def _until(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30) -> Any:
    """`read()` once `done` holds for it (the API answers from state events change)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            assert done(value), value
            return value
        time.sleep(0.2)


def _sent(stack: DevProcess, line: dict[str, str], message_id: str) -> dict[str, Any]:
    return _until(lambda: _call(stack, line, "GET", f"/v1/messages/{message_id}"),
                  lambda m: m["status"] in ("sent", "delivered", "read", "played", "failed"))


def _simulate(stack: DevProcess, line: dict[str, str], *args: str) -> None:
    done = _cli(stack, "simulate", line["session_id"], *args)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_poll_vote_arrives_with_its_options_and_the_tally_counts_latest_votes(
        stack: DevProcess, line: dict[str, str], receiver: Receiver) -> None:
    poll = _call(stack, line, "POST", "/v1/messages", {"type": "poll", "to": ANN, "poll": {
        "name": "Lunch?", "options": ["Tea", "Coffee", "Juice"], "selectable_count": 2}}, expect=202)
    assert _sent(stack, line, poll["id"])["status"] != "failed"
    _simulate(stack, line, "poll.vote", "--phone", ANN, "--message-id", poll["id"], "--option", "Tea")
    vote = _hook(_hooks(receiver, line["secret"], _has("message.received", kind="poll_vote")), "message.received",
                 kind="poll_vote")
    assert vote["details"]["poll_vote"]["options"] == ["Tea"]
    assert vote["details"]["poll_vote"]["poll_message_id"] == poll["id"] and vote["sender_phone"] == "14155552671"

    def tally() -> dict[str, Any]:
        return {o["name"]: o for o in _call(stack, line, "GET", f"/v1/messages/{poll['id']}/votes")["options"]}

    assert _until(tally, lambda t: t["Tea"]["count"] == 1)["Tea"]["voters"] == [ANN_JID]
    # Ann changes her mind (her later vote replaces the first); Bob picks two.
    _simulate(stack, line, "poll.vote", "--phone", ANN, "--message-id", poll["id"], "--option", "Coffee")
    _simulate(stack, line, "poll.vote", "--phone", BOB, "--message-id", poll["id"], "--option", "Tea",
              "--option", "Juice")
    final = _until(tally, lambda t: t["Coffee"]["count"] == 1 and t["Juice"]["count"] == 1)
    assert {name: option["voters"] for name, option in final.items()} == {
        "Tea": [BOB_JID], "Coffee": [ANN_JID], "Juice": [BOB_JID]}
    whole = _call(stack, line, "GET", f"/v1/messages/{poll['id']}/votes")
    assert (whole["name"], whole["selectable_count"], whole["voters"]) == ("Lunch?", 2, 2)


def test_a_voice_note_played_is_its_own_status(stack: DevProcess, line: dict[str, str],
                                               receiver: Receiver) -> None:
    note = _call(stack, line, "POST", "/v1/messages", {"type": "audio", "to": BOB, "voice_note": True,
                                                       "media": {"base64": OGG, "mimetype": "audio/ogg"}}, expect=202)
    _until(lambda: _call(stack, line, "GET", f"/v1/messages/{note['id']}"), lambda m: m["status"] == "read")
    _simulate(stack, line, "message.played", "--message-id", note["id"])
    played = _hook(_hooks(receiver, line["secret"], _has("message.played", message_id=note["id"])),
                   "message.played", message_id=note["id"])
    assert played["chat_jid"] == BOB_JID
    record = _until(lambda: _call(stack, line, "GET", f"/v1/messages/{note['id']}"),
                    lambda m: m["status"] == "played")
    assert [step["status"] for step in record["timeline"]][-2:] == ["read", "played"]


def test_statuses_go_out_and_contacts_statuses_arrive(stack: DevProcess, line: dict[str, str],
                                                      receiver: Receiver) -> None:
    text = _call(stack, line, "POST", "/v1/status", {"type": "text", "text": "Out of office",
                                                     "background_color": "#1E8C45", "font": 2}, expect=202)
    assert (text["chat"], text["type"], text["status"]) == ("status@broadcast", "text", "queued")
    assert text["content"]["status"] == {"background_argb": 0xFF1E8C45, "font": 2}
    image = _call(stack, line, "POST", "/v1/status", {"type": "image", "caption": "View",
                                                      "media": {"base64": PNG, "mimetype": "image/png"}}, expect=202)
    for posted in (text, image):
        _hooks(receiver, line["secret"], _has("message.sent", message_id=posted["id"]))
        assert _call(stack, line, "GET", f"/v1/messages/{posted['id']}")["to"] == "status@broadcast"

    _simulate(stack, line, "status.post", "--phone", ANN, "--text", "At the beach")
    story = _hook(_hooks(receiver, line["secret"], _has("status.received")), "status.received")
    assert (story["text"], story["kind"], story["sender_phone"]) == ("At the beach", "text", "14155552671")
    assert story["sender_jid"] == ANN_JID and story["message_id"].startswith("msg_")


def test_a_channel_is_created_followed_posted_to_and_read(stack: DevProcess, line: dict[str, str],
                                                          receiver: Receiver) -> None:
    mine = _call(stack, line, "POST", "/v1/channels", {"name": "News", "description": "Daily"}, expect=201)
    assert mine["jid"].endswith("@newsletter") and mine["role"] == "owner"
    assert mine["invite_link"].startswith("https://whatsapp.com/channel/")
    theirs = "120363000000004321@newsletter"
    assert _call(stack, line, "GET", f"/v1/channels/{theirs}")["role"] is None
    assert _call(stack, line, "POST", f"/v1/channels/{theirs}/follow") == {"channel": theirs, "following": True}
    listed = {c["jid"]: c["role"] for c in _call(stack, line, "GET", "/v1/channels")["channels"]}
    assert listed == {mine["jid"]: "owner", theirs: "subscriber"}
    digits = theirs.split("@")[0]
    assert _call(stack, line, "POST", f"/v1/channels/{digits}/unfollow")["following"] is False
    assert [c["jid"] for c in _call(stack, line, "GET", "/v1/channels")["channels"]] == [mine["jid"]]

    post = _call(stack, line, "POST", "/v1/messages", {"type": "text", "to": mine["jid"], "text": "First post"},
                 expect=202)
    _hooks(receiver, line["secret"], _has("message.sent", message_id=post["id"]))
    posts = _call(stack, line, "GET", f"/v1/channels/{mine['jid']}/messages?limit=10")
    assert [(p["kind"], p["text"]) for p in posts["messages"]] == [("text", "First post")]
    # Only the owner posts: a send to a channel the session does not own fails, with why.
    refused = _call(stack, line, "POST", "/v1/messages", {"type": "text", "to": theirs, "text": "Hi"}, expect=202)
    assert "not_channel_owner" in (_sent(stack, line, refused["id"])["error"] or "")


def test_forward_and_view_once(stack: DevProcess, line: dict[str, str], receiver: Receiver) -> None:
    status, inbound, _ = stack.request("POST", f"/v1/dev/sessions/{line['session_id']}/inbound?wait=20",
                                       {"from": BOB, "text": "Pass this on"}, token=line["token"])
    assert status == 202 and inbound["stored"], inbound
    forwarded = _call(stack, line, "POST", "/v1/messages", {"type": "forward", "to": ANN,
                                                            "message_id": inbound["id"]}, expect=202)
    assert forwarded["type"] == "text"
    assert forwarded["content"] == {"text": "Pass this on", "forwarded": True, "forwarded_from": inbound["id"]}
    once = _call(stack, line, "POST", "/v1/messages", {"type": "image", "to": ANN, "view_once": True,
                                                       "media": {"base64": PNG, "mimetype": "image/png"}}, expect=202)
    again = _call(stack, line, "POST", "/v1/messages", {"type": "forward", "to": BOB, "message_id": once["id"]},
                  expect=202)
    assert again["content"]["forwarded"] is True and "view_once" not in again["content"]
    for message in (forwarded, once, again):
        _hooks(receiver, line["secret"], _has("message.sent", message_id=message["id"]))


def test_bad_input_and_other_tenants(stack: DevProcess, line: dict[str, str]) -> None:
    text = _call(stack, line, "POST", "/v1/messages", {"type": "text", "to": ANN, "text": "not a poll"}, expect=202)
    poll = _call(stack, line, "POST", "/v1/messages", {"type": "poll", "to": ANN, "poll": {
        "name": "Q", "options": ["A", "B"]}}, expect=202)
    for message in (text, poll):
        _sent(stack, line, message["id"])
    sid = line["session_id"]
    cases: list[tuple[str, str, Any, int, str]] = [
        ("GET", f"/v1/messages/{text['id']}/votes", None, 422, "not_a_poll"),
        ("GET", f"/v1/messages/msg_{'0' * 25}/votes", None, 404, "message_not_found"),
        ("POST", "/v1/status", {"type": "text", "text": "x", "font": 5}, 400, "validation_error"),
        ("POST", "/v1/status", {"type": "text", "text": "x", "background_color": "green"}, 400, "validation_error"),
        ("POST", "/v1/status", {"type": "audio", "media": {"base64": OGG, "mimetype": "audio/ogg"}}, 400,
         "validation_error"),
        ("POST", "/v1/status", {"type": "text", "text": "x" * 701}, 400, "validation_error"),
        ("POST", "/v1/messages", {"type": "forward", "to": ANN, "message_id": poll["id"]}, 422, "not_forwardable"),
        ("POST", "/v1/messages", {"type": "forward", "to": ANN, "message_id": f"msg_{'0' * 25}"}, 404,
         "message_not_found"),
        ("POST", "/v1/messages", {"type": "document", "to": ANN, "view_once": True,
                                  "media": {"base64": PNG, "mimetype": "image/png"}}, 400, "validation_error"),
        ("POST", "/v1/messages", {"type": "image", "to": ANN, "view_once": "true",
                                  "media": {"base64": PNG, "mimetype": "image/png"}}, 400, "validation_error"),
        ("POST", "/v1/channels", {"name": ""}, 400, "validation_error"),
        ("GET", "/v1/channels/not-a-channel", None, 400, "invalid_channel_id"),
        ("GET", "/v1/channels/120363000000000000@newsletter", None, 404, "channel_not_found"),
        ("POST", "/v1/channels/120363000000000010/follow", None, 404, "channel_not_found"),
        ("GET", "/v1/channels/120363000000000011@newsletter/messages?limit=0", None, 400, "invalid_query"),
    ]
    for method, path, body, status, code in cases:
        reply = _call(stack, line, method, path, body, expect=status)
        assert reply["error"]["code"] == code, (path, reply)
    for body, status, code in (({"type": "poll.vote", "phone": ANN}, 400, "validation_error"),
                               ({"type": "poll.vote", "phone": ANN, "message_id": text["id"]}, 404,
                                "message_not_found"),
                               ({"type": "poll.vote", "phone": ANN, "message_id": poll["id"], "options": ["C"]}, 422,
                                "poll_option_unknown"),
                               ({"type": "message.played", "message_id": poll["id"]}, 404, "message_not_found"),
                               ({"type": "status.post", "phone": ANN}, 400, "validation_error"),
                               ({"type": "status.post", "phone": ANN, "text": "x", "group": "1@g.us"}, 400,
                                "validation_error")):
        got, reply, _ = stack.request("POST", f"/v1/dev/sessions/{sid}/simulate", body, token=line["token"])
        assert (got, reply["error"]["code"]) == (status, code), (body, reply)

    other = _line(stack)
    for method, path, body in (("GET", f"/v1/messages/{poll['id']}/votes", None),
                               ("POST", "/v1/messages", {"type": "forward", "to": ANN, "message_id": text["id"]})):
        got, reply, _ = stack.request(method, path, body, api_key=other["key"])
        assert (got, reply["error"]["code"]) == (404, "message_not_found"), (path, reply)


def test_the_readme_status_channels_walkthrough_works_as_written(stack: DevProcess, tmp_path: Path) -> None:
    answers = run_as_written(stack, tmp_path, walkthrough("### Status, channels and polls with curl"),
                             "cid@example.com")
    assert [a for a in answers if isinstance(a, dict) and isinstance(a.get("error"), dict)] == []
    story = next(a for a in answers if isinstance(a, dict) and a.get("chat") == "status@broadcast")
    assert story["status"] == "queued"
    tally = next(a for a in answers if isinstance(a, dict) and "voters" in a and "options" in a)
    assert {o["name"]: o["count"] for o in tally["options"]} == {"Tea": 1, "Coffee": 0}
    channel = next(a for a in answers if isinstance(a, dict) and a.get("role") == "owner")
    posts = next(a for a in answers if isinstance(a, dict) and a.get("channel") == channel["jid"] and "messages" in a)
    assert [p["text"] for p in posts["messages"]] == ["Hello, subscribers"]
