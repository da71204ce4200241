"""Outgoing messages on the neonize engine: the pure protobuf builders, and the thin send edge
(upload, preview, send) against a stand-in for neonize's client, so nothing reaches Go."""

from __future__ import annotations

import asyncio
import io
import pathlib
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image as PILImage

from worker_fleet.engines.base import AuthStateChanged, EngineError, EngineNotConnectedError
from worker_fleet.engines.event_sink import EventSink
from worker_fleet.engines.neonize_engine import NeonizeClient, NeonizeEngine, NeonizeOptions, NeonizePhase, _Attempt
from worker_fleet.engines.neonize_mapping import downloadable_from, jid_from_text, message_received_from
from worker_fleet.engines.neonize_outgoing import (
    IMAGE_THUMBNAIL_SIDE,
    LinkPreviewData,
    build_wire_message,
    first_link,
    is_animated_webp,
    jpeg_thumbnail,
    parse_link_preview,
    with_link_preview,
)
from worker_fleet.engines.neonize_runtime import MediaType, NeonizeError, neonize_proto, wa_e2e
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
from worker_fleet.engines.recording import EventRecorder

DM = "15550001111@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
MEMBER_WITH_DEVICE = "15550003333:5@s.whatsapp.net"
MEMBER = "15550003333@s.whatsapp.net"
OWN = "15559990000:7@s.whatsapp.net"
NOW_MS = 1_717_171_717_123
SECRET = bytes(range(32))
VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nTEL;type=CELL;waid=15550002222:+15550002222\nEND:VCARD"
STATIC_WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + bytes(24)
ANIMATED_WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02" + bytes(9) + b"ANIM" + bytes(6)


def png(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), "orange").save(out, format="PNG")
    return out.getvalue()


def upload_response(length: int) -> Any:
    return neonize_proto.UploadResponse(url="https://mmg.whatsapp.net/v/t62/abc", DirectPath="/v/t62/abc",
                                        Handle="", MediaKey=b"k" * 32, FileEncSHA256=b"e" * 32,
                                        FileSHA256=b"s" * 32, FileLength=length)


def build(message: Outgoing, chat: str = DM, *, own: str | None = OWN, upload: Any | None = None) -> Any:
    wire = build_wire_message(message, chat=jid_from_text(chat), own_jid=jid_from_text(own) if own else None,
                              upload=upload, now_ms=NOW_MS, message_secret=SECRET)
    # What goes to Go is the serialized protobuf: it must survive the round trip unchanged.
    assert wa_e2e.Message.FromString(wire.SerializeToString()) == wire
    return wire


def assert_media_fields(part: Any, data: bytes, mimetype: str) -> None:
    assert (part.URL, part.directPath) == ("https://mmg.whatsapp.net/v/t62/abc", "/v/t62/abc")
    assert (part.mediaKey, part.fileEncSHA256, part.fileSHA256) == (b"k" * 32, b"e" * 32, b"s" * 32)
    assert part.fileLength == len(data) and part.mimetype == mimetype
    assert part.mediaKeyTimestamp == NOW_MS // 1000


# -- pure builders ----------------------------------------------------------------------------


def test_plain_text_is_a_conversation_and_a_reply_quotes_by_id_and_author() -> None:
    assert build(Text("hello")) == wa_e2e.Message(conversation="hello")

    one_to_one = build(Text("yes", quote=MessageRef("3A0001"))).extendedTextMessage
    assert one_to_one.text == "yes"
    assert (one_to_one.contextInfo.stanzaID, one_to_one.contextInfo.participant) == ("3A0001", DM)

    in_group = build(Text("yes", quote=MessageRef("3A0002", sender_jid=MEMBER_WITH_DEVICE)), GROUP)
    assert (in_group.extendedTextMessage.contextInfo.stanzaID,
            in_group.extendedTextMessage.contextInfo.participant) == ("3A0002", MEMBER)

    own_message = build(Text("as I said", quote=MessageRef("3EB0AA", from_me=True)), GROUP)
    assert own_message.extendedTextMessage.contextInfo.participant == "15559990000@s.whatsapp.net"
    unknown_own = build(Text("as I said", quote=MessageRef("3EB0AA", from_me=True)), GROUP, own=None)
    assert unknown_own.extendedTextMessage.contextInfo.stanzaID == "3EB0AA"
    assert not unknown_own.extendedTextMessage.contextInfo.HasField("participant")

    preview_wanted = build(Text("see https://example.com", link_preview=True)).extendedTextMessage
    assert preview_wanted.text == "see https://example.com" and not preview_wanted.HasField("contextInfo")


