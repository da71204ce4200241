"""Profile, presence, calls, blocklist, privacy and the session's proxy through `whatsam dev` over
HTTP (simulated WhatsApp, one worker): the push name set reads back; a call rung while
`reject_calls` is on is rejected, both call events reach a signed webhook and the caller gets the
`reject_message`; a presence subscription yields `presence.updated`; a proxy's password is never
shown back. Bad input and other tenants get 4xx codes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FAST_FLEET, DevProcess, module_stack, simulate
from tests.e2e.test_fleet import _cli
from tests.e2e.test_groups import _call, _has, _hook, _hooks, _line, receiver
from tests.e2e.test_readme_walkthrough import run_as_written, walkthrough
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

stack = module_stack("profile", "--workers", "1", env_overrides=FAST_FLEET)
__all__ = ["receiver"]  # the webhook receiver fixture, shared with the groups tests

CALLER, CALLER_JID = "+14155552671", "14155552671@s.whatsapp.net"
FRIEND, FRIEND_JID = "+447911123456", "447911123456@s.whatsapp.net"
NOT_ON_WHATSAPP = "+447911123450"  # the simulated WhatsApp: numbers ending in 0 are not on it


@pytest.fixture(scope="module")
def line(stack: DevProcess, receiver: Receiver) -> dict[str, str]:
    account = _line(stack)
    hook = {"url": receiver.url, "events": ["call.*", "presence.updated", "chat.presence", "message.sent"],
            "session_id": account["session_id"]}
    status, endpoint, _ = stack.request("POST", "/v1/webhooks", hook, token=account["token"])
    assert status == 201, endpoint
    return {**account, "secret": endpoint["secret"]}


def _settings(stack: DevProcess, line: dict[str, str], changes: dict[str, Any], expect: int = 200) -> Any:
    status, reply, _ = stack.request("PATCH", f"/v1/sessions/{line['session_id']}/settings", changes,
                                     token=line["token"])
    assert status == expect, reply
    return reply


def test_the_profile_name_and_about_read_back_and_pictures(stack: DevProcess, line: dict[str, str]) -> None:
    changed = _call(stack, line, "PATCH", "/v1/profile", {"name": "Acme Support", "about": "Here 9-5"})
    assert (changed["name"], changed["about"]) == ("Acme Support", "Here 9-5")
    assert _call(stack, line, "GET", "/v1/profile")["name"] == "Acme Support"
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 64).decode()
    picture = _call(stack, line, "PUT", "/v1/profile/picture", {"image_base64": jpeg})
    assert _call(stack, line, "GET", "/v1/profile")["picture_id"] == picture["picture_id"]
    _call(stack, line, "DELETE", "/v1/profile/picture", expect=204)
    assert _call(stack, line, "GET", "/v1/profile")["picture_id"] is None

    theirs = _call(stack, line, "GET", f"/v1/contacts/{FRIEND}/picture")
    assert theirs["url"].startswith("https://") and theirs["id"]
    assert _call(stack, line, "GET", f"/v1/contacts/{NOT_ON_WHATSAPP}/picture", expect=404)["error"]["code"] == \
        "not_on_whatsapp"

    for body, code in (({}, "validation_error"), ({"name": "x" * 26}, "validation_error"),
                       ({"name": "ok", "extra": 1}, "validation_error")):
        assert _call(stack, line, "PATCH", "/v1/profile", body, expect=400)["error"]["code"] == code
    group = _call(stack, line, "GET", "/v1/contacts/120363000000000001@g.us/picture", expect=400)
    assert group["error"]["code"] == "invalid_contact"


def test_a_call_is_rejected_by_the_setting_and_both_events_reach_the_webhook(
        stack: DevProcess, line: dict[str, str], receiver: Receiver) -> None:
    settings = _settings(stack, line, {"reject_calls": True, "reject_message": "Please write instead."})
    assert settings["reject_calls"] is True
    rung = simulate(stack, line, {"type": "call.ring", "phone": CALLER, "video": True})
    call_id = rung["call_id"]
    payloads = _hooks(receiver, line["secret"], lambda got: _has("call.received", call_id=call_id)(got)
                      and _has("call.ended", call_id=call_id)(got) and _has("message.sent", chat_jid=CALLER_JID)(got))
    received = _hook(payloads, "call.received", call_id=call_id)
    assert (received["from"], received["video"], received["group"]) == (CALLER_JID, True, False)
    assert _hook(payloads, "call.ended", call_id=call_id)["reason"] == "rejected"
    told = _hook(payloads, "message.sent", chat_jid=CALLER_JID)
    assert _call(stack, line, "GET", f"/v1/messages/{told['message_id']}")["content"]["text"] == \
        "Please write instead."
    # It stopped ringing: rejecting it again names no ringing call.
    assert _call(stack, line, "POST", f"/v1/calls/{call_id}/reject", expect=404)["error"]["code"] == "call_not_found"


def test_a_call_rejected_through_the_api(stack: DevProcess, line: dict[str, str], receiver: Receiver) -> None:
    _settings(stack, line, {"reject_calls": False})
    call_id = simulate(stack, line, {"type": "call.ring", "phone": FRIEND})["call_id"]
    _hooks(receiver, line["secret"], _has("call.received", call_id=call_id))
    assert _call(stack, line, "POST", f"/v1/calls/{call_id}/reject") == {"call_id": call_id, "rejected": True}
    ended = _hook(_hooks(receiver, line["secret"], _has("call.ended", call_id=call_id)), "call.ended", call_id=call_id)
    assert ended["from"] == FRIEND_JID
    assert _call(stack, line, "POST", "/v1/calls/NOSUCHCALL/reject", expect=404)["error"]["code"] == "call_not_found"
    assert _call(stack, line, "POST", "/v1/calls/not-a-call/reject", expect=404)["error"]["code"] == "call_not_found"


def test_presence_subscription_and_typing(stack: DevProcess, line: dict[str, str], receiver: Receiver) -> None:
    assert _call(stack, line, "POST", "/v1/presence", {"state": "available"}) == {"state": "available"}
    assert _call(stack, line, "POST", "/v1/presence", {"state": "away"}, expect=400)["error"]["code"] == \
        "validation_error"
    unheard = simulate(stack, line, {"type": "presence.update", "phone": FRIEND, "state": "unavailable"})
    assert unheard["subscribed"] is False
    subscribed = _call(stack, line, "POST", f"/v1/contacts/{FRIEND}/presence/subscribe")
    assert subscribed == {"contact": FRIEND_JID, "subscribed": True}
    first = _hook(_hooks(receiver, line["secret"], _has("presence.updated", chat=FRIEND_JID)), "presence.updated",
                  chat=FRIEND_JID)
    assert first["state"] == "unavailable" and first["last_seen"]
    simulate(stack, line, {"type": "presence.update", "phone": FRIEND, "state": "available"})
    _hooks(receiver, line["secret"], _has("presence.updated", chat=FRIEND_JID, state="available"))
    simulate(stack, line, {"type": "chat.presence", "phone": FRIEND, "state": "recording"})
    typing = _hook(_hooks(receiver, line["secret"], _has("chat.presence", participant=FRIEND_JID)), "chat.presence",
                   participant=FRIEND_JID)
    assert (typing["chat"], typing["state"]) == (FRIEND_JID, "recording")
    refused = _call(stack, line, "POST", f"/v1/contacts/{NOT_ON_WHATSAPP}/presence/subscribe", expect=404)
    assert refused["error"]["code"] == "not_on_whatsapp"


def test_blocklist_and_privacy(stack: DevProcess, line: dict[str, str]) -> None:
    assert _call(stack, line, "GET", "/v1/blocklist") == {"blocked": []}
    assert _call(stack, line, "POST", "/v1/blocklist", {"phone": FRIEND}) == {"blocked": [FRIEND_JID]}
    assert _call(stack, line, "GET", "/v1/blocklist") == {"blocked": [FRIEND_JID]}
    assert _call(stack, line, "DELETE", f"/v1/blocklist/{FRIEND_JID}") == {"blocked": []}
    assert _call(stack, line, "POST", "/v1/blocklist", {"phone": "nope"}, expect=400)["error"]["code"] == \
        "invalid_contact"

    privacy = _call(stack, line, "GET", "/v1/privacy")
    assert privacy["last_seen"] == "all" and set(privacy) >= {"online", "groups_add", "call_add", "read_receipts"}
    changed = _call(stack, line, "PATCH", "/v1/privacy", {"last_seen": "contacts", "online": "match_last_seen"})
    assert (changed["last_seen"], changed["online"]) == ("contacts", "match_last_seen")
    not_offered = _call(stack, line, "PATCH", "/v1/privacy", {"online": "contacts"}, expect=400)
    assert not_offered["error"]["code"] == "invalid_privacy_value"
    assert _call(stack, line, "PATCH", "/v1/privacy", {"last_seen": "everyone"}, expect=400)["error"]["code"] == \
        "validation_error"
    assert _call(stack, line, "GET", "/v1/privacy")["last_seen"] == "contacts"


def test_a_proxy_password_is_never_shown_back(stack: DevProcess, line: dict[str, str]) -> None:
    set_proxy = _settings(stack, line, {"proxy": "socks5://ann:s3cret-pw@proxy.example.com:1080"})
    assert set_proxy["proxy"] == "socks5://ann:***@proxy.example.com:1080"
    status, read, _ = stack.request("GET", f"/v1/sessions/{line['session_id']}/settings", token=line["token"])
    assert status == 200 and read["proxy"] == "socks5://ann:***@proxy.example.com:1080"
    assert "s3cret-pw" not in json.dumps(read)
    for bad in ("ftp://proxy.example.com", "socks5://proxy.example.com:1080/path", "not a url"):
        refused = _settings(stack, line, {"proxy": bad}, expect=400)
        assert refused["error"]["code"] in ("invalid_proxy", "proxy_scheme_not_allowed"), refused
    assert _settings(stack, line, {"proxy": None})["proxy"] is None


def test_other_tenants_and_no_key(stack: DevProcess, line: dict[str, str]) -> None:
    other = _line(stack)
    call_id = simulate(stack, line, {"type": "call.ring", "phone": FRIEND})["call_id"]
    # Another tenant's session knows no such call; without a key nothing answers.
    assert _call(stack, other, "POST", f"/v1/calls/{call_id}/reject", expect=404)["error"]["code"] == "call_not_found"
    assert stack.request("GET", "/v1/profile")[0] == 401
    status, _, _ = stack.request("PATCH", f"/v1/sessions/{line['session_id']}/settings", {"proxy": None},
                                 token=other["token"])
    assert status == 404


def test_the_readme_profile_walkthrough_works_as_written(stack: DevProcess, tmp_path: Path) -> None:
    answers = run_as_written(stack, tmp_path, walkthrough("### Profile, presence and calls with curl"),
                             "cal@example.com")
    assert {"name": "Cal's shop", "about": None, "picture_id": None} in answers
    assert any(isinstance(a, dict) and a.get("rejected") is True for a in answers)


def test_the_cli_rings_a_call(stack: DevProcess, line: dict[str, str]) -> None:
    rung = _cli(stack, "simulate", line["session_id"], "call.ring", "--phone", CALLER, "--video")
    assert rung.returncode == 0, rung.stderr
    assert json.loads(rung.stdout)["result"]["video"] is True
