"""Chats on the neonize engine, through neonize's own client and event dispatch (see
test_neonize_groups): chat settings go out as the app-state patches whatsmeow's builders make,
the disappearing timer through ``SetDisappearingTimer``; history-sync blobs and ``READ_SELF``
receipts come in through the callback neonize gave Go, as event code + serialized protobuf."""

from __future__ import annotations

import pathlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.engines.test_neonize_engine import NO_JID, jid
from tests.integration.engines.test_neonize_groups import FakeGo, as_go_sends, jid_arg, run_connected
from worker_fleet.engines.chats import HISTORY_BATCH_MESSAGES, ChatRead, HistoryBatch
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.neonize_engine import NeonizeClient
from worker_fleet.engines.neonize_runtime import MessageKey, neonize_proto, wa_e2e
from worker_fleet.engines.recording import EventRecorder

ANN = "14155552671@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
SENT = 1_762_000_000  # seconds, as history sync writes message timestamps


def test_disappearing_timer_and_no_app_state(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, *_: Any) -> None:
        fake.answer("SetDisappearingTimer", "")
        await client.set_disappearing_timer(ANN, 604800)
        ((_, chat, length, timer, setting_ts),) = fake.called("SetDisappearingTimer")
        assert jid_arg(chat) == ANN and length == len(chat)
        assert timer == 604800 * 1000 and setting_ts == 0, "neonize passes a timedelta on in milliseconds"
        with pytest.raises(EngineRefusedError, match=r"^engine_request_invalid: "):
            await client.set_disappearing_timer(ANN, 60)
        fake.answer("SetDisappearingTimer", "info query returned status 403: forbidden")
        with pytest.raises(EngineRefusedError, match=r"^engine_operation_failed: .*403"):
            await client.set_disappearing_timer(GROUP, 0)

        # Archive, pin and mute: neonize 0.5.2 has no working app-state call; nothing reaches Go.
        fake.calls.clear()
        for call in (client.set_chat_archived(ANN, True), client.set_chat_pinned(ANN, True),
                     client.set_chat_muted(ANN, True, None)):
            with pytest.raises(EngineRefusedError, match=r"^not_supported_by_engine: "):
                await call
        assert fake.calls == []

    run_connected(tmp_path, scenario)


def web_message(message_id: str, chat: str, text: str, seconds: int, *, from_me: bool = False,
                participant: str = "") -> Any:
    from neonize.proto.waWeb.WAWebProtobufsWeb_pb2 import WebMessageInfo

    key = MessageKey(remoteJID=chat, fromMe=from_me, ID=message_id, participant=participant)
    return WebMessageInfo(key=key, message=wa_e2e.Message(conversation=text), messageTimestamp=seconds)


def history_blob(conversations: list[Any], *, progress: int, mappings: list[tuple[str, str]] = ()) -> Any:
    from neonize.proto.waHistorySync import WAWebProtobufsHistorySync_pb2 as history

    data = history.HistorySync(syncType=history.HistorySync.RECENT, progress=progress,
                               conversations=conversations,
                               phoneNumberToLidMappings=[history.PhoneNumberToLIDMapping(pnJID=pn, lidJID=lid)
                                                         for pn, lid in mappings])
    return as_go_sends(neonize_proto.HistorySync(Data=data))


def conversation(chat: str, messages: list[Any], **fields: Any) -> Any:
    from neonize.proto.waHistorySync import WAWebProtobufsHistorySync_pb2 as history

    return history.Conversation(ID=chat, messages=[history.HistorySyncMsg(message=m, msgOrderID=n + 1)
                                                   for n, m in enumerate(messages)], **fields)


def test_history_blobs_become_batches_and_the_last_blob_ends_the_sync(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, recorder: EventRecorder, go: Any) -> None:
        many = [web_message(f"3AH{n:05d}", ANN, f"m{n}", SENT - n, from_me=n % 2 == 1) for n in range(150)]
        first = history_blob([
            conversation(ANN, many, name="Ann", unreadCount=2, pinned=1_700_000_000, archived=False,
                         conversationTimestamp=SENT, muteEndTime=1_893_456_000_000),
            conversation("status@broadcast", [web_message("3ASTATUS", "status@broadcast", "story", SENT)]),
        ], progress=40, mappings=[(ANN, "100000000000002@lid")])
        await go.event(first)
        batches = [await recorder.wait_for(HistoryBatch, count=n) for n in (1, 2)]
        assert [len(b.messages) for b in batches] == [HISTORY_BATCH_MESSAGES, 50]
        assert not any(b.final for b in batches), "progress 40: more is coming"
        (chat,) = batches[0].chats
        assert (chat.chat_jid, chat.name, chat.unread_count, chat.pinned, chat.archived) == (ANN, "Ann", 2, True,
                                                                                           False)
        assert chat.muted_until == datetime(2030, 1, 1, tzinfo=UTC) and chat.last_activity == datetime.fromtimestamp(
            SENT, UTC)
        assert batches[0].identities == ((ANN, "100000000000002@lid"),) and batches[1].identities == ()
        newest, mine = batches[0].messages[0], batches[0].messages[1]
        assert (newest.message_id, newest.chat_jid, newest.sender_jid, newest.kind, newest.text) == (
            "3AH00000", ANN, ANN, "text", "m0")
        assert newest.timestamp == datetime.fromtimestamp(SENT, UTC) and not newest.from_me
        assert mine.from_me and mine.sender_jid.startswith("15551234567@")

        group_message = web_message("3AG1", GROUP, "in the group", SENT, participant="15550003333@s.whatsapp.net")
        await go.event(history_blob([conversation(GROUP, [group_message], name="Team")], progress=100))
        last = await recorder.wait_for(HistoryBatch, count=3)
        assert last.final and last.messages[0].sender_jid == "15550003333@s.whatsapp.net"
        assert last.chats[0].name == "Team"

    run_connected(tmp_path, scenario)


def test_a_chat_read_on_the_phone(tmp_path: pathlib.Path) -> None:
    async def scenario(client: NeonizeClient, fake: FakeGo, recorder: EventRecorder, go: Any) -> None:
        user, server = ANN.split("@")
        source = neonize_proto.MessageSource(Chat=jid(user, server), Sender=jid("15551234567", "s.whatsapp.net"),
                                             SenderAlt=NO_JID, IsFromMe=True, IsGroup=False, RecipientAlt=NO_JID,
                                             BroadcastListOwner=NO_JID)
        await go.event(neonize_proto.Receipt(MessageSource=source, MessageIDs=["3AX1", "3AX2"], Timestamp=SENT,
                                             Type=neonize_proto.Receipt.READ_SELF))
        read = await recorder.wait_for(ChatRead)
        assert read == ChatRead(chat_jid=ANN, timestamp=datetime.fromtimestamp(SENT, UTC))
        assert recorder.events == [read], "a read on the phone is not a receipt of a sent message"
        assert datetime.now(UTC) - timedelta(days=3650) < read.timestamp

    run_connected(tmp_path, scenario)