def test_image_carries_the_upload_keys_caption_thumbnail_and_quote() -> None:
    data = png(640, 480)
    wire = build(Image(Media(data, "image/png"), caption="look", quote=MessageRef("3A0001")),
                 upload=upload_response(len(data)))
    assert wire.ListFields()[0][0].name == "imageMessage" and len(wire.ListFields()) == 1
    image = wire.imageMessage
    assert_media_fields(image, data, "image/png")
    assert image.caption == "look" and (image.width, image.height) == (640, 480)
    assert image.JPEGThumbnail[:2] == b"\xff\xd8"
    thumbnail = PILImage.open(io.BytesIO(image.JPEGThumbnail))
    assert max(thumbnail.size) == IMAGE_THUMBNAIL_SIDE and thumbnail.size == (100, 75)
    assert (image.contextInfo.stanzaID, image.contextInfo.participant) == ("3A0001", DM)


def test_unreadable_image_goes_without_thumbnail() -> None:
    data = b"not really a picture"
    image = build(Image(Media(data, "image/jpeg")), upload=upload_response(len(data))).imageMessage
    assert not image.HasField("JPEGThumbnail") and not image.HasField("width")
    assert not image.HasField("caption") and not image.HasField("contextInfo")


def test_video_audio_and_voice_notes() -> None:
    clip = b"\x00\x00\x00\x18ftypmp42"
    video = build(Video(Media(clip, "video/mp4"), caption="clip"), upload=upload_response(len(clip))).videoMessage
    assert_media_fields(video, clip, "video/mp4")
    assert video.caption == "clip"

    voice = b"OggS\x00\x02"
    note = build(Audio(Media(voice, "audio/ogg; codecs=opus"), voice_note=True, quote=MessageRef("3A9")),
                 upload=upload_response(len(voice))).audioMessage
    assert_media_fields(note, voice, "audio/ogg; codecs=opus")
    assert note.PTT is True and note.contextInfo.stanzaID == "3A9"
    song = build(Audio(Media(b"ID3", "audio/mpeg")), upload=upload_response(3)).audioMessage
    assert song.PTT is False and song.HasField("PTT")


def test_documents_keep_their_name_and_a_caption_wraps_them_like_whatsapp_does() -> None:
    pdf = b"%PDF-1.7 body"
    plain = build(Document(Media(pdf, "application/pdf", "report.pdf")), upload=upload_response(len(pdf)))
    assert_media_fields(plain.documentMessage, pdf, "application/pdf")
    assert (plain.documentMessage.fileName, plain.documentMessage.title) == ("report.pdf", "report.pdf")

    captioned = build(Document(Media(pdf, "application/pdf"), caption="Q3", quote=MessageRef("3A1")),
                      upload=upload_response(len(pdf)))
    assert not captioned.HasField("documentMessage")
    inner = captioned.documentWithCaptionMessage.message.documentMessage
    assert (inner.caption, inner.fileName, inner.contextInfo.stanzaID) == ("Q3", "file.pdf", "3A1")


def test_stickers_say_whether_they_move() -> None:
    assert is_animated_webp(ANIMATED_WEBP) and not is_animated_webp(STATIC_WEBP)
    moving = build(Sticker(Media(ANIMATED_WEBP, "image/webp")), upload=upload_response(len(ANIMATED_WEBP)))
    still = build(Sticker(Media(STATIC_WEBP, "image/webp"), quote=MessageRef("3A1")),
                  upload=upload_response(len(STATIC_WEBP)))
    assert_media_fields(moving.stickerMessage, ANIMATED_WEBP, "image/webp")
    assert moving.stickerMessage.isAnimated is True
    assert still.stickerMessage.isAnimated is False and still.stickerMessage.contextInfo.stanzaID == "3A1"


