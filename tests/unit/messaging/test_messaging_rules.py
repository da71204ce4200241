"""Pure messaging rules: recipients, request schemas per type, status precedence, media
checks, and the stored message → engine message translation."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from whatsam.errors import PayloadTooLarge, Unprocessable, ValidationFailed
from whatsam.messaging import recipients
from whatsam.messaging.media import check_type, decode_base64, sniff
from whatsam.messaging.recipient_cap import CapPolicy
from whatsam.messaging.requests import SendMessageRequest
from whatsam.messaging.service import vcard_for
from whatsam.messaging.status import MessageStatus, advances
from worker_fleet.engines.outgoing import Audio, Edit, Image, Media, MessageRef, Poll, Reaction, Text
from worker_fleet.outgoing_builder import UnsendableMessage, build_outgoing

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
parse = TypeAdapter(SendMessageRequest).validate_python


@pytest.mark.parametrize(("raw", "jid"), [
    ("+1 (415) 555-2671", "14155552671@s.whatsapp.net"),
    ("14155552671", "14155552671@s.whatsapp.net"),
    ("+44 7911 123456", "447911123456@s.whatsapp.net"),
    ("120363025246125486@g.us", "120363025246125486@g.us"),
    ("447911123456-1587654321@g.us", "447911123456-1587654321@g.us"),
    ("84723165091842@lid", "84723165091842@lid"),
])
def test_recipients_normalise_to_jids(raw: str, jid: str) -> None:
    assert recipients.to_jid(raw) == jid


@pytest.mark.parametrize("raw", ["12", "+1 555 0100", "hello", "123@example.com", "abc@g.us", "@s.whatsapp.net"])
def test_bad_recipients_are_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        recipients.to_jid(raw)
    assert refused.value.code == "invalid_recipient"


@pytest.mark.parametrize("body", [
    {"type": "text", "to": "+14155552671", "text": "hi", "link_preview": True},
    {"type": "image", "to": "+14155552671", "media": {"url": "https://example.com/a.png"}, "caption": "c"},
    {"type": "audio", "to": "+14155552671", "media": {"media_id": "med_x"}, "voice_note": True},
    {"type": "document", "to": "+14155552671", "media": {"base64": "AAAA", "mimetype": "application/pdf"}},
    {"type": "sticker", "to": "+14155552671", "media": {"url": "https://example.com/s.webp"}},
    {"type": "video", "to": "+14155552671", "media": {"url": "https://example.com/v.mp4"}},
    {"type": "location", "to": "+14155552671", "latitude": 52.37, "longitude": 4.89, "name": "Dam"},
    {"type": "contact", "to": "+14155552671", "contact": {"name": "Ann", "phone": "+447911123456"}},
    {"type": "contact", "to": "+14155552671", "vcard": "BEGIN:VCARD\nEND:VCARD"},
    {"type": "poll", "to": "+14155552671", "poll": {"name": "Lunch?", "options": ["yes", "no"]}},
    {"type": "reaction", "to": "+14155552671", "message_id": "msg_x", "emoji": "👍"},
    {"type": "reaction", "to": "+14155552671", "message_id": "msg_x", "emoji": ""},
    {"type": "edit", "to": "+14155552671", "message_id": "msg_x", "text": "fixed"},
    {"type": "revoke", "to": "+14155552671", "message_id": "msg_x"},
    {"type": "text", "to": "+14155552671", "text": "quoting", "reply_to": "msg_y"},
])
def test_every_type_validates(body: dict[str, Any]) -> None:
    assert parse(body).type == body["type"]


@pytest.mark.parametrize("body", [
    {"type": "text", "to": "+14155552671"},
    {"type": "text", "to": "+14155552671", "text": ""},
    {"type": "text", "to": "+14155552671", "text": "x" * 4097},
    {"type": "image", "to": "+14155552671", "media": {}},
    {"type": "image", "to": "+14155552671", "media": {"url": "https://a/b", "media_id": "m"}},
    {"type": "image", "to": "+14155552671", "media": {"url": "ftp://a/b"}},
    {"type": "image", "to": "+14155552671", "media": {"base64": "AAAA"}},
    {"type": "location", "to": "+14155552671", "latitude": 91, "longitude": 0},
    {"type": "contact", "to": "+14155552671"},
    {"type": "contact", "to": "+14155552671", "vcard": "not a card"},
    {"type": "poll", "to": "+14155552671", "poll": {"name": "x", "options": ["only"]}},
    {"type": "poll", "to": "+14155552671", "poll": {"name": "x", "options": ["a", "a"]}},
    {"type": "poll", "to": "+14155552671", "poll": {"name": "x", "options": ["a", "b"], "selectable_count": 3}},
    {"type": "reaction", "to": "+14155552671", "message_id": "msg_x", "emoji": "lol"},
    {"type": "sms", "to": "+14155552671", "text": "x"},
    {"type": "text", "to": "+14155552671", "text": "x", "unexpected": 1},
])
def test_invalid_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse(body)


def test_status_only_moves_forward() -> None:
    assert advances(MessageStatus.SENT, MessageStatus.READ)
    assert not advances(MessageStatus.READ, MessageStatus.DELIVERED), "a late delivered receipt changes nothing"
    assert advances(MessageStatus.SENDING, MessageStatus.FAILED)
    assert not advances(MessageStatus.SENT, MessageStatus.FAILED)
    assert not advances(MessageStatus.FAILED, MessageStatus.SENT)


def test_media_is_checked_against_its_bytes() -> None:
    assert sniff(PNG) == "image/png"
    assert check_type("image", "image/png", PNG) == "image/png"
    with pytest.raises(Unprocessable) as mismatch:
        check_type("image", "image/jpeg", PNG)
    assert mismatch.value.code == "media_type_mismatch"
    with pytest.raises(Unprocessable) as unsupported:
        check_type("sticker", "image/png", PNG)
    assert unsupported.value.code == "unsupported_media_type"
    assert check_type("document", "application/x-custom", b"anything") == "application/x-custom"


def test_base64_media_is_size_capped_and_validated() -> None:
    assert decode_base64(base64.b64encode(PNG).decode(), 1024) == PNG
    with pytest.raises(PayloadTooLarge):
        decode_base64(base64.b64encode(b"x" * 2000).decode(), 1024)
    with pytest.raises(ValidationFailed):
        decode_base64("not base64!", 1024)


def test_new_recipient_cap_grows_with_age_up_to_its_ceiling() -> None:
    policy = CapPolicy(base=20, growth=5, ceiling=40)
    assert [policy.cap_on(day) for day in (0, 1, 3, 10)] == [20, 25, 35, 40]


def _resolve(ref: dict[str, Any]) -> MessageRef:
    if ref.get("message_id") == "msg_never_sent":
        raise UnsendableMessage("target failed")
    return MessageRef(message_id="WA-" + str(ref.get("message_id") or ref["wa_id"]), from_me=bool(ref.get("from_me")))


def _media(media: dict[str, Any]) -> Media:
    return Media(data=PNG, mimetype=media["mimetype"])


def test_stored_messages_become_engine_messages() -> None:
    assert build_outgoing("text", {"text": "hi", "link_preview": True, "reply_to": {"message_id": "msg_a"}},
                          _resolve, _media) == Text("hi", True, MessageRef("WA-msg_a"))
    image = build_outgoing("image", {"media": {"key": "k", "mimetype": "image/png"}, "caption": "c"}, _resolve, _media)
    assert isinstance(image, Image) and image.caption == "c" and image.media.data == PNG
    audio = build_outgoing("audio", {"media": {"key": "k", "mimetype": "audio/ogg"}, "voice_note": True},
                           _resolve, _media)
    assert isinstance(audio, Audio) and audio.voice_note
    assert build_outgoing("poll", {"poll": {"name": "n", "options": ["a", "b"], "selectable_count": 2}},
                          _resolve, _media) == Poll("n", ("a", "b"), 2)
    assert build_outgoing("reaction", {"target": {"message_id": "msg_t", "from_me": True}, "emoji": "🔥"},
                          _resolve, _media) == Reaction(MessageRef("WA-msg_t", from_me=True), "🔥")
    assert build_outgoing("edit", {"target": {"message_id": "msg_t", "from_me": True}, "text": "new"},
                          _resolve, _media) == Edit("WA-msg_t", "new")
    with pytest.raises(UnsendableMessage):
        build_outgoing("revoke", {"target": {"message_id": "msg_never_sent"}}, _resolve, _media)


def test_a_contact_name_cannot_add_vcard_lines() -> None:
    card = vcard_for("Ann\nTEL:+15550000000\r\nEMAIL:x@evil.test;a,b\\c", "14155552671")
    lines = card.split("\n")
    assert lines[0] == "BEGIN:VCARD" and lines[-1] == "END:VCARD" and len(lines) == 5
    assert lines[2] == "FN:Ann\\nTEL:+15550000000\\nEMAIL:x@evil.test\\;a\\,b\\\\c"
    assert [line.split(":", 1)[0].split(";", 1)[0] for line in lines] == ["BEGIN", "VERSION", "FN", "TEL", "END"]
