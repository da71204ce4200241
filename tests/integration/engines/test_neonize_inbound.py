"""Inbound messages of every kind through neonize's real dispatch, offline, and their media.

Like test_neonize_engine: events are serialized protobufs handed to the callback neonize gives
Go (`Event.execute`), from another thread, on a client whose connect failed offline."""

from __future__ import annotations

import asyncio
import base64
import json
import pathlib
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.engines.test_neonize_engine import NO_JID, ManualReconnectClock, connected, jid
from tests.integration.engines.test_neonize_outgoing import FakeNeonize
from worker_fleet.engines.base import EngineError, EngineNotConnectedError, MessageReceived
from worker_fleet.engines.neonize_engine import _Attempt
from worker_fleet.engines.neonize_runtime import MessageKey as Key
from worker_fleet.engines.neonize_runtime import neonize_proto, wa_e2e
from worker_fleet.engines.outgoing import Image, Media, MessageRef, Text

CONTACT = jid("15550001111", "s.whatsapp.net")
CONTACT_DEVICE = jid("15550001111", "s.whatsapp.net", 3)
GROUP = jid("120363000000000001", "g.us")
MEMBER = jid("15550003333", "s.whatsapp.net", 2)
OWN_PN, OWN_LID = "15559990000", "99999999999999"
SENT_MS = 1_717_171_717_123
MEDIA_KEYS = {"URL": "https://mmg.whatsapp.net/d/f/x.enc", "directPath": "/v/t62.7118-24/x.enc",
              "mediaKey": b"K" * 32, "fileSHA256": b"S" * 32, "fileEncSHA256": b"E" * 32}
THUMBNAIL = b"\xff\xd8\xff\xe0THUMBNAIL-BYTES"


def own_device() -> Any:
    return neonize_proto.Device(JID=jid(OWN_PN, "s.whatsapp.net", 7), LID=jid(OWN_LID, "lid", 7), Platform="",
                                BussinessName="", PushName="", Initialized=True)


def inbound(message_id: str, body: Any, *, chat: Any = CONTACT, sender: Any = CONTACT_DEVICE,
            from_me: bool = False) -> Any:
    is_group = chat.Server == "g.us"
    source = neonize_proto.MessageSource(Chat=chat, Sender=sender, SenderAlt=NO_JID, IsFromMe=from_me,
                                         IsGroup=is_group, RecipientAlt=NO_JID, BroadcastListOwner=NO_JID)
    info = neonize_proto.MessageInfo(MessageSource=source, ID=message_id, ServerID=0, Type="media", Pushname="Ann",
                                     Timestamp=SENT_MS, Category="", Multicast=False, MediaType="", Edit="")
    return neonize_proto.Message(Info=info, Message=body, IsEphemeral=False, IsViewOnce=False, IsViewOnceV2=False,
                                 IsViewOnceV2Extension=False, IsDocumentWithCaption=False, IsLottieSticker=False,
                                 IsEdit=False, UnavailableRequestID="", RetryCount=0)


def edit_of(target_id: str, text: str) -> Any:
    return wa_e2e.ProtocolMessage(type=wa_e2e.ProtocolMessage.MESSAGE_EDIT, timestampMS=SENT_MS,
                                  key=Key(remoteJID="15550001111@s.whatsapp.net", fromMe=True, ID=target_id),
                                  editedMessage=wa_e2e.Message(conversation=text))