def test_media_needs_its_upload() -> None:
    with pytest.raises(EngineError, match="uploaded"):
        build_wire_message(Image(Media(b"x", "image/png")), chat=jid_from_text(DM))


def test_location_and_contact() -> None:
    location = build(Location(52.52, 13.405, name="Berlin", address="Pariser Platz", quote=MessageRef("3A1")))
    assert location.locationMessage.degreesLatitude == 52.52
    assert location.locationMessage.degreesLongitude == 13.405
    assert (location.locationMessage.name, location.locationMessage.address) == ("Berlin", "Pariser Platz")
    assert location.locationMessage.contextInfo.stanzaID == "3A1"
    bare = build(Location(-33, 151)).locationMessage
    assert not bare.HasField("name") and not bare.HasField("address") and bare.degreesLatitude == -33.0

    contact = build(Contact("Ann", VCARD)).contactMessage
    assert (contact.displayName, contact.vcard) == ("Ann", VCARD)


def test_poll_options_count_and_vote_secret() -> None:
    wire = build(Poll(" Lunch? ", ("Pizza", " Salad ", "Soup"), selectable_count=2,
                      quote=MessageRef("3A1", sender_jid=MEMBER)), GROUP)
    poll = wire.pollCreationMessage
    assert poll.name == "Lunch?"
    assert [option.optionName for option in poll.options] == ["Pizza", "Salad", "Soup"]
    assert poll.selectableOptionsCount == 2
    assert (poll.contextInfo.stanzaID, poll.contextInfo.participant) == ("3A1", MEMBER)
    assert wire.messageContextInfo.messageSecret == SECRET
    fresh = build_wire_message(Poll("Q", ("a", "b")), chat=jid_from_text(DM))
    assert len(fresh.messageContextInfo.messageSecret) == 32 and fresh.messageContextInfo.messageSecret != SECRET


def test_reaction_keys_follow_whatsmeow() -> None:
    to_theirs = build(Reaction(MessageRef("3A0001"), "👍")).reactionMessage
    assert (to_theirs.key.remoteJID, to_theirs.key.fromMe, to_theirs.key.ID) == (DM, False, "3A0001")
    assert not to_theirs.key.HasField("participant")
    assert (to_theirs.text, to_theirs.senderTimestampMS) == ("👍", NOW_MS)

    in_group = build(Reaction(MessageRef("3A0002", sender_jid=MEMBER_WITH_DEVICE), "❤️"), GROUP).reactionMessage
    assert (in_group.key.remoteJID, in_group.key.fromMe, in_group.key.participant) == (GROUP, False, MEMBER)

    removed = build(Reaction(MessageRef("3EB0AA", from_me=True), ""), GROUP).reactionMessage
    assert removed.key.fromMe is True and not removed.key.HasField("participant")
    assert removed.HasField("text") and removed.text == ""


def test_edit_wraps_the_new_text_in_a_protocol_message() -> None:
    wire = build(Edit("3EB0AA", "fixed"))
    protocol = wire.editedMessage.message.protocolMessage
    assert protocol.type == wa_e2e.ProtocolMessage.MESSAGE_EDIT
    assert (protocol.key.remoteJID, protocol.key.fromMe, protocol.key.ID) == (DM, True, "3EB0AA")
    assert protocol.editedMessage == wa_e2e.Message(conversation="fixed")
    assert protocol.timestampMS == NOW_MS


def test_revoke_keys_for_own_and_members_messages() -> None:
    own = build(Revoke(MessageRef("3EB0AA", from_me=True))).protocolMessage
    assert own.type == wa_e2e.ProtocolMessage.REVOKE
    assert (own.key.remoteJID, own.key.fromMe, own.key.ID) == (DM, True, "3EB0AA")
    assert not own.key.HasField("participant")
    also_own = build(Revoke(MessageRef("3EB0BB", from_me=True)), GROUP, own=None).protocolMessage
    assert also_own.key.fromMe is True and not also_own.key.HasField("participant")

    as_admin = build(Revoke(MessageRef("3A0002", sender_jid=MEMBER_WITH_DEVICE)), GROUP).protocolMessage
    assert (as_admin.key.remoteJID, as_admin.key.fromMe, as_admin.key.ID) == (GROUP, False, "3A0002")
    assert as_admin.key.participant == MEMBER


