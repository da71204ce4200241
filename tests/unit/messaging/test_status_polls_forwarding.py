"""Statuses, forwards, view-once and poll tallies as the log stores them and the worker builds them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from whatsam.contracts.polls import option_hash
from whatsam.errors import Conflict, Unprocessable
from whatsam.messaging import recipients
from whatsam.messaging.forwarding import forwarded_content
from whatsam.messaging.polls import poll_of, tally
from whatsam.messaging.record import MessageRecord
from whatsam.messaging.requests import SendMessageRequest
from whatsam.messaging.status import MessageStatus, advances
from whatsam.messaging.status_requests import StatusRequest, background_argb
from worker_fleet.engines.outgoing import Audio, Image, Location, Media, MessageRef, StatusText, Text
from worker_fleet.outgoing_builder import build_outgoing

PNG = b"\x89PNG\r\n\x1a\n"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _record(kind: str, payload: dict[str, Any], *, direction: str = "out", **extra: Any) -> MessageRecord:
    return MessageRecord(message_id="msg_src", session_id="ses_a", tenant_id="t", direction=direction,
                         chat_jid="14155552671@s.whatsapp.net", type=kind, payload=payload,
                         status=MessageStatus.SENT, created_at=NOW, **extra)


def _build(kind: str, payload: dict[str, Any]) -> Any:
    return build_outgoing(kind, payload, lambda ref: MessageRef("WA"), lambda m: Media(PNG, m["mimetype"]))


def test_status_view_once_and_forwarded_payloads_become_engine_messages() -> None:
    assert _build("text", {"text": "Open", "status": {"background_argb": 0xFF1E8C45, "font": 2}}) == StatusText(
        "Open", 0xFF1E8C45, 2)
    image = _build("image", {"media": {"mimetype": "image/png"}, "view_once": True})
    assert isinstance(image, Image) and image.view_once and not image.forwarded
    audio = _build("audio", {"media": {"mimetype": "audio/ogg"}, "view_once": True, "voice_note": True})
    assert isinstance(audio, Audio) and audio.view_once and audio.voice_note
    assert _build("text", {"text": "fw", "forwarded": True}) == Text("fw", forwarded=True)
    assert _build("location", {"latitude": 1.0, "longitude": 2.0, "forwarded": True}) == Location(
        1.0, 2.0, forwarded=True)


def test_status_requests_are_strict() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(StatusRequest)
    text = adapter.validate_python({"type": "text", "text": "hi", "background_color": "#1e8c45", "font": 10})
    assert background_argb(text.background_color) == 0xFF1E8C45 and background_argb(None) is None
    for bad in ({"type": "text", "text": "hi", "font": 3}, {"type": "text", "text": "hi", "font": "2"},
                {"type": "text", "text": ""}, {"type": "text", "text": "x" * 701},
                {"type": "text", "text": "hi", "background_color": "#12345"},
                {"type": "audio", "media": {"url": "https://x/a.ogg"}},
                {"type": "image", "media": {"url": "https://x/a.png"}, "to": "+14155552671"}):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_view_once_only_where_whatsapp_has_it_and_forward_needs_a_message() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(SendMessageRequest)
    for kind in ("image", "video", "audio"):
        assert adapter.validate_python({"type": kind, "to": "+14155552671", "view_once": True,
                                        "media": {"url": "https://x/m"}}).view_once
    for bad in ({"type": "document", "to": "+14155552671", "view_once": True, "media": {"url": "https://x/m"}},
                {"type": "text", "to": "+14155552671", "text": "hi", "view_once": True},
                {"type": "forward", "to": "+14155552671"}, {"type": "forward", "to": "+1", "message_id": ""}):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_channels_are_recipients_and_only_people_count_against_the_cap() -> None:
    assert recipients.to_jid("120363000000000777@newsletter") == "120363000000000777@newsletter"
    assert recipients.is_valid_channel("120363000000000777@newsletter")
    assert not recipients.is_valid_channel("12@newsletter") and not recipients.is_valid_channel("x@newsletter")
    assert recipients.is_person("14155552671@s.whatsapp.net") and recipients.is_person("123456789@lid")
    for other in ("120363000000000777@newsletter", "120363000000000001@g.us", "status@broadcast"):
        assert not recipients.is_person(other)


def test_played_comes_after_read_and_never_goes_back() -> None:
    assert advances(MessageStatus.READ, MessageStatus.PLAYED)
    assert advances(MessageStatus.DELIVERED, MessageStatus.PLAYED)
    assert not advances(MessageStatus.PLAYED, MessageStatus.READ)
    assert not advances(MessageStatus.PLAYED, MessageStatus.FAILED)


def test_forwarded_content_of_sent_and_received_messages() -> None:
    sent = _record("image", {"media": {"key": "k", "mimetype": "image/png"}, "caption": "c", "mentions": ["x"],
                             "reply_to": {"message_id": "msg_q"}, "view_once": True})
    assert forwarded_content(sent) == ("image", {"media": {"key": "k", "mimetype": "image/png"}, "caption": "c",
                                                 "forwarded": True, "forwarded_from": "msg_src"})
    voice = _record("audio", {"media": {"key": "in/k", "mimetype": "audio/ogg"},
                              "details": {"media": {"voice_note": True, "mimetype": "audio/ogg"}}}, direction="in")
    assert forwarded_content(voice)[1] == {"media": {"key": "in/k", "mimetype": "audio/ogg"}, "voice_note": True,
                                           "forwarded": True, "forwarded_from": "msg_src"}
    card = _record("contact", {"details": {"contacts": [{"display_name": "Bob", "vcard": "BEGIN:VCARD"}]}},
                   direction="in")
    assert forwarded_content(card)[1]["display_name"] == "Bob"
    place = _record("location", {"details": {"location": {"latitude": 1.5, "longitude": 2.5, "name": None,
                                                          "live": False}}}, direction="in")
    assert forwarded_content(place)[1] == {"latitude": 1.5, "longitude": 2.5, "forwarded": True,
                                           "forwarded_from": "msg_src"}
    with pytest.raises(Unprocessable, match="cannot be forwarded"):
        forwarded_content(_record("poll", {"poll": {"name": "q", "options": ["a", "b"]}}))
    with pytest.raises(Unprocessable) as missing:
        forwarded_content(_record("image", {"media": None, "details": {}}, direction="in"))
    assert missing.value.code == "media_unavailable"
    with pytest.raises(Conflict):
        forwarded_content(_record("text", {"text": "gone"}, revoked=True))


def test_a_tally_counts_each_voters_latest_options() -> None:
    poll = _record("poll", {"poll": {"name": "Lunch?", "options": ["Tea", "Coffee"], "selectable_count": 1}},
                   poll_votes={"b@s.whatsapp.net": {"options": ["Tea"], "at": "2026-01-01T00:00:02Z"},
                               "a@s.whatsapp.net": {"options": ["Tea"], "at": "2026-01-01T00:00:01Z"},
                               "c@s.whatsapp.net": {"options": [], "at": "2026-01-01T00:00:03Z"}})
    assert tally(poll) == {"message_id": "msg_src", "name": "Lunch?", "selectable_count": 1, "voters": 2,
                           "options": [{"name": "Tea", "count": 2, "voters": ["a@s.whatsapp.net", "b@s.whatsapp.net"]},
                                       {"name": "Coffee", "count": 0, "voters": []}]}
    received = _record("poll", {"details": {"poll": {"name": "Q", "options": ["x", "y"]}}}, direction="in")
    assert poll_of(received) == {"name": "Q", "options": ["x", "y"]}
    with pytest.raises(Unprocessable) as not_a_poll:
        tally(_record("text", {"text": "hi"}))
    assert not_a_poll.value.code == "not_a_poll"
    # whatsmeow's HashPollOptions: the SHA-256 of the option's name.
    assert option_hash("Tea") == hashlib.sha256(b"Tea").hexdigest()
