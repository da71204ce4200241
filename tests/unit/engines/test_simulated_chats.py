"""Chats in the simulated WhatsApp: settings, the history burst after linking (batch by batch, the
last one final) and a chat read on the phone, the same engine events the neonize engine emits;
and the worker's history intake, which filters them by the session's `history_sync` setting."""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import pickle
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.engines.test_simulated_engine import FAST, open_client, paired
from whatsam.contracts.events import HistoryBatchEvent, SessionHistorySyncedEvent
from whatsam.messaging.record import inbound_message_id
from worker_fleet.engines.base import Connected, EngineNotConnectedError
from worker_fleet.engines.chats import HISTORY_BATCH_MESSAGES, ChatRead, HistoryBatch
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.simulated_chats import history_phone, simulated_history
from worker_fleet.history import RECENT_DAYS, HistoryIntake

ANN = "15550001111@s.whatsapp.net"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_chat_settings_need_a_link_and_take_only_whatsapps_timers(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = open_client(tmp_path)
        await client.start()
        with pytest.raises(EngineNotConnectedError):
            await client.set_chat_archived(ANN, True)
        await client.simulate_scan()
        await client.set_chat_archived(ANN, True)
        await client.set_chat_pinned(ANN, True)
        await client.set_chat_muted(ANN, True, (datetime.now(UTC) + timedelta(hours=1)).isoformat())
        await client.set_disappearing_timer(ANN, 604800)
        settings = client.chat_settings(ANN)
        assert (settings.archived, settings.pinned, settings.muted, settings.disappearing_seconds) == (
            True, True, True, 604800)
        await client.set_chat_muted(ANN, False)
        assert not client.chat_settings(ANN).muted and client.chat_settings(ANN).muted_until is None
        with pytest.raises(EngineRefusedError, match=r"^engine_request_invalid: "):
            await client.set_disappearing_timer(ANN, 3600)
        with pytest.raises(EngineRefusedError, match=r"^engine_request_invalid: "):
            await client.set_chat_muted(ANN, True, "2020-01-01T00:00:00+00:00")
        await client.stop()

    asyncio.run(scenario())


def test_the_burst_is_made_batch_by_batch() -> None:
    batches = simulated_history("ses_x", 260, NOW, "15551234567:1@s.whatsapp.net")
    first = next(batches)
    assert len(first.messages) == HISTORY_BATCH_MESSAGES and not first.final
    rest = list(batches)
    assert [len(b.messages) for b in rest] == [100, 60] and rest[-1].final and not rest[0].final
    chats = [chat for batch in (first, *rest) for chat in batch.chats]
    assert [c.chat_jid for c in chats][:2] == [f"{history_phone(0)}@s.whatsapp.net",
                                               f"{history_phone(1)}@s.whatsapp.net"]
    assert len(chats) == 10 and chats[0].pinned and chats[0].unread_count == 1
    messages = [m for batch in (first, *rest) for m in batch.messages]
    assert len({m.message_id for m in messages}) == 260
    assert sum(m.timestamp < NOW - timedelta(days=RECENT_DAYS) for m in messages) == 10, "one old message a chat"
    assert pickle.loads(pickle.dumps(first)) == first  # noqa: S301 - crosses the shard pipe, our own bytes
    assert [b.final for b in simulated_history("ses_x", 0, NOW, "me@s.whatsapp.net")] == [True]


def test_history_on_link_and_a_chat_read_on_the_phone(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        options = dataclasses.replace(FAST, history_on_link=120)
        client, recorder = open_client(tmp_path, options=options)
        await client.start()
        await client.simulate_scan()
        await recorder.wait_for(HistoryBatch, where=lambda batch: batch.final)
        kinds = [type(event).__name__ for event in recorder.events]
        assert kinds.index("Connected") < kinds.index("HistoryBatch"), "history comes once linked"
        assert sum(len(batch.messages) for batch in recorder.of_type(HistoryBatch)) == 120

        answer = await client.simulate("history.sync", count=30)
        assert answer == {"messages": 30, "chats": 1}
        await recorder.wait_for(HistoryBatch, where=lambda batch: batch.final, count=2)
        assert await client.simulate("chat.read_on_phone", phone="+15550001111") == {"chat": ANN}
        read = await recorder.wait_for(ChatRead)
        assert read.chat_jid == ANN
        with pytest.raises(EngineRefusedError, match=r"^engine_request_invalid: "):
            await client.simulate("chat.read_on_phone")
        await client.stop()

    asyncio.run(scenario())


def test_paired_sessions_get_no_history_unless_configured(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        await recorder.wait_for(Connected)
        assert recorder.of_type(HistoryBatch) == [] and client.settled
        await client.stop()

    asyncio.run(scenario())


def envelope_counter() -> tuple[list[int], object]:
    seqs: list[int] = []

    def envelope() -> dict[str, object]:
        seqs.append(len(seqs) + 1)
        return {"session_id": "ses_x", "tenant_id": "usr_x", "seq": seqs[-1]}

    return seqs, envelope


@pytest.mark.parametrize(("policy", "messages"), [("full", 260), ("recent", 250), ("none", 0)])
def test_the_worker_keeps_what_the_setting_says_and_announces_once(policy: str, messages: int) -> None:
    asked: list[str] = []
    intake = HistoryIntake(lambda session_id: asked.append(session_id) or policy, now=lambda: NOW)
    _, envelope = envelope_counter()
    published = [event for batch in simulated_history("ses_x", 260, NOW, "me@s.whatsapp.net")
                 for event in intake.events("ses_x", batch, envelope)]  # type: ignore[arg-type]
    assert asked == ["ses_x"], "the setting is read once a sync"
    batches = [e for e in published if isinstance(e, HistoryBatchEvent)]
    done = [e for e in published if isinstance(e, SessionHistorySyncedEvent)]
    assert sum(len(b.messages) for b in batches) == messages
    assert all(len(b.messages) <= HISTORY_BATCH_MESSAGES for b in batches)
    if policy == "none":
        assert done == [] and all(not b.chats and not b.messages and b.identities for b in batches)
        return
    assert [(d.chats, d.messages, d.batches) for d in done] == [(10, messages, len(batches))]
    assert published[-1] is done[0] and [b.index for b in batches] == list(range(len(batches)))
    assert {b.sync_id for b in batches} == {done[0].sync_id}
    first = batches[0].messages[0]
    assert first.message_id == inbound_message_id("ses_x", first.wa_id), "one record with the live message"
    # The next sync reads the setting again.
    list(intake.events("ses_x", HistoryBatch((), (), (), final=True), envelope))  # type: ignore[arg-type]
    assert asked == ["ses_x", "ses_x"]