def test_link_preview_from_a_fetched_page() -> None:
    assert first_link("hi, see https://example.com/a?b=1 and https://other.example") == "https://example.com/a?b=1"
    assert first_link("no links here, not even www.example.com") is None
    page = ('<html><head><title>Ignored</title><meta property="og:title" content="Example"/>'
            '<meta property="og:description" content="A page"/><meta property="og:image" content="/cover.png"/>'
            "</head><body></body></html>")
    preview = parse_link_preview("https://example.com/a", page)
    assert preview == LinkPreviewData("https://example.com/a", "Example", "A page", "https://example.com/cover.png")
    assert parse_link_preview("https://example.com/a", "<html><body></body></html>") is None

    thumbnail = jpeg_thumbnail(png(1200, 600), 300)
    assert thumbnail is not None and (thumbnail.width, thumbnail.height) == (300, 150)
    wire = with_link_preview(build(Text("see https://example.com/a")), preview, thumbnail=thumbnail,
                             thumbnail_upload=upload_response(len(thumbnail.jpeg)), now_ms=NOW_MS)
    extended = wire.extendedTextMessage
    assert not wire.HasField("conversation") and extended.text == "see https://example.com/a"
    assert (extended.matchedText, extended.title, extended.description) == ("https://example.com/a", "Example",
                                                                            "A page")
    assert extended.JPEGThumbnail == thumbnail.jpeg and (extended.thumbnailWidth, extended.thumbnailHeight) == (300,
                                                                                                               150)
    assert (extended.thumbnailDirectPath, extended.mediaKey) == ("/v/t62/abc", b"k" * 32)
    assert extended.mediaKeyTimestamp == NOW_MS // 1000

    quoted = with_link_preview(build(Text("see https://example.com/a", quote=MessageRef("3A1"))), preview)
    assert quoted.extendedTextMessage.contextInfo.stanzaID == "3A1"
    assert quoted.extendedTextMessage.title == "Example" and not quoted.extendedTextMessage.HasField("JPEGThumbnail")


def test_what_the_engine_sends_reads_back_as_what_it_meant() -> None:
    # The builders' output through the inbound mapping, as this account's linked phone would see it.
    data = png(32, 32)
    sent: list[tuple[Outgoing, str, dict[str, Any]]] = [
        (Text("hi", quote=MessageRef("3A1")), "text", {"quote": {"message_id": "3A1", "sender_jid": DM}}),
        (Image(Media(data, "image/png"), caption="c"), "image",
         {"media": {"mimetype": "image/png", "file_length": len(data), "caption": "c", "width": 32, "height": 32}}),
        (Audio(Media(b"OggS", "audio/ogg"), voice_note=True), "audio",
         {"media": {"mimetype": "audio/ogg", "file_length": 4, "voice_note": True}}),
        (Document(Media(b"%PDF", "application/pdf", "a.pdf"), caption="c"), "document",
         {"media": {"mimetype": "application/pdf", "file_length": 4, "filename": "a.pdf", "caption": "c"}}),
        (Sticker(Media(ANIMATED_WEBP, "image/webp")), "sticker",
         {"media": {"mimetype": "image/webp", "file_length": len(ANIMATED_WEBP), "animated": True}}),
        (Location(1.5, 2.5, name="here"), "location",
         {"location": {"latitude": 1.5, "longitude": 2.5, "name": "here", "address": None, "live": False}}),
        (Contact("Ann", VCARD), "contact", {"contacts": [{"display_name": "Ann", "vcard": VCARD}]}),
        (Poll("Q", ("a", "b")), "poll", {"poll": {"name": "Q", "options": ["a", "b"], "selectable_count": 1}}),
        (Reaction(MessageRef("3A1"), "👍"), "reaction",
         {"reaction": {"target": {"message_id": "3A1", "sender_jid": DM, "from_me": False}, "emoji": "👍"}}),
        (Edit("3EB0AA", "new"), "edit", {"edit": {"target_id": "3EB0AA", "text": "new"}}),
        (Revoke(MessageRef("3EB0AA", from_me=True)), "revoke",
         {"revoke": {"target": {"message_id": "3EB0AA", "sender_jid": OWN.replace(":7", ""), "from_me": True}}}),
    ]
    own_device = neonize_proto.Device(JID=jid_from_text(OWN))
    for message, kind, details in sent:
        wire = build(message, upload=upload_response(len(getattr(message, "media", Media(b"", "")).data)))
        source = neonize_proto.MessageSource(Chat=jid_from_text(DM), Sender=jid_from_text(OWN), IsFromMe=True)
        event = neonize_proto.Message(Info=neonize_proto.MessageInfo(MessageSource=source, ID="3EB0X",
                                                                     Timestamp=NOW_MS), Message=wire)
        received = message_received_from(event, own_device)
        assert received.kind == kind, message
        assert {key: received.raw[key] for key in details} == details, message
        assert (downloadable_from(wire) is not None) == (kind in ("image", "audio", "document", "sticker"))