M = wa_e2e.Message
INBOUND: list[tuple[str, Any, dict[str, Any]]] = [
    ("IMG", M(imageMessage=wa_e2e.ImageMessage(
        **MEDIA_KEYS, mimetype="image/jpeg", caption="look", fileLength=1234, width=640, height=480,
        JPEGThumbnail=THUMBNAIL,
        contextInfo=wa_e2e.ContextInfo(stanzaID="3EB0MINE", participant=f"{OWN_PN}@s.whatsapp.net"))), {}),
    ("DOC", M(documentWithCaptionMessage=wa_e2e.FutureProofMessage(message=M(documentMessage=wa_e2e.DocumentMessage(
        **MEDIA_KEYS, mimetype="application/pdf", fileName="report.pdf", caption="Q3", fileLength=99,
        JPEGThumbnail=THUMBNAIL)))), {}),
    ("PTT", M(audioMessage=wa_e2e.AudioMessage(**MEDIA_KEYS, mimetype="audio/ogg; codecs=opus", PTT=True, seconds=7,
                                               fileLength=5000)), {}),
    ("STK", M(stickerMessage=wa_e2e.StickerMessage(**MEDIA_KEYS, mimetype="image/webp", isAnimated=True,
                                                   fileLength=900, width=512, height=512)), {}),
    ("PTV", M(ptvMessage=wa_e2e.VideoMessage(**MEDIA_KEYS, seconds=5, fileLength=70000)), {}),
    ("LOC", M(locationMessage=wa_e2e.LocationMessage(degreesLatitude=52.52, degreesLongitude=13.405, name="Berlin",
                                                     address="Pariser Platz", JPEGThumbnail=THUMBNAIL)), {}),
    ("LIVE", M(liveLocationMessage=wa_e2e.LiveLocationMessage(degreesLatitude=1.5, degreesLongitude=2.5,
                                                              caption="on my way")), {}),
    ("VCF", M(contactMessage=wa_e2e.ContactMessage(displayName="Bob", vcard="BEGIN:VCARD\nFN:Bob\nEND:VCARD")), {}),
    ("VCFS", M(contactsArrayMessage=wa_e2e.ContactsArrayMessage(displayName="2 contacts", contacts=[
        wa_e2e.ContactMessage(displayName="Bob", vcard="BEGIN:VCARD\nFN:Bob\nEND:VCARD"),
        wa_e2e.ContactMessage(displayName="Eve", vcard="BEGIN:VCARD\nFN:Eve\nEND:VCARD")])), {}),
    ("POLL", M(pollCreationMessageV3=wa_e2e.PollCreationMessage(
        name="Lunch?", selectableOptionsCount=1,
        options=[wa_e2e.PollCreationMessage.Option(optionName=name) for name in ("Pizza", "Salad")]),
        messageContextInfo=wa_e2e.MessageContextInfo(messageSecret=b"P" * 32)), {}),
    ("VOTE", M(pollUpdateMessage=wa_e2e.PollUpdateMessage(
        pollCreationMessageKey=Key(remoteJID="15550001111@s.whatsapp.net", fromMe=True, ID="3EB0POLL"))), {}),
    # The contact reacts to a message of ours: from their side the target is not theirs.
    ("REACT", M(reactionMessage=wa_e2e.ReactionMessage(
        key=Key(remoteJID=f"{OWN_PN}@s.whatsapp.net", fromMe=False, ID="3EB0MINE"), text="👍")), {}),
    # A member reacts to a third member's message, then to ours (named by our LID).
    ("REACT-G", M(reactionMessage=wa_e2e.ReactionMessage(
        key=Key(remoteJID="120363000000000001@g.us", fromMe=False, ID="3A-THIRD",
                participant="15550004444:1@s.whatsapp.net"), text="❤️")), {"chat": GROUP, "sender": MEMBER}),
    ("REACT-G-ME", M(reactionMessage=wa_e2e.ReactionMessage(
        key=Key(remoteJID="120363000000000001@g.us", fromMe=False, ID="3EB0OURS", participant=f"{OWN_LID}@lid"),
        text="")), {"chat": GROUP, "sender": MEMBER}),
    # This account reacted from the phone to the contact's message.
    ("REACT-ME", M(reactionMessage=wa_e2e.ReactionMessage(
        key=Key(remoteJID="15550001111@s.whatsapp.net", fromMe=False, ID="3A-THEIRS"), text="😂")),
     {"sender": jid(OWN_PN, "s.whatsapp.net", 0), "from_me": True}),
    ("EDIT", M(editedMessage=wa_e2e.FutureProofMessage(message=M(protocolMessage=edit_of("3A-ORIG", "fixed")))), {}),
    ("EDIT-UNWRAPPED", M(protocolMessage=edit_of("3A-ORIG", "fixed again")), {}),
    ("REVOKE", M(protocolMessage=wa_e2e.ProtocolMessage(
        type=wa_e2e.ProtocolMessage.REVOKE, key=Key(remoteJID="15550001111@s.whatsapp.net", fromMe=True,
                                                   ID="3A-GONE"))), {}),
    # A group admin deletes a message of ours.
    ("REVOKE-ADMIN", M(protocolMessage=wa_e2e.ProtocolMessage(
        type=wa_e2e.ProtocolMessage.REVOKE, key=Key(remoteJID="120363000000000001@g.us", fromMe=False,
                                                   ID="3EB0OURS", participant=f"{OWN_PN}@s.whatsapp.net"))),
     {"chat": GROUP, "sender": MEMBER}),
    ("EPHEMERAL", M(ephemeralMessage=wa_e2e.FutureProofMessage(message=M(extendedTextMessage=wa_e2e.ExtendedTextMessage(
        text="vanishing", contextInfo=wa_e2e.ContextInfo(stanzaID="3A-Q", participant="15550001111:3@s.whatsapp.net"))
    ))), {}),
]


