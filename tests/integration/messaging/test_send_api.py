"""POST /v1/messages and reading messages back, against the moto server and Redis."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from tests.integration.messaging.conftest import Line
from tests.support.leases import TEST_WORKER, granted_lease
from whatsam.adapters.messages import MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.events import MessageReceivedEvent, MessageStatusEvent, make_seq
from whatsam.domain.model import utcnow
from whatsam.messaging.status import MessageStatus

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
TO = "+14155552671"


def _tenant(line: Line) -> str:
    card = SessionRepository().get(line.session_id)
    assert card is not None
    return card.tenant_id


def _send(api: Any, line: Line, body: dict[str, Any], **headers: str) -> Any:
    return api.call("POST", "/v1/messages", json_body=body, api_key=line.key, headers=headers)


def test_accepts_text_records_it_queued_in_order(api: Any, connected_line: Line) -> None:
    first = _send(api, connected_line, {"type": "text", "to": TO, "text": "one"})
    second = _send(api, connected_line, {"type": "text", "to": TO, "text": "two"})
    assert (first.status, first.body["status"]) == (202, "queued")
    assert first.body["to"] == "14155552671@s.whatsapp.net" and first.body["phone"] == "14155552671"
    pending = MessageRepository().pending(connected_line.session_id)
    assert [p.message_id for p in pending] == [first.body["id"], second.body["id"]], "order accepted"
    assert pending[0].send_seq < pending[1].send_seq  # type: ignore[operator]

    one = api.call("GET", f"/v1/messages/{first.body['id']}", api_key=connected_line.key)
    assert (one.status, one.body["content"]["text"], one.body["timeline"][0]["status"]) == (200, "one", "queued")


def test_idempotency_key_returns_the_first_answer_and_sends_nothing_twice(api: Any, connected_line: Line) -> None:
    key = uuid.uuid4().hex
    body = {"type": "text", "to": TO, "text": "once"}
    first = _send(api, connected_line, body, **{"Idempotency-Key": key})
    again = _send(api, connected_line, body, **{"Idempotency-Key": key})
    assert first.status == again.status == 202 and first.body["id"] == again.body["id"]
    assert len(MessageRepository().pending(connected_line.session_id)) == 1
    other = _send(api, connected_line, {**body, "text": "different"}, **{"Idempotency-Key": key})
    assert (other.status, other.body["error"]["code"]) == (422, "idempotency_key_reused")


def test_not_connected_is_a_conflict_not_a_silent_queue(api: Any) -> None:
    account = api.register()
    card = api.call("POST", "/v1/sessions", json_body={"name": "x"}, token=account["access_token"]).body
    reply = api.call("POST", "/v1/messages", json_body={"type": "text", "to": TO, "text": "hi"},
                     api_key=card["api_key"]["key"])
    assert (reply.status, reply.body["error"]["code"]) == (409, "session_not_connected")


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"type": "text", "to": "+1 555 0100", "text": "x"}, 400, "invalid_recipient"),
    ({"type": "text", "to": TO}, 400, "validation_error"),
    ({"type": "image", "to": TO, "media": {"base64": "!!!", "mimetype": "image/png"}}, 400, "invalid_media"),
    ({"type": "image", "to": TO, "media": {"base64": base64.b64encode(PNG).decode(), "mimetype": "image/jpeg"}},
     422, "media_type_mismatch"),
    ({"type": "sticker", "to": TO, "media": {"base64": base64.b64encode(PNG).decode(), "mimetype": "image/png"}},
     422, "unsupported_media_type"),
    ({"type": "image", "to": TO, "media": {"media_id": "med_missing"}}, 422, "media_not_found"),
    ({"type": "reaction", "to": TO, "message_id": "msg_nope", "emoji": "👍"}, 404, "message_not_found"),
])
def test_bad_messages_get_a_clear_4xx_and_nothing_is_queued(api: Any, connected_line: Line, body: dict[str, Any],
                                                            status: int, code: str) -> None:
    reply = _send(api, connected_line, body)
    assert (reply.status, reply.body["error"]["code"]) == (status, code), reply.body
    assert MessageRepository().pending(connected_line.session_id) == []


def test_base64_media_is_stored_and_linked(api: Any, connected_line: Line) -> None:
    reply = _send(api, connected_line, {"type": "image", "to": TO, "caption": "look",
                                        "media": {"base64": base64.b64encode(PNG).decode(), "mimetype": "image/png"}})
    assert reply.status == 202, reply.body
    media = reply.body["content"]["media"]
    assert media["mimetype"] == "image/png" and media["size"] == len(PNG) and media["url"].startswith("http")
    assert "key" not in media


def test_presigned_upload_then_send_by_media_id(api: Any, connected_line: Line) -> None:
    import requests

    upload = api.call("POST", "/v1/media", json_body={"mimetype": "image/png"}, api_key=connected_line.key)
    assert upload.status == 201, upload.body
    posted = requests.post(upload.body["upload"]["url"], data=upload.body["upload"]["fields"],
                           files={"file": ("a.png", PNG, "image/png")}, timeout=10)
    assert posted.status_code in (200, 204), posted.text
    reply = _send(api, connected_line, {"type": "image", "to": TO, "media": {"media_id": upload.body["media_id"]}})
    assert reply.status == 202, reply.body
    assert reply.body["content"]["media"]["size"] == len(PNG)


def test_edit_needs_a_message_this_session_sent(api: Any, connected_line: Line, services: Any) -> None:
    sent = _send(api, connected_line, {"type": "text", "to": TO, "text": "typo"})
    edit = _send(api, connected_line, {"type": "edit", "to": TO, "message_id": sent.body["id"], "text": "fixed"})
    assert edit.status == 202, edit.body
    assert edit.body["content"]["target"]["message_id"] == sent.body["id"]

    inbound = MessageReceivedEvent(session_id=connected_line.session_id, tenant_id=_tenant(connected_line),
        seq=make_seq(1, 1), worker_id=TEST_WORKER, message_id=f"msg_in{uuid.uuid4().hex[:20]}",
        wa_id="WAIN1", chat_jid="14155552671@s.whatsapp.net", sender_jid="14155552671@s.whatsapp.net",
        sender_phone="14155552671", kind="text", text="hello", timestamp=utcnow())
    services.ingestion.apply(inbound)
    refused = _send(api, connected_line, {"type": "edit", "to": TO, "message_id": inbound.message_id, "text": "x"})
    assert (refused.status, refused.body["error"]["code"]) == (409, "not_editable")
    reaction = _send(api, connected_line, {"type": "reaction", "to": TO, "message_id": inbound.message_id,
                                           "emoji": "👍"})
    assert reaction.status == 202 and reaction.body["content"]["target"]["from_me"] is False


def test_receipts_move_status_forward_and_history_pages(api: Any, connected_line: Line, services: Any) -> None:
    tenant = _tenant(connected_line)
    ids = [_send(api, connected_line, {"type": "text", "to": TO, "text": f"m{i}"}).body["id"] for i in range(3)]
    messages = MessageRepository()
    record = messages.pending(connected_line.session_id)[0]
    assert messages.start_sending(record, fence=1)
    assert messages.mark_sent(messages.get(record.message_id), 1, "WA-1", utcnow())  # type: ignore[arg-type]
    envelope = {"session_id": connected_line.session_id, "tenant_id": tenant, "worker_id": TEST_WORKER,
                "chat_jid": "14155552671@s.whatsapp.net", "wa_id": "WA-1"}
    services.ingestion.apply(MessageStatusEvent(**envelope, seq=make_seq(1, 2), type="message.read"))
    services.ingestion.apply(MessageStatusEvent(**envelope, seq=make_seq(1, 3), type="message.delivered"))
    read = api.call("GET", f"/v1/messages/{ids[0]}", api_key=connected_line.key).body
    assert read["status"] == "read", "a late delivered receipt never moves it back"
    assert [t["status"] for t in read["timeline"]] == ["queued", "sent", "read"]

    page = api.call("GET", "/v1/messages?limit=2", api_key=connected_line.key).body
    assert [m["id"] for m in page["messages"]] == [ids[2], ids[1]]
    rest = api.call("GET", f"/v1/messages?limit=2&cursor={page['next_cursor']}", api_key=connected_line.key).body
    assert [m["id"] for m in rest["messages"]] == [ids[0]] and rest["next_cursor"] is None
    by_chat = api.call("GET", f"/v1/messages?chat={TO}", api_key=connected_line.key).body
    assert len(by_chat["messages"]) == 3

    journal = api.call("GET", f"/v1/sessions/{connected_line.session_id}/events?after=0",
                       token=connected_line.token).body
    assert [e["type"] for e in journal["events"]] == ["message.read", "message.delivered"]
    assert journal["events"][0]["message_id"] == ids[0], "receipts are enriched with our message id"
    later = api.call("GET", f"/v1/sessions/{connected_line.session_id}/events?after={journal['next_after']}",
                     token=connected_line.token).body
    assert later["events"] == []


def test_the_same_news_under_another_seq_is_journaled_once(api: Any, connected_line: Line, services: Any) -> None:
    """A later lease holder announces a `sent` whose event died with the old one, and the engine
    re-reports receipts after a reconnect: each status of a message is journaled once."""
    tenant = _tenant(connected_line)
    message_id = _send(api, connected_line, {"type": "text", "to": TO, "text": "once"}).body["id"]
    messages = MessageRepository()
    record = messages.pending(connected_line.session_id)[0]
    assert messages.start_sending(record, fence=1)
    assert messages.mark_sent(messages.get(message_id), 1, "WA-ONCE", utcnow())  # type: ignore[arg-type]
    assert [r.message_id for r in messages.pending(connected_line.session_id)] == [message_id], \
        "in the outbox until its event is out"
    # Two later holders (fences 2 and 3, as event admission requires of their events).
    granted_lease(connected_line.session_id, tenant)
    granted_lease(connected_line.session_id, tenant)
    envelope = {"session_id": connected_line.session_id, "tenant_id": tenant, "worker_id": TEST_WORKER,
                "chat_jid": "14155552671@s.whatsapp.net", "wa_id": "WA-ONCE"}
    first = MessageStatusEvent(**envelope, message_id=message_id, seq=make_seq(1, 5), type="message.sent")
    assert services.ingestion.apply(first)
    assert messages.settle(messages.get(message_id))  # type: ignore[arg-type]
    assert messages.pending(connected_line.session_id) == []
    assert not services.ingestion.apply(first.model_copy(update={"seq": make_seq(2, 1), "event_id": "evt_again"}))
    assert services.ingestion.apply(MessageStatusEvent(**envelope, seq=make_seq(2, 2), type="message.delivered"))
    assert not services.ingestion.apply(MessageStatusEvent(**envelope, seq=make_seq(3, 1),
                                                           type="message.delivered"))
    journal = api.call("GET", f"/v1/sessions/{connected_line.session_id}/events?after=0",
                       token=connected_line.token).body
    assert [e["type"] for e in journal["events"]] == ["message.sent", "message.delivered"]


def test_a_receipt_applied_on_a_stale_read_of_the_message_still_moves_it(api: Any, connected_line: Line) -> None:
    """Events are ingested concurrently: `read` may be applied to the record as it was before
    `delivered` moved it; it must not be lost."""
    message_id = _send(api, connected_line, {"type": "text", "to": TO, "text": "race"}).body["id"]
    messages = MessageRepository()
    assert messages.start_sending(messages.pending(connected_line.session_id)[0], fence=1)
    assert messages.mark_sent(messages.get(message_id), 1, "WA-RACE", utcnow())  # type: ignore[arg-type]
    stale = messages.get(message_id)
    assert stale is not None and messages.advance(stale, MessageStatus.DELIVERED, utcnow())
    moved = messages.advance(stale, MessageStatus.READ, utcnow())
    assert moved is not None and moved.status is MessageStatus.READ
    record = messages.get(message_id)
    assert record is not None and [t["status"] for t in record.timeline] == ["queued", "sent", "delivered", "read"]


def test_an_attempt_the_engine_never_took_goes_back_to_the_queue_and_stays_unsendable(
        api: Any, connected_line: Line) -> None:
    """A worker killed between marking `sending` and handing the message to its engine leaves an
    attempt that provably never left: the next holder requeues it, and the old attempt (its
    shard still alive) can no longer take it in hand. One the engine took is left alone."""
    message_id = _send(api, connected_line, {"type": "text", "to": TO, "text": "in hand?"}).body["id"]
    messages = MessageRepository()
    assert messages.start_sending(messages.pending(connected_line.session_id)[0], fence=1)
    assert messages.requeue_unhanded(messages.get(message_id))  # type: ignore[arg-type]
    assert not messages.hand_to_engine(message_id, 1), "taken back: the old attempt must not send"
    assert messages.start_sending(messages.get(message_id), fence=2)  # type: ignore[arg-type]
    assert messages.hand_to_engine(message_id, 2)
    handed = messages.get(message_id)
    assert handed is not None and (handed.status, handed.handed_fence) == (MessageStatus.SENDING, 2)
    assert not messages.requeue_unhanded(handed), "it may have reached WhatsApp: never sent again"


def test_other_sessions_messages_are_not_found(api: Any, connected_line: Line) -> None:
    sent = _send(api, connected_line, {"type": "text", "to": TO, "text": "mine"})
    other = api.register()
    card = api.call("POST", "/v1/sessions", json_body={"name": "x"}, token=other["access_token"]).body
    assert api.call("GET", f"/v1/messages/{sent.body['id']}", api_key=card["api_key"]["key"]).status == 404
    assert api.call("GET", f"/v1/sessions/{connected_line.session_id}/events",
                    token=other["access_token"]).status == 404
