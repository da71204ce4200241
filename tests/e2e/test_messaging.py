"""Messaging through `whatsam dev` over HTTP, as an integration would use it: every message
type sent with the simulated engine and seen delivered; an inbound message in the history
and the session's event journal."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import DevProcess
from tests.e2e.test_fleet import _account, _card, _cli, _connect_and_scan, _wait_until
from tests.support.waiting import wait_for_value

pytestmark = pytest.mark.e2e

TO = "+14155552671"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
WEBP = b"RIFF\x24\0\0\0WEBPVP8 " + b"\0" * 32
OGG = b"OggS" + b"\0" * 64
MP4 = b"\0\0\0\x18ftypmp42" + b"\0" * 64
PDF = b"%PDF-1.4\n" + b"\0" * 64


def _b64(data: bytes, mimetype: str) -> dict[str, str]:
    return {"base64": base64.b64encode(data).decode(), "mimetype": mimetype}


def _send(stack: DevProcess, key: str, body: dict[str, Any]) -> dict[str, Any]:
    status, reply, _ = stack.request("POST", "/v1/messages", body, api_key=key)
    assert status == 202, (body["type"], reply)
    return dict(reply)


def _until(stack: DevProcess, key: str, message_id: str, statuses: set[str], timeout: float = 30) -> dict:
    def read() -> dict[str, Any]:
        status, message, _ = stack.request("GET", f"/v1/messages/{message_id}", api_key=key)
        assert status == 200, message
        return dict(message)

    return wait_for_value(read, lambda message: message["status"] in statuses, timeout, every=0.3,
                          what=f"message {message_id} {sorted(statuses)}")


@pytest.fixture(scope="module")
def line(fleet_stack: DevProcess) -> dict[str, str]:
    token = _account(fleet_stack)
    session_id = _card(fleet_stack, token)
    _connect_and_scan(fleet_stack, token, session_id)
    status, key, _ = fleet_stack.request("POST", f"/v1/sessions/{session_id}/api-keys", {"name": "e2e"}, token=token)
    assert status == 201
    return {"token": token, "session_id": session_id, "key": key["key"]}


def test_every_message_type_is_delivered(fleet_stack: DevProcess, line: dict[str, str]) -> None:
    key = line["key"]
    first = _send(fleet_stack, key, {"type": "text", "to": TO, "text": "hello https://example.com",
                                     "link_preview": True})
    bodies: list[dict[str, Any]] = [
        {"type": "text", "to": TO, "text": "a reply", "reply_to": first["id"]},
        {"type": "image", "to": TO, "media": _b64(PNG, "image/png"), "caption": "a picture"},
        {"type": "video", "to": TO, "media": _b64(MP4, "video/mp4"), "caption": "a clip"},
        {"type": "audio", "to": TO, "media": _b64(OGG, "audio/ogg"), "voice_note": True},
        {"type": "document", "to": TO, "media": {**_b64(PDF, "application/pdf"), "filename": "terms.pdf"}},
        {"type": "sticker", "to": TO, "media": _b64(WEBP, "image/webp")},
        {"type": "location", "to": TO, "latitude": 52.3731, "longitude": 4.8926, "name": "Dam Square"},
        {"type": "contact", "to": TO, "contact": {"name": "Ann", "phone": "+447911123456"}},
        {"type": "poll", "to": TO, "poll": {"name": "Lunch?", "options": ["pizza", "salad"]}},
    ]
    visible = [first] + [_send(fleet_stack, key, body) for body in bodies]
    for message in visible:
        done = _until(fleet_stack, key, message["id"], {"delivered", "read", "failed"})
        assert done["status"] in ("delivered", "read"), done
        assert done["wa_id"], done

    acting = [_send(fleet_stack, key, {"type": "reaction", "to": TO, "message_id": first["id"], "emoji": "👍"}),
              _send(fleet_stack, key, {"type": "edit", "to": TO, "message_id": first["id"], "text": "hello again"}),
              _send(fleet_stack, key, {"type": "revoke", "to": TO, "message_id": visible[1]["id"]})]
    for message in acting:
        assert _until(fleet_stack, key, message["id"], {"sent", "failed"})["status"] == "sent"


def test_inbound_message_lands_in_history_and_journal(fleet_stack: DevProcess, line: dict[str, str]) -> None:
    text = f"hi from a contact {uuid.uuid4().hex[:6]}"
    done = _cli(fleet_stack, "inbound", line["session_id"], "--from", "+447911123456", "--text", text)
    assert done.returncode == 0, done.stderr
    # The CLI prints the message the contact wrote, once stored; not the session.
    printed = json.loads(done.stdout)
    assert (printed["from"], printed["text"], printed["stored"]) == ("447911123456", text, True)
    _, history, _ = fleet_stack.request("GET", "/v1/messages?chat=%2B447911123456", api_key=line["key"])
    inbound = [m for m in history["messages"] if m["direction"] == "in"]
    assert inbound, history
    assert (inbound[0]["id"], inbound[0]["wa_id"]) == (printed["id"], printed["wa_id"])
    assert inbound[0]["content"]["text"] == text
    assert inbound[0]["from"]["phone"] == "447911123456" and inbound[0]["chat"] == "447911123456@s.whatsapp.net"
    _, journal, _ = fleet_stack.request("GET", f"/v1/sessions/{line['session_id']}/events?after=0&limit=500",
                                        token=line["token"])
    received = [e for e in journal["events"] if e["type"] == "message.received"]
    assert received and received[-1]["text"] == text and received[-1]["sender_phone"] == "447911123456"
    seqs = [e["seq"] for e in journal["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_dev_scan_prints_the_card_after_the_scan(fleet_stack: DevProcess) -> None:
    token = _account(fleet_stack)
    session_id = _card(fleet_stack, token)
    fleet_stack.request("POST", f"/v1/sessions/{session_id}/connect", token=token)
    _wait_until(fleet_stack, token, session_id, lambda c: c["status"] == "qr")
    scanned = _cli(fleet_stack, "scan", session_id)
    assert scanned.returncode == 0, scanned.stderr
    card = json.loads(scanned.stdout)
    assert (card["id"], card["status"]) == (session_id, "connected") and card["phone"], card