# -- the send edge, against a stand-in for neonize's client ----------------------------------


class FakeNeonize:
    """Records what the engine asks of neonize's client; answers like it does."""

    def __init__(self, me: Any | None = None, fail_send: bool = False) -> None:
        self.me = me
        self.fail_send = fail_send
        self.calls: list[tuple[Any, ...]] = []

    async def upload(self, data: bytes, media_type: Any) -> Any:
        self.calls.append(("upload", data, media_type))
        return upload_response(len(data))

    async def send_message(self, to: Any, message: Any) -> Any:
        self.calls.append(("send", to, message))
        if self.fail_send:
            raise NeonizeError("websocket not connected")
        return neonize_proto.SendResponse(ID="3EB0SENT", Timestamp=1_717_171_900)

    async def download_any(self, message: Any) -> bytes:
        self.calls.append(("download", message))
        return b"downloaded"


def with_fake_neonize(tmp_path: pathlib.Path, fake: FakeNeonize, options: NeonizeOptions | None = None,
                      ) -> tuple[NeonizeClient, EventRecorder]:
    """A client whose live connection is `fake`: connected, without Go ever being involved."""
    recorder = EventRecorder()
    client = NeonizeEngine(options).open("sess-f", tmp_path / "neonize.db", recorder)
    client._sink = EventSink(recorder, session_id="sess-f")
    client._attempt = _Attempt(generation=1, native=fake)  # type: ignore[arg-type]
    client._phase = NeonizePhase.CONNECTED
    return client, recorder


