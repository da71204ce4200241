"""The simulated engine's sends of every message type, and inbound media."""

from __future__ import annotations

import asyncio
import pathlib
import shutil
from datetime import UTC, datetime

import pytest

from tests.support.waiting import wait_until_async
from worker_fleet.engines.base import (
    Connected,
    EngineError,
    EngineNotConnectedError,
    MessageReceived,
    Receipt,
)
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
from worker_fleet.engines.simulated import (
    SentMessage,
    SimulatedClient,
    SimulatedEngine,
    SimulatedOptions,
    SimulatedPhase,
)

FAST = SimulatedOptions(qr_interval=0.05, delivered_after=0.02, read_after=0.02)
DM = "15550001111@s.whatsapp.net"
OTHER = "15550004444@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
MEMBER = "15550003333@s.whatsapp.net"
VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nEND:VCARD"
PNG = Media(b"\x89PNG\r\n\x1a\nfake", "image/png", "cat.png")
PDF = Media(b"%PDF-1.7 fake", "application/pdf", "report.pdf")

VISIBLE: list[Outgoing] = [
    Text("hello"),
    Text("see https://example.com", link_preview=True),
    Text("answer", quote=MessageRef("3A0001")),
    Image(PNG, caption="look", quote=MessageRef("3A0002")),
    Video(Media(b"\x00\x00\x00 ftypmp4", "video/mp4")),
    Audio(Media(b"OggS", "audio/ogg; codecs=opus"), voice_note=True),
    Document(PDF, caption="Q3"),
    Sticker(Media(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp")),
    Location(52.52, 13.405, name="Berlin"),
    Contact("Ann", VCARD),
    Poll("Lunch?", ("Pizza", "Salad", "Soup"), selectable_count=2),
]


async def paired(tmp_path: pathlib.Path, options: SimulatedOptions = FAST,
                 store: str = "store.db") -> tuple[SimulatedClient, EventRecorder]:
    recorder = EventRecorder()
    client = SimulatedEngine(options).open("sess-m", tmp_path / store, recorder)
    await client.start()
    if client.phase is SimulatedPhase.AWAITING_PAIRING:  # a restored store connects by itself
        await client.simulate_scan()
    await recorder.wait_for(Connected)
    return client, recorder


@pytest.mark.parametrize("message", VISIBLE, ids=lambda m: type(m).__name__)
def test_visible_sends_are_recorded_then_delivered_and_read(tmp_path: pathlib.Path, message: Outgoing) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        result = await client.send(DM, message)
        await recorder.wait_for(Receipt, where=lambda r: r.kind == "read")
        assert client.sent == (SentMessage(DM, message, result.message_id),)
        assert [(r.kind, r.message_ids, r.chat_jid) for r in recorder.of_type(Receipt)] == [
            ("delivered", (result.message_id,), DM), ("read", (result.message_id,), DM)]
        assert result.message_id.startswith("3EB0")
        await client.stop()

    asyncio.run(scenario())


def test_reactions_edits_and_revokes_get_only_their_result(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        text = await client.send(DM, Text("typo"))
        await recorder.wait_for(Receipt, where=lambda r: r.kind == "read")
        reaction = await client.send(DM, Reaction(MessageRef("3A0001"), "👍"))
        removed = await client.send(DM, Reaction(MessageRef("3A0001"), ""))
        edit = await client.send(DM, Edit(text.message_id, "fixed"))
        revoke = await client.send(DM, Revoke(MessageRef(text.message_id, from_me=True)))
        await wait_until_async(lambda: client.settled, what="no receipt on its way")
        assert len({text.message_id, reaction.message_id, removed.message_id, edit.message_id,
                    revoke.message_id}) == 5
        assert {r.message_ids for r in recorder.of_type(Receipt)} == {(text.message_id,)}
        assert [sent.message for sent in client.sent] == [
            Text("typo"), Reaction(MessageRef("3A0001"), "👍"), Reaction(MessageRef("3A0001"), ""),
            Edit(text.message_id, "fixed"), Revoke(MessageRef(text.message_id, from_me=True))]
        await client.stop()

    asyncio.run(scenario())


def test_edits_only_of_this_sessions_recent_text_messages_in_that_chat(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path, SimulatedOptions(delivered_after=0.01, read_after=0.01, edit_window=0.3))
        text = await client.send(DM, Text("first"))
        image = await client.send(DM, Image(PNG))
        reaction = await client.send(DM, Reaction(MessageRef("3A0001"), "👍"))
        refusals = [
            (Edit("3EB0NEVERSENT", "x"), DM, "not sent by this session"),
            (Edit(text.message_id, "x"), OTHER, "not sent by this session"),
            (Edit(image.message_id, "x"), DM, "only text messages"),
            (Edit(reaction.message_id, "x"), DM, "is a reaction"),
        ]
        for edit, chat, reason in refusals:
            with pytest.raises(EngineError, match=reason):
                await client.send(chat, edit)
        await client.send(DM, Edit(text.message_id, "second"))
        await client.send(DM, Edit(text.message_id, "third"))  # WhatsApp allows several edits
        await asyncio.sleep(0.35)
        with pytest.raises(EngineError, match="older than"):
            await client.send(DM, Edit(text.message_id, "too late"))
        assert len(client.sent) == 5, "refused sends are not recorded"
        await client.stop()

    asyncio.run(scenario())


def test_revokes_once_of_own_messages_and_of_others_only_in_groups(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        own = await client.send(GROUP, Text("oops"))
        delivered = await recorder.wait_for(Receipt)
        await client.send(GROUP, Revoke(MessageRef(own.message_id, from_me=True)))
        with pytest.raises(EngineError, match="was deleted"):
            await client.send(GROUP, Revoke(MessageRef(own.message_id, from_me=True)))
        with pytest.raises(EngineError, match="was deleted"):
            await client.send(GROUP, Edit(own.message_id, "revived?"))
        with pytest.raises(EngineError, match="not sent by this session"):
            await client.send(GROUP, Revoke(MessageRef("3EB0NEVERSENT", from_me=True)))
        with pytest.raises(EngineError, match="own messages"):
            await client.send(DM, Revoke(MessageRef("3A0001", sender_jid=DM)))
        with pytest.raises(EngineError, match="sender"):
            await client.send(GROUP, Revoke(MessageRef("3A0001")))
        # An admin deleting a member's message: WhatsApp decides whether this account may.
        await client.send(GROUP, Revoke(MessageRef("3A0001", sender_jid=MEMBER)))
        await client.stop()
        assert delivered.chat_jid == GROUP and delivered.message_ids == (own.message_id,)

    asyncio.run(scenario())


def test_revoke_window(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path, SimulatedOptions(delivered_after=0.01, read_after=0.01,
                                                            revoke_window=0.05))
        sent = await client.send(DM, Text("hello"))
        await asyncio.sleep(0.1)
        with pytest.raises(EngineError, match="older than"):
            await client.send(DM, Revoke(MessageRef(sent.message_id, from_me=True)))
        await client.stop()

    asyncio.run(scenario())


def test_invalid_messages_are_refused_and_not_recorded(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        refused: list[tuple[str, Outgoing, str]] = [
            (DM, Poll("Q", ("a",)), "2 to 12"),
            (DM, Poll("Q", ("a", "a")), "unique"),
            (DM, Poll("Q", ("a", "b"), selectable_count=3), "selectable_count"),
            (DM, Reaction(MessageRef(""), "👍"), "id"),
            (GROUP, Reaction(MessageRef("3A1"), "👍"), "sender"),
            (DM, Reaction(MessageRef("3A1"), "+1"), "one emoji"),
            (DM, Sticker(PNG), "image/webp"),
            (DM, Audio(Media(b"ID3", "audio/mpeg"), voice_note=True), "voice note"),
            (DM, Location(100, 0), "latitude"),
            (DM, Contact("Ann", "no card"), "vCard"),
            (DM, Text(""), "empty"),
        ]
        for chat, message, reason in refused:
            with pytest.raises(EngineError, match=reason):
                await client.send(chat, message)
        with pytest.raises(EngineError, match="cannot send"):
            await client.send(DM, "plain string")  # type: ignore[arg-type]
        await wait_until_async(lambda: client.settled, what="no receipt on its way")
        assert client.sent == () and recorder.of_type(Receipt) == []
        await client.stop()

    asyncio.run(scenario())


def test_send_history_migrates_with_the_store(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        first, _ = await paired(tmp_path / "a")
        sent = await first.send(DM, Text("before migration"))
        await first.stop()
        (tmp_path / "b").mkdir()
        shutil.copy(tmp_path / "a" / "store.db", tmp_path / "b" / "store.db")
        second, _ = await paired(tmp_path / "b")
        await second.send(DM, Edit(sent.message_id, "after migration"))
        await second.logout()
        # Logging out forgets the device and what it sent.
        again, _ = await paired(tmp_path / "b")
        with pytest.raises(EngineError, match="not sent by this session"):
            await again.send(DM, Edit(sent.message_id, "after logout"))
        await again.stop()

    asyncio.run(scenario())


def test_a_reconnecting_session_is_told_the_receipts_it_missed(tmp_path: pathlib.Path) -> None:
    """WhatsApp keeps a device's receipts: one that reconnects (on another worker, from the
    migrated store) hears those it missed, and those still to come."""
    options = SimulatedOptions(delivered_after=0.02, read_after=0.3, server_dir=str(tmp_path / "server"))

    async def scenario() -> None:
        first, heard_first = await paired(tmp_path / "a", options)
        sent = await first.send(DM, Text("before the crash"))
        await heard_first.wait_for(Receipt, where=lambda r: r.kind == "delivered")
        await first.stop()  # the worker dies before the read receipt
        assert [r.kind for r in heard_first.of_type(Receipt)] == ["delivered"]
        (tmp_path / "b").mkdir()
        shutil.copy(tmp_path / "a" / "store.db", tmp_path / "b" / "store.db")
        second, heard = await paired(tmp_path / "b", options)
        await heard.wait_for(Receipt, where=lambda r: r.kind == "read")
        assert [(r.kind, r.message_ids) for r in heard.of_type(Receipt)] == [
            ("delivered", (sent.message_id,)), ("read", (sent.message_id,))]
        await second.stop()

    asyncio.run(scenario())


def test_inbound_media_carries_details_and_downloads(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        image = await client.inject_inbound("+15550002222", "look", media=PNG)
        document = await client.inject_inbound("15550002222", None, media=PDF)
        sticker = await client.inject_inbound("15550002222", None, kind="sticker",
                                              media=Media(b"RIFFWEBP", "image/webp"))
        voice = await client.inject_inbound("15550002222", None, media=Media(b"OggS", "audio/ogg"),
                                            details={"media": {"voice_note": True, "seconds": 3}})
        text = await client.inject_inbound("15550002222", "plain")
        await recorder.wait_for(MessageReceived, count=5)
        assert recorder.of_type(MessageReceived) == [image, document, sticker, voice, text]

        assert (image.kind, image.text) == ("image", "look")
        assert image.raw == {"media": {"mimetype": "image/png", "file_length": len(PNG.data), "filename": "cat.png",
                                       "caption": "look"}}
        assert (document.kind, document.text, document.raw["media"]["filename"]) == ("document", None, "report.pdf")
        assert sticker.kind == "sticker"
        assert voice.kind == "audio" and voice.raw["media"] == {
            "mimetype": "audio/ogg", "file_length": 4, "voice_note": True, "seconds": 3}
        assert await client.download_media(image) == PNG
        assert await client.download_media(document) == PDF
        assert await client.download_media(sticker) == Media(b"RIFFWEBP", "image/webp")
        assert await client.download_media(text) is None
        await client.stop()

    asyncio.run(scenario())


def test_inbound_non_media_kinds_take_their_details(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path)
        location = {"latitude": 52.52, "longitude": 13.405, "name": "Berlin", "address": None, "live": False}
        shared = await client.inject_inbound("15550002222", None, kind="location", details={"location": location})
        reaction = await client.inject_inbound("15550002222", "👍", kind="reaction", details={
            "reaction": {"target": {"message_id": "3EB0AA", "sender_jid": None, "from_me": True}, "emoji": "👍"}})
        assert (shared.kind, shared.text, shared.raw) == ("location", None, {"location": location})
        assert reaction.raw["reaction"]["target"]["message_id"] == "3EB0AA"
        assert await client.download_media(shared) is None
        await client.stop()

    asyncio.run(scenario())


def test_inbound_injection_is_checked(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path)
        with pytest.raises(EngineError, match="needs media"):
            await client.inject_inbound("15550002222", "x", kind="image")
        with pytest.raises(EngineError, match="has no media"):
            await client.inject_inbound("15550002222", "x", kind="text", media=PNG)
        with pytest.raises(EngineError, match="unknown message kind"):
            await client.inject_inbound("15550002222", "x", kind="hologram")  # type: ignore[arg-type]
        with pytest.raises(EngineError, match="needs text"):
            await client.inject_inbound("15550002222", None)
        forged = MessageReceived("3A-NEVER-INJECTED", DM, DM, None, None, datetime.now(UTC), False, False, "image",
                                 None)
        with pytest.raises(EngineError, match="holds no media"):
            await client.download_media(forged)
        await client.stop()
        with pytest.raises(EngineNotConnectedError):
            await client.download_media(forged)

    asyncio.run(scenario())
