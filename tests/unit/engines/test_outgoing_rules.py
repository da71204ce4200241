from __future__ import annotations

import pytest

from worker_fleet.engines.base import EngineError
from worker_fleet.engines.outgoing import (
    Audio,
    Contact,
    Document,
    Edit,
    Image,
    Location,
    Media,
    MessageRef,
    Outgoing,
    Poll,
    Reaction,
    Revoke,
    Sticker,
    Text,
    Video,
)
from worker_fleet.engines.outgoing_rules import (
    MAX_STICKER_BYTES,
    MAX_TEXT_LENGTH,
    check_outgoing,
    outgoing_kind,
    shows_in_chat,
)

DM = "15550001111@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nTEL;type=CELL;waid=15550002222:+15550002222\nEND:VCARD"
PNG = Media(b"\x89PNG\r\n\x1a\nfake", "image/png")
WEBP = Media(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp")
OGG = Media(b"OggS-opus", "audio/ogg; codecs=opus")
MEMBER = "15550003333@s.whatsapp.net"

ACCEPTED: list[tuple[str, Outgoing]] = [
    (DM, Text("hi")),
    (DM, Text("see https://example.com", link_preview=True, quote=MessageRef("3A1"))),
    (GROUP, Text("reply", quote=MessageRef("3A1", sender_jid=MEMBER))),
    (GROUP, Text("reply to myself", quote=MessageRef("3EB0", from_me=True))),
    (DM, Image(PNG, caption="look")),
    (DM, Video(Media(b"\x00\x00\x00 ftypmp4", "video/mp4"))),
    (DM, Audio(Media(b"ID3", "audio/mpeg"))),
    (DM, Audio(OGG, voice_note=True)),
    (DM, Document(Media(b"%PDF-1.7", "application/pdf", "report.pdf"), caption="Q3")),
    (DM, Sticker(WEBP)),
    (DM, Location(52.52, 13.405, name="Berlin", address="Pariser Platz")),
    (DM, Location(-90, 180)),
    (DM, Contact("Ann", VCARD)),
    (DM, Poll("Lunch?", ("Pizza", "Salad"))),
    (DM, Poll("Pick any", tuple(f"option {n}" for n in range(12)), selectable_count=12)),
    (DM, Reaction(MessageRef("3A1"), "👍")),
    (DM, Reaction(MessageRef("3A1"), "👍🏽")),
    (DM, Reaction(MessageRef("3A1"), "1️⃣")),
    (DM, Reaction(MessageRef("3A1"), "‼️")),
    (DM, Reaction(MessageRef("3A1"), "")),
    (GROUP, Reaction(MessageRef("3A1", sender_jid=MEMBER), "❤️")),
    (DM, Edit("3EB0AA", "fixed")),
    (DM, Revoke(MessageRef("3EB0AA", from_me=True))),
    (GROUP, Revoke(MessageRef("3A1", sender_jid=MEMBER))),
]

REFUSED: list[tuple[str, Outgoing, str]] = [
    (DM, Text(""), "empty"),
    (DM, Text("   \n"), "empty"),
    (DM, Text("x" * (MAX_TEXT_LENGTH + 1)), "at most"),
    (GROUP, Text("reply", quote=MessageRef("3A1")), "sender"),
    (DM, Text("reply", quote=MessageRef("")), "id"),
    (DM, Text("reply", quote=MessageRef("3A1", sender_jid="not-a-jid")), "JID"),
    (DM, Image(Media(b"", "image/png")), "no content"),
    (DM, Image(Media(b"data", "video/mp4")), "cannot carry video/mp4"),
    (DM, Image(Media(b"data", "png")), "MIME"),
    (DM, Video(PNG), "cannot carry image/png"),
    (DM, Audio(Media(b"ID3", "audio/mpeg"), voice_note=True), "voice note"),
    (DM, Sticker(PNG), "image/webp"),
    (DM, Sticker(Media(b"RIFF" + b"\x00" * MAX_STICKER_BYTES, "image/webp")), "at most"),
    (DM, Document(Media(b"%PDF", "application/pdf", "../etc/passwd")), "file name"),
    (DM, Document(Media(b"%PDF", "application/pdf", "  ")), "file name"),
    (DM, Location(91, 0), "latitude"),
    (DM, Location(0, -180.5), "longitude"),
    (DM, Location(float("nan"), 0), "latitude"),
    (DM, Contact("", VCARD), "display name"),
    (DM, Contact("Ann", "Ann, +15550002222"), "vCard"),
    (DM, Poll("", ("a", "b")), "question"),
    (DM, Poll("Q", ("only",)), "2 to 12"),
    (DM, Poll("Q", tuple(str(n) for n in range(13))), "2 to 12"),
    (DM, Poll("Q", ("a", "a")), "unique"),
    (DM, Poll("Q", ("a", " a ")), "unique"),
    (DM, Poll("Q", ("a", "")), "empty"),
    (DM, Poll("Q", ("a", "b"), selectable_count=0), "selectable_count"),
    (DM, Poll("Q", ("a", "b"), selectable_count=3), "selectable_count"),
    (DM, Reaction(MessageRef(""), "👍"), "id"),
    (DM, Reaction(MessageRef("3A1"), "ok"), "one emoji"),
    (DM, Reaction(MessageRef("3A1"), "👍 👍"), "one emoji"),
    (GROUP, Reaction(MessageRef("3A1"), "👍"), "sender"),
    (DM, Edit("", "new"), "id"),
    (DM, Edit("3EB0", " "), "empty"),
    (DM, Revoke(MessageRef("")), "id"),
    (DM, Revoke(MessageRef("3A1", sender_jid=DM)), "own messages"),
    (GROUP, Revoke(MessageRef("3A1")), "sender"),
    ("15550001111", Text("no server"), "JID"),
]


@pytest.mark.parametrize(("to_jid", "message"), ACCEPTED)
def test_what_whatsapp_accepts(to_jid: str, message: Outgoing) -> None:
    check_outgoing(to_jid, message)


@pytest.mark.parametrize(("to_jid", "message", "reason"), REFUSED)
def test_what_whatsapp_refuses_says_why(to_jid: str, message: Outgoing, reason: str) -> None:
    with pytest.raises(EngineError, match=reason):
        check_outgoing(to_jid, message)


def test_kinds_and_which_sends_show_in_the_chat() -> None:
    ref = MessageRef("3A1")
    kinds = {outgoing_kind(message) for _, message in ACCEPTED}
    assert kinds == {"text", "image", "video", "audio", "document", "sticker", "location", "contact", "poll",
                     "reaction", "edit", "revoke"}
    assert all(shows_in_chat(message) for _, message in ACCEPTED[:15])
    assert not any(shows_in_chat(m) for m in (Reaction(ref, "👍"), Edit("3EB0", "x"), Revoke(ref)))
    with pytest.raises(EngineError, match="cannot send"):
        outgoing_kind("hello")  # type: ignore[arg-type]
