"""Chats and history sync through `whatsam dev` over HTTP (simulated WhatsApp, one worker whose
phone sends 60 messages of history when it links): the new link fills the chat list and history
and sends exactly one signed `session.history_synced` webhook; a contact writes and the chat
shows one unread, zero once read through the API; a chat read on the phone empties its count;
archive, pin, mute and the disappearing timer go through the simulated WhatsApp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FAST_FLEET, DevProcess, module_stack
from tests.e2e.test_fleet import _account, _card, _connect_and_scan
from tests.e2e.test_groups import _has, _hook, _hooks
from tests.e2e.test_readme_walkthrough import run_as_written, walkthrough
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

HISTORY = 60  # 2 simulated chats (25 and 35 messages); the oldest message of each is 45 days old
stack = module_stack("chats", "--workers", "1", "--schedule-speedup", "30",
                     env_overrides={**FAST_FLEET, "WHATSAM_SIM_HISTORY_MESSAGES": str(HISTORY)})

ANN, ANN_JID = "+14155552671", "14155552671@s.whatsapp.net"
BOB, BOB_JID = "+447911123456", "447911123456@s.whatsapp.net"
FIRST_HISTORY_CHAT = "14155560000@s.whatsapp.net"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def line(stack: DevProcess, receiver: Receiver) -> dict[str, str]:
    """A session with `history_sync: recent` and a webhook endpoint, both set before it links."""
    token = _account(stack)
    session_id = _card(stack, token)
    status, settings, _ = stack.request("PATCH", f"/v1/sessions/{session_id}/settings", {"history_sync": "recent"},
                                        token=token)
    assert status == 200 and settings["history_sync"] == "recent", settings
    hook = {"url": receiver.url, "events": ["session.history_synced", "chat.read"], "session_id": session_id}
    status, endpoint, _ = stack.request("POST", "/v1/webhooks", hook, token=token)
    assert status == 201, endpoint
    _connect_and_scan(stack, token, session_id)
    status, key, _ = stack.request("POST", f"/v1/sessions/{session_id}/api-keys", {"name": "chats"}, token=token)
    assert status == 201, key
    return {"token": token, "session_id": session_id, "key": key["key"], "secret": endpoint["secret"]}


def _call(stack: DevProcess, line: dict[str, str], method: str, path: str, body: Any = None,
          expect: int = 200) -> Any:
    status, reply, _ = stack.request(method, path, body, api_key=line["key"])
    assert status == expect, (method, path, status, reply)
    return reply


def _chat(stack: DevProcess, line: dict[str, str], jid: str) -> dict[str, Any] | None:
    chats = _call(stack, line, "GET", "/v1/chats?limit=200")["chats"]
    return next((chat for chat in chats if chat["chat"] == jid), None)


def test_a_new_link_fills_the_chats_and_history_with_one_webhook(stack: DevProcess, line: dict[str, str],
                                                                receiver: Receiver) -> None:
    synced = _hook(_hooks(receiver, line["secret"], _has("session.history_synced")), "session.history_synced")
    assert (synced["chats"], synced["messages"]) == (2, HISTORY - 2), "recent: not the two 45-day-old messages"
    assert synced["session_id"] == line["session_id"]

    chats = _call(stack, line, "GET", "/v1/chats")["chats"]
    assert [chat["chat"] for chat in chats] == [FIRST_HISTORY_CHAT, "14155560001@s.whatsapp.net"]
    first = chats[0]
    assert (first["name"], first["kind"], first["pinned"], first["unread_count"]) == ("Contact 1", "direct", True, 1)
    assert first["last_message"]["preview"] == "History message 1 of chat 1"

    page = _call(stack, line, "GET", f"/v1/chats/{FIRST_HISTORY_CHAT}/messages?limit=200")
    assert len(page["messages"]) == 24 and {m["source"] for m in page["messages"]} == {"history"}
    assert page["messages"][0]["content"]["text"] == "History message 1 of chat 1"
    assert {m["direction"] for m in page["messages"]} == {"in", "out"}, "every third message was the phone's own"
    everything = _call(stack, line, "GET", "/v1/messages?limit=200")["messages"]
    assert len(everything) == HISTORY - 2


def test_unread_counts_from_a_contact_and_reads(stack: DevProcess, line: dict[str, str], receiver: Receiver) -> None:
    status, written, _ = stack.request("POST", f"/v1/dev/sessions/{line['session_id']}/inbound?wait=20",
                                       {"from": ANN, "text": "are you there?"}, token=line["token"])
    assert status == 202 and written["stored"], written
    ann = wait_until(lambda: _chat(stack, line, ANN_JID), timeout=30, what="Ann's chat")
    assert ann["unread_count"] == 1 and ann["last_message"]["preview"] == "are you there?"
    assert _call(stack, line, "GET", "/v1/chats")["chats"][0]["chat"] == ANN_JID, "the latest activity is on top"
    _call(stack, line, "POST", f"/v1/chats/{ANN}/read", {"message_ids": [written["wa_id"]]}, expect=202)
    assert _chat(stack, line, ANN_JID)["unread_count"] == 0  # type: ignore[index]

    for text in ("one", "two"):
        stack.request("POST", f"/v1/dev/sessions/{line['session_id']}/inbound?wait=20", {"from": BOB, "text": text},
                      token=line["token"])
    wait_until(lambda: (_chat(stack, line, BOB_JID) or {}).get("unread_count") == 2, timeout=30,
               what="Bob's two unread")
    status, simulated, _ = stack.request("POST", f"/v1/dev/sessions/{line['session_id']}/simulate",
                                         {"type": "chat.read_on_phone", "phone": BOB}, token=line["token"])
    assert status == 200 and simulated["result"] == {"chat": BOB_JID}, simulated
    read = _hook(_hooks(receiver, line["secret"], _has("chat.read", chat_jid=BOB_JID)), "chat.read")
    assert read["session_id"] == line["session_id"]
    wait_until(lambda: _chat(stack, line, BOB_JID)["unread_count"] == 0, timeout=30,  # type: ignore[index]
               what="Bob's chat read on the phone")

    synced = [p for p in _hooks(receiver, line["secret"], lambda _: True) if p["type"] == "session.history_synced"]
    assert len(synced) == 1, "one webhook for the whole history, none per old message"


def test_chat_settings_through_the_simulated_whatsapp(stack: DevProcess, line: dict[str, str]) -> None:
    assert _call(stack, line, "POST", f"/v1/chats/{ANN}/archive")["archived"] is True
    assert _call(stack, line, "POST", f"/v1/chats/{ANN}/pin")["pinned"] is True
    muted = _call(stack, line, "POST", f"/v1/chats/{ANN}/mute", {"until": "2099-01-01T00:00:00Z"})
    assert muted["muted"] and muted["muted_until"] == "2099-01-01T00:00:00Z"
    assert _call(stack, line, "POST", f"/v1/chats/{ANN}/mute")["muted_until"] is None, "muted for good"
    assert _call(stack, line, "POST", f"/v1/chats/{ANN}/disappearing", {"seconds": 86400})["disappearing_seconds"] \
        == 86400
    after = _chat(stack, line, ANN_JID)
    assert after is not None and (after["archived"], after["pinned"], after["muted"]) == (True, True, True)
    _call(stack, line, "POST", f"/v1/chats/{ANN}/unmute")
    _call(stack, line, "POST", f"/v1/chats/{ANN}/unpin")
    back = _call(stack, line, "POST", f"/v1/chats/{ANN}/unarchive")
    assert (back["archived"], back["pinned"], back["muted"]) == (False, False, False)

    assert _call(stack, line, "POST", f"/v1/chats/{ANN}/disappearing", {"seconds": 60},
                 expect=400)["error"]["code"] == "validation_error"
    assert _call(stack, line, "GET", "/v1/chats?kind=status", expect=400)["error"]["code"] == "invalid_query"
    other = _account(stack)
    status, _, _ = stack.request("GET", "/v1/chats", token=other)
    assert status == 401, "the chat list takes a session API key"


def test_the_readme_walkthrough(stack: DevProcess, tmp_path: Path) -> None:
    answers = run_as_written(stack, tmp_path, walkthrough("## Chats and history sync"), "cai@example.com")
    assert {"type": "history.sync", "result": {"messages": 50, "chats": 2}} in answers
    listed = next(a for a in answers if isinstance(a, dict) and "chats" in a)
    first = listed["chats"][0]
    assert (first["chat"], first["unread_count"], first["last_message"]["preview"]) == (ANN_JID, 1, "lunch?")
    assert {"status": "accepted"} in answers
    archived = next(a for a in answers if isinstance(a, dict) and a.get("archived") is True)
    assert archived["chat"] == ANN_JID and archived["unread_count"] == 0, "read, then archived"
    history = next(a for a in answers if isinstance(a, dict) and "messages" in a)
    assert [m["content"]["text"] for m in history["messages"]] == ["lunch?"]
