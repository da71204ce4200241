"""Contacts and identities through `whatsam dev` over HTTP (simulated WhatsApp, one worker).

Someone the simulated WhatsApp names by LID only writes (`contact.lid_message`: no phone in the
message). The worker asks the engine's own LID store for the phone at receive time, so the signed
`message.received` webhook carries both `sender_phone` and `sender_lid`, and the stored message
too; `GET /v1/lids/{lid}` answers the phone from the session's identity map. A LID or phone the map
does not know is asked of WhatsApp once and learnt (answered afterwards even with the session
disconnected). Contacts, the batch number check, bad input and other tenants over the same stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.conftest import FAST_FLEET, DevProcess, module_stack, simulate
from tests.e2e.test_fleet import _cli
from tests.e2e.test_groups import _call, _has, _hook, _hooks, _line
from tests.e2e.test_readme_walkthrough import run_as_written, walkthrough
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import Receiver
from worker_fleet.engines.simulated_identity import simulated_lid

pytestmark = pytest.mark.e2e

stack = module_stack("contacts", "--workers", "1", "--schedule-speedup", "30", env_overrides=FAST_FLEET)

CLEO = "+16502530001"
BOB = "+447911123456"
NOT_ON_WHATSAPP = "+447911123450"  # the simulated WhatsApp: numbers ending in 0 are not on it


@pytest.fixture(scope="module")
def receiver() -> Any:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def line(stack: DevProcess, receiver: Receiver) -> dict[str, str]:
    account = _line(stack)
    hook = {"url": receiver.url, "events": ["message.received", "message.delivered"],
            "session_id": account["session_id"]}
    status, endpoint, _ = stack.request("POST", "/v1/webhooks", hook, token=account["token"])
    assert status == 201, endpoint
    return {**account, "secret": endpoint["secret"]}


def test_a_sender_known_only_by_lid_reaches_the_webhook_with_both_identities(
        stack: DevProcess, line: dict[str, str], receiver: Receiver) -> None:
    wrote = simulate(stack, line, {"type": "contact.lid_message", "phone": CLEO, "name": "Cleo", "text": "hi"})
    lid = wrote["lid"]
    assert lid == simulated_lid("16502530001") and wrote["phone"] == "16502530001"

    payloads = _hooks(receiver, line["secret"], _has("message.received", wa_id=wrote["wa_id"]))
    received = _hook(payloads, "message.received", wa_id=wrote["wa_id"])
    assert (received["sender_jid"], received["chat_jid"]) == (lid, lid), "WhatsApp named the sender by LID only"
    assert (received["sender_lid"], received["sender_phone"]) == (lid, "16502530001")

    assert _call(stack, line, "GET", f"/v1/lids/{lid}") == {"lid": lid, "phone": "16502530001"}
    assert _call(stack, line, "GET", f"/v1/lids?phone={quote(CLEO)}") == {"lid": lid, "phone": "16502530001"}
    stored = _call(stack, line, "GET", f"/v1/messages?chat={quote(lid)}")["messages"]
    assert [(m["from"]["phone"], m["from"]["lid"]) for m in stored] == [("16502530001", lid)]

    cleo = _call(stack, line, "GET", f"/v1/contacts/{lid}")
    assert cleo == {"jid": "16502530001@s.whatsapp.net", "phone": "16502530001", "lid": lid, "name": None,
                    "push_name": "Cleo", "business_name": None, "on_whatsapp": True}


def test_receipts_name_the_recipient_by_phone_and_lid(stack: DevProcess, line: dict[str, str],
                                                     receiver: Receiver) -> None:
    sent = _call(stack, line, "POST", "/v1/messages", {"type": "text", "to": BOB, "text": "hello"}, expect=202)
    payloads = _hooks(receiver, line["secret"], _has("message.delivered", message_id=sent["id"]))
    delivered = _hook(payloads, "message.delivered", message_id=sent["id"])
    assert (delivered["phone"], delivered["lid"]) == ("447911123456", simulated_lid("447911123456"))


def test_lookups_ask_whatsapp_once_and_the_map_answers_afterwards(stack: DevProcess) -> None:
    line = _line(stack)
    bob_lid = simulated_lid("447911123456")
    assert _call(stack, line, "GET", f"/v1/lids?phone={quote(BOB)}") == {"lid": bob_lid, "phone": "447911123456"}
    unknown = _call(stack, line, "GET", "/v1/lids/111111111111111@lid", expect=404)
    assert unknown["error"]["code"] == "identity_unknown"

    status, _, _ = stack.request("POST", f"/v1/sessions/{line['session_id']}/disconnect", token=line["token"])
    assert status == 202
    wait_until(lambda: stack.request("GET", "/v1/contacts", api_key=line["key"])[0] == 409,
               timeout=30, what="the session to be disconnected")
    # No worker to ask: both directions come from the identity map the first lookup filled.
    assert _call(stack, line, "GET", f"/v1/lids/{bob_lid}") == {"lid": bob_lid, "phone": "447911123456"}
    assert _call(stack, line, "GET", "/v1/lids?phone=447911123456")["lid"] == bob_lid
    not_asked = _call(stack, line, "GET", f"/v1/lids?phone={quote(CLEO)}", expect=409)
    assert not_asked["error"]["code"] == "session_not_connected"


def test_contacts_names_pages_and_the_batch_check(stack: DevProcess, line: dict[str, str]) -> None:
    wrote = simulate(stack, line, {"type": "contact.lid_message", "text": "who am I?"})
    wait_until(lambda: stack.request("GET", f"/v1/messages?chat={quote(wrote['lid'])}", api_key=line["key"])[1]
               .get("messages"), timeout=30, what="the LID writer's message to be stored")
    saved = _cli(stack, "simulate", line["session_id"], "contact.saved", "--phone", BOB, "--name", "Bob",
                 "--business-name", "Bob's Bikes")
    assert saved.returncode == 0, saved.stderr
    bob = _call(stack, line, "GET", f"/v1/contacts/{BOB}")
    assert bob == {"jid": "447911123456@s.whatsapp.net", "phone": "447911123456",
                   "lid": simulated_lid("447911123456"), "name": "Bob", "push_name": None,
                   "business_name": "Bob's Bikes", "on_whatsapp": True}
    assert _call(stack, line, "GET", "/v1/contacts/447911123456@s.whatsapp.net") == bob

    pages, cursor = [], None
    while True:
        page = _call(stack, line, "GET", "/v1/contacts?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        pages.append(page["contacts"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert all(len(page) == 1 for page in pages)
    listed = {c["phone"]: c for page in pages for c in page}
    assert len(listed) == len(pages), "no contact twice across pages"
    assert listed["447911123456"]["name"] == "Bob"
    assert listed[wrote["phone"]]["lid"] == wrote["lid"], "everyone who wrote is a contact, with both identities"

    checked = _call(stack, line, "POST", "/v1/contacts/check", {"phones": [CLEO, NOT_ON_WHATSAPP, BOB]})
    assert checked == {"results": [
        {"phone": "16502530001", "on_whatsapp": True, "jid": "16502530001@s.whatsapp.net"},
        {"phone": "447911123450", "on_whatsapp": False, "jid": None},
        {"phone": "447911123456", "on_whatsapp": True, "jid": "447911123456@s.whatsapp.net"}]}
    assert _call(stack, line, "GET", f"/v1/contacts/{NOT_ON_WHATSAPP}/exists") == {
        "phone": "447911123450", "exists": False, "jid": None}
    assert _call(stack, line, "GET", f"/v1/contacts/{NOT_ON_WHATSAPP}")["on_whatsapp"] is False


def test_bad_input_and_other_tenants(stack: DevProcess, line: dict[str, str]) -> None:
    cases: list[tuple[str, str, Any, int, str]] = [
        ("GET", "/v1/lids/not-a-lid", None, 400, "invalid_lid"),
        ("GET", "/v1/lids/123@lid", None, 400, "invalid_lid"),
        ("GET", "/v1/lids", None, 400, "invalid_query"),
        ("GET", "/v1/lids?phone=12", None, 400, "invalid_phone"),
        ("GET", "/v1/contacts/not-a-contact", None, 400, "invalid_contact"),
        ("GET", "/v1/contacts/111111111111111@lid", None, 404, "contact_not_found"),
        ("GET", "/v1/contacts?cursor=!!!", None, 400, "invalid_cursor"),
        ("GET", "/v1/contacts?cursor=bm90IGEgamlk", None, 400, "invalid_cursor"),
        ("GET", "/v1/contacts?limit=0", None, 400, "invalid_query"),
        ("POST", "/v1/contacts/check", {"phones": []}, 400, "validation_error"),
        ("POST", "/v1/contacts/check", {"phones": [f"+1415555{n:04d}" for n in range(51)]}, 400,
         "validation_error"),
        ("POST", "/v1/contacts/check", {"phones": [BOB, "not a phone"]}, 400, "invalid_phone"),
        ("POST", "/v1/contacts/check", {"phones": [BOB], "extra": 1}, 400, "validation_error"),
    ]
    for method, path, body, status, code in cases:
        reply = _call(stack, line, method, path, body, expect=status)
        assert reply["error"]["code"] == code, (path, reply)

    wrote = simulate(stack, line, {"type": "contact.lid_message", "text": "only for A"})
    wait_until(lambda: stack.request("GET", f"/v1/lids/{wrote['lid']}", api_key=line["key"])[0] == 200,
               timeout=30, what="A's map to know the writer")
    other = _line(stack)
    # B's session never heard of A's writer: not in B's map, and B's WhatsApp device never told.
    for path in (f"/v1/lids/{wrote['lid']}", f"/v1/contacts/{wrote['lid']}"):
        reply = _call(stack, other, "GET", path, expect=404)
        assert reply["error"]["code"] in ("identity_unknown", "contact_not_found"), reply
    listed = _call(stack, other, "GET", "/v1/contacts")["contacts"]
    assert wrote["lid"] not in {c["lid"] for c in listed}


def test_the_readme_contacts_walkthrough_works_as_written(stack: DevProcess, tmp_path: Path) -> None:
    answers = run_as_written(stack, tmp_path, walkthrough("### Contacts with curl"), "dora@example.com")
    assert [a for a in answers if isinstance(a, dict) and isinstance(a.get("error"), dict)] == []
    lid = simulated_lid("16502530001")
    assert {"lid": lid, "phone": "16502530001"} in answers
    bob = next(a for a in answers if isinstance(a, dict) and a.get("name") == "Bob")
    assert bob["business_name"] == "Bob's Bikes" and bob["lid"] == simulated_lid("447911123456")
    (checked,) = [a["results"] for a in answers if isinstance(a, dict) and "results" in a]
    assert [r["on_whatsapp"] for r in checked] == [True, False]