async def received_through_dispatch(tmp_path: pathlib.Path) -> tuple[Any, dict[str, MessageReceived]]:
    clock = ManualReconnectClock()
    client, recorder, go = await connected(tmp_path, clock)
    await go.event(own_device())
    for message_id, body, where in INBOUND:
        await go.event(inbound(message_id, body, **where))
    await recorder.wait_for(MessageReceived, count=len(INBOUND))
    return client, {message.message_id: message for message in recorder.of_type(MessageReceived)}


def test_every_inbound_kind_maps_with_its_details(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, got = await received_through_dispatch(tmp_path)
        assert {message_id: (m.kind, m.text) for message_id, m in got.items()} == {
            "IMG": ("image", "look"), "DOC": ("document", "Q3"), "PTT": ("audio", None), "STK": ("sticker", None),
            "PTV": ("video", None), "LOC": ("location", None), "LIVE": ("location", None), "VCF": ("contact", None),
            "VCFS": ("contact", None), "POLL": ("poll", "Lunch?"), "VOTE": ("poll_vote", None),
            "REACT": ("reaction", "👍"), "REACT-G": ("reaction", "❤️"), "REACT-G-ME": ("reaction", None),
            "REACT-ME": ("reaction", "😂"), "EDIT": ("edit", "fixed"), "EDIT-UNWRAPPED": ("edit", "fixed again"),
            "REVOKE": ("revoke", None), "REVOKE-ADMIN": ("revoke", None), "EPHEMERAL": ("text", "vanishing"),
        }
        assert got["IMG"].raw["media"] == {"mimetype": "image/jpeg", "file_length": 1234, "caption": "look",
                                          "width": 640, "height": 480}
        assert got["IMG"].raw["quote"] == {"message_id": "3EB0MINE", "sender_jid": f"{OWN_PN}@s.whatsapp.net"}
        assert got["DOC"].raw["media"] == {"mimetype": "application/pdf", "file_length": 99, "filename": "report.pdf",
                                          "caption": "Q3"}
        assert got["PTT"].raw["media"] == {"mimetype": "audio/ogg; codecs=opus", "file_length": 5000, "seconds": 7,
                                          "voice_note": True}
        assert got["STK"].raw["media"] == {"mimetype": "image/webp", "file_length": 900, "animated": True,
                                          "width": 512, "height": 512}
        assert got["PTV"].raw["media"] == {"mimetype": "video/mp4", "file_length": 70000, "seconds": 5}
        assert got["LOC"].raw["location"] == {"latitude": 52.52, "longitude": 13.405, "name": "Berlin",
                                              "address": "Pariser Platz", "live": False}
        assert got["LIVE"].raw["location"] == {"latitude": 1.5, "longitude": 2.5, "name": "on my way",
                                               "address": None, "live": True}
        assert got["VCF"].raw["contacts"] == [{"display_name": "Bob", "vcard": "BEGIN:VCARD\nFN:Bob\nEND:VCARD"}]
        assert [card["display_name"] for card in got["VCFS"].raw["contacts"]] == ["Bob", "Eve"]
        assert got["POLL"].raw["poll"] == {"name": "Lunch?", "options": ["Pizza", "Salad"], "selectable_count": 1}
        # No Go client to decrypt it with here (test_neonize_channels decrypts one): it still arrives.
        assert got["VOTE"].raw["poll_vote"] == {"poll_id": "3EB0POLL", "decrypted": False}
        assert got["REACT"].raw["reaction"] == {
            "target": {"message_id": "3EB0MINE", "sender_jid": f"{OWN_PN}@s.whatsapp.net", "from_me": True},
            "emoji": "👍"}
        assert got["REACT-G"].raw["reaction"]["target"] == {
            "message_id": "3A-THIRD", "sender_jid": "15550004444@s.whatsapp.net", "from_me": False}
        assert got["REACT-G-ME"].raw["reaction"] == {
            "target": {"message_id": "3EB0OURS", "sender_jid": f"{OWN_LID}@lid", "from_me": True}, "emoji": ""}
        assert got["REACT-ME"].is_from_me and got["REACT-ME"].raw["reaction"]["target"] == {
            "message_id": "3A-THEIRS", "sender_jid": "15550001111@s.whatsapp.net", "from_me": False}
        assert got["EDIT"].raw["edit"] == {"target_id": "3A-ORIG", "text": "fixed"}
        assert got["EDIT-UNWRAPPED"].raw["edit"] == {"target_id": "3A-ORIG", "text": "fixed again"}
        assert got["REVOKE"].raw["revoke"] == {
            "target": {"message_id": "3A-GONE", "sender_jid": "15550001111@s.whatsapp.net", "from_me": False}}
        assert got["REVOKE-ADMIN"].raw["revoke"] == {
            "target": {"message_id": "3EB0OURS", "sender_jid": f"{OWN_PN}@s.whatsapp.net", "from_me": True}}
        assert got["EPHEMERAL"].raw["quote"] == {"message_id": "3A-Q", "sender_jid": "15550001111@s.whatsapp.net"}
        # Targets are MessageRefs as they are: a reaction can be answered or undone with them.
        assert MessageRef(**got["REACT"].raw["reaction"]["target"]) == MessageRef(
            "3EB0MINE", f"{OWN_PN}@s.whatsapp.net", True)
        await client.stop()

    asyncio.run(scenario())


def test_raw_never_carries_bytes(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, got = await received_through_dispatch(tmp_path)
        dumped = json.dumps([m.raw for m in got.values()])
        for secret in (b"K" * 32, b"S" * 32, b"E" * 32, b"P" * 32, THUMBNAIL):
            assert secret.decode(errors="replace") not in dumped
            assert base64.b64encode(secret).decode() not in dumped
        image = got["IMG"].raw["message"]["imageMessage"]
        assert image["directPath"] == "/v/t62.7118-24/x.enc" and image["caption"] == "look"
        assert not {"mediaKey", "fileSHA256", "fileEncSHA256", "JPEGThumbnail"} & set(image)
        assert "messageSecret" not in got["POLL"].raw["message"].get("messageContextInfo", {})
        assert got["IMG"].raw["info"]["ID"] == "IMG"
        await client.stop()

    asyncio.run(scenario())


def test_media_keys_are_held_for_download_and_go_to_neonize_without_thumbnails(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, got = await received_through_dispatch(tmp_path)
        # This attempt's Go client was released after the offline failure: downloads must not reach it.
        with pytest.raises(EngineNotConnectedError):
            await client.download_media(got["IMG"])
        forged = MessageReceived("NEVER-SEEN", "15550001111@s.whatsapp.net", "15550001111@s.whatsapp.net", None,
                                 None, datetime.now(UTC), False, False, "image", None)
        with pytest.raises(EngineError, match="no longer holds") as refused:
            await client.download_media(forged)
        assert not isinstance(refused.value, EngineNotConnectedError)
        assert await client.download_media(got["LOC"]) is None
        assert await client.download_media(got["EPHEMERAL"]) is None

        fake = FakeNeonize()
        client._attempt = _Attempt(generation=99, native=fake)  # type: ignore[arg-type]
        assert await client.download_media(got["IMG"]) == Media(b"downloaded", "image/jpeg")
        assert await client.download_media(got["DOC"]) == Media(b"downloaded", "application/pdf", "report.pdf")
        assert await client.download_media(got["PTV"]) == Media(b"downloaded", "video/mp4")
        image_request, document_request, video_note_request = (call[1] for call in fake.calls)
        assert image_request == wa_e2e.Message(imageMessage=wa_e2e.ImageMessage(
            **MEDIA_KEYS, mimetype="image/jpeg", fileLength=1234))
        assert document_request.documentMessage.fileName == "report.pdf"
        assert not document_request.documentMessage.HasField("JPEGThumbnail")
        assert video_note_request.HasField("videoMessage"), "whatsmeow downloads video notes as videos"
        await client.stop()

    asyncio.run(scenario())


def test_a_send_through_a_released_go_client_never_touches_it(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _, _ = await connected(tmp_path, ManualReconnectClock())
        native = client.native_client
        assert native is not None
        touched: list[str] = []

        def must_not_run(name: str) -> Any:
            async def call(*_args: Any, **_kwargs: Any) -> Any:
                touched.append(name)
                raise AssertionError(f"{name} reached Go")

            return call

        for name in ("upload", "send_message", "download_any"):
            setattr(native, name, must_not_run(name))
        with pytest.raises(EngineNotConnectedError):
            await client.send("15550001111@s.whatsapp.net", Image(Media(b"\x89PNG", "image/png")))
        with pytest.raises(EngineNotConnectedError):
            await client.send("15550001111@s.whatsapp.net", Text("hello", quote=MessageRef("3A1")))
        assert touched == []
        await client.stop()

    asyncio.run(scenario())