def test_media_send_uploads_then_sends_the_built_message(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        own = neonize_proto.Device(JID=jid_from_text(OWN))
        fake = FakeNeonize(me=own)
        client, recorder = with_fake_neonize(tmp_path, fake)
        data = png(64, 64)
        result = await client.send(GROUP, Image(Media(data, "image/png"), caption="look",
                                                 quote=MessageRef("3EB0AA", from_me=True)))
        assert result.message_id == "3EB0SENT"
        assert result.timestamp == datetime.fromtimestamp(1_717_171_900, UTC)
        (upload, send) = fake.calls
        assert upload == ("upload", data, MediaType.MediaImage)
        assert send[1] == jid_from_text(GROUP)
        image = send[2].imageMessage
        assert image.caption == "look" and image.directPath == "/v/t62/abc" and image.fileLength == len(data)
        assert image.contextInfo.participant == "15559990000@s.whatsapp.net", "own quotes name this account"
        await recorder.wait_for(AuthStateChanged)

        fake.calls.clear()
        await client.send(DM, Document(Media(b"%PDF", "application/pdf", "a.pdf")))
        await client.send(DM, Sticker(Media(STATIC_WEBP, "image/webp")))
        await client.send(DM, Audio(Media(b"OggS", "audio/ogg"), voice_note=True))
        await client.send(DM, Video(Media(b"\x00\x00\x00\x18ftyp", "video/mp4")))
        await client.send(DM, Reaction(MessageRef("3A1"), "👍"))
        assert [call[2] for call in fake.calls if call[0] == "upload"] == [
            MediaType.MediaDocument, MediaType.MediaImage, MediaType.MediaAudio, MediaType.MediaVideo]
        assert fake.calls[-1][2].reactionMessage.key.ID == "3A1"
        await client.stop()

    asyncio.run(scenario())


def test_link_previews_are_fetched_only_through_the_hosts_fetcher(tmp_path: pathlib.Path) -> None:
    page = (b'<html><head><meta property="og:title" content="Example"/>'
            b'<meta property="og:image" content="https://cdn.example.com/c.png"/></head></html>')
    cover = png(600, 300)
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        if url == "https://example.com/a":
            return page
        if url == "https://cdn.example.com/c.png":
            return cover
        raise OSError("blocked by the SSRF guard")

    async def scenario() -> None:
        fake = FakeNeonize()
        client, _ = with_fake_neonize(tmp_path, fake, NeonizeOptions(fetch_url=fetch))
        await client.send(DM, Text("look https://example.com/a", link_preview=True))
        assert fetched == ["https://example.com/a", "https://cdn.example.com/c.png"]
        (thumb_upload, send) = fake.calls
        assert thumb_upload[2] is MediaType.MediaLinkThumbnail
        extended = send[2].extendedTextMessage
        assert (extended.title, extended.matchedText) == ("Example", "https://example.com/a")
        assert extended.JPEGThumbnail == thumb_upload[1] and extended.thumbnailWidth == 300

        fake.calls.clear()
        await client.send(DM, Text("internal http://169.254.169.254/latest", link_preview=True))
        assert fetched[-1] == "http://169.254.169.254/latest"
        (send,) = fake.calls
        assert send[2].extendedTextMessage.text == "internal http://169.254.169.254/latest"
        assert not send[2].extendedTextMessage.HasField("title"), "a refused fetch sends the text without preview"

        fake.calls.clear()
        fetched.clear()
        await client.send(DM, Text("https://example.com/a but no preview asked"))
        assert fetched == [] and fake.calls[0][2] == wa_e2e.Message(
            conversation="https://example.com/a but no preview asked")
        await client.stop()

        fake_without_fetcher = FakeNeonize()
        bare, _ = with_fake_neonize(tmp_path, fake_without_fetcher)
        await bare.send(DM, Text("look https://example.com/a", link_preview=True))
        assert fetched == [] and not fake_without_fetcher.calls[0][2].extendedTextMessage.HasField("title")
        await bare.stop()

    asyncio.run(scenario())


def test_send_failures_and_refusals_are_engine_errors(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        fake = FakeNeonize(fail_send=True)
        client, _ = with_fake_neonize(tmp_path, fake)
        with pytest.raises(EngineError, match="send failed: websocket not connected"):
            await client.send(DM, Text("hello"))
        fake.calls.clear()
        with pytest.raises(EngineError, match="2 to 12"):
            await client.send(DM, Poll("Q", ("only",)))
        with pytest.raises(EngineError, match="JID"):
            await client.send("not-a-jid", Text("x"))
        assert fake.calls == [], "refused messages never reach neonize"
        await client.stop()

    asyncio.run(scenario())


def test_sends_on_an_unconnected_client_never_reach_go(tmp_path: pathlib.Path) -> None:
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        return b""

    async def scenario() -> None:
        client = NeonizeEngine(NeonizeOptions(fetch_url=fetch)).open("sess-u", tmp_path / "neonize.db",
                                                                     EventRecorder())
        for message in (Text("see https://example.com", link_preview=True), Image(Media(png(8, 8), "image/png")),
                        Reaction(MessageRef("3A1"), "👍"), Revoke(MessageRef("3EB0", from_me=True))):
            with pytest.raises(EngineNotConnectedError):
                await client.send(DM, message)
        assert client.native_client is None and fetched == []
        assert not (tmp_path / "neonize.db").exists()

    asyncio.run(scenario())
