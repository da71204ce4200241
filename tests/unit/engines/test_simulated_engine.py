from __future__ import annotations

import asyncio
import pathlib
import shutil

import pytest

from tests.support.waiting import wait_until_async
from worker_fleet.engines.base import (
    AuthStateChanged,
    Connected,
    Disconnected,
    EngineClient,
    EngineError,
    EngineNotConnectedError,
    LoggedOut,
    MessageReceived,
    PairSuccess,
    QRCode,
    Receipt,
)
from worker_fleet.engines.outgoing import MessageRef, Text
from worker_fleet.engines.recording import EventRecorder
from worker_fleet.engines.simulated import (
    SimulatedClient,
    SimulatedEngine,
    SimulatedOptions,
    SimulatedPhase,
    running_client,
    simulated_lid,
    simulated_phone,
)

FAST = SimulatedOptions(qr_interval=0.05, delivered_after=0.02, read_after=0.02)


def open_client(tmp_path: pathlib.Path, session_id: str = "sess-1", options: SimulatedOptions = FAST,
                store_name: str = "store.db") -> tuple[SimulatedClient, EventRecorder]:
    recorder = EventRecorder()
    return SimulatedEngine(options).open(session_id, tmp_path / store_name, recorder), recorder


async def paired(tmp_path: pathlib.Path, session_id: str = "sess-1") -> tuple[SimulatedClient, EventRecorder]:
    client, recorder = open_client(tmp_path, session_id)
    await client.start()
    await client.simulate_scan()
    await recorder.wait_for(Connected)
    return client, recorder


def test_is_an_engine_client(tmp_path: pathlib.Path) -> None:
    client, _ = open_client(tmp_path)
    assert isinstance(client, EngineClient)


def test_unpaired_start_rotates_deterministic_qr_codes(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = open_client(tmp_path, "sess-qr")
        await client.start()
        assert running_client("sess-qr") is client
        await recorder.wait_for(QRCode, count=3)
        await client.stop()
        codes = [qr.code for qr in recorder.of_type(QRCode)]
        assert codes[:3] == ["2@sim,sess-qr,0", "2@sim,sess-qr,1", "2@sim,sess-qr,2"]
        assert {qr.expires_in for qr in recorder.of_type(QRCode)} == {FAST.qr_interval}
        assert running_client("sess-qr") is None
        assert not recorder.of_type(Connected)

    asyncio.run(scenario())


def test_scan_pairs_persists_credentials_and_stops_the_qr_rotation(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = open_client(tmp_path)
        await client.start()
        await recorder.wait_for(QRCode)
        paired = await client.simulate_scan()
        await recorder.wait_for(Connected)
        phone = simulated_phone("sess-1")
        assert paired == PairSuccess(phone=phone, jid=f"{phone}:1@s.whatsapp.net", lid=simulated_lid(phone),
                                     platform="simulated")
        assert phone.startswith("1555") and len(phone) == 11 and phone.isdigit()
        after_qr = recorder.events[len(recorder.of_type(QRCode)):]
        assert after_qr == [paired, AuthStateChanged(), Connected()]
        qr_count = len(recorder.of_type(QRCode))
        await wait_until_async(lambda: client.settled, what="the QR rotation stopped")
        assert len(recorder.of_type(QRCode)) == qr_count
        assert client.phase is SimulatedPhase.CONNECTED
        await client.stop()
        assert (tmp_path / "store.db").is_file()

    asyncio.run(scenario())


def test_restored_store_reconnects_without_qr(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        first, _ = await paired(tmp_path / "worker-a")
        await first.stop()
        # Session migration: another worker restores the snapshot of the store and starts it.
        (tmp_path / "worker-b").mkdir()
        shutil.copy(tmp_path / "worker-a" / "store.db", tmp_path / "worker-b" / "store.db")
        second, recorder = open_client(tmp_path / "worker-b")
        await second.start()
        await recorder.wait_for(Connected)
        await wait_until_async(lambda: second.settled, what="nothing more scheduled")
        assert recorder.events == [Connected()]
        await second.stop()

    asyncio.run(scenario())


def test_send_returns_an_id_then_delivered_and_read_receipts(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        hello = Text("hello", quote=MessageRef("3A0001"))
        result = await client.send("15550001111@s.whatsapp.net", hello)
        read = await recorder.wait_for(Receipt, where=lambda r: r.kind == "read")
        receipts = recorder.of_type(Receipt)
        assert [r.kind for r in receipts] == ["delivered", "read"]
        assert all(r.message_ids == (result.message_id,) for r in receipts)
        assert read.chat_jid == "15550001111@s.whatsapp.net"
        assert receipts[0].timestamp <= read.timestamp
        assert result.message_id.startswith("3EB0") and len(result.message_id) == 22
        assert client.sent[0].message == hello and client.sent[0].message_id == result.message_id
        other = await client.send("15550001111@s.whatsapp.net", Text("again"))
        assert other.message_id != result.message_id
        await client.stop()

    asyncio.run(scenario())


def test_inbound_message_is_emitted_with_phone_and_lid(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        injected = await client.inject_inbound("+15550002222", "hi there")
        received = await recorder.wait_for(MessageReceived)
        assert received == injected
        assert received.chat_jid == received.sender_jid == "15550002222@s.whatsapp.net"
        assert received.sender_phone == "15550002222"
        assert received.sender_lid == simulated_lid("15550002222")
        assert (received.kind, received.text, received.is_from_me, received.is_group) == ("text", "hi there",
                                                                                         False, False)
        await client.stop()

    asyncio.run(scenario())


def test_logout_clears_credentials_so_the_next_start_shows_a_qr(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = await paired(tmp_path)
        await client.logout()
        assert recorder.of_type(LoggedOut) == [LoggedOut("logout_requested")]
        assert running_client("sess-1") is None
        with pytest.raises(EngineNotConnectedError):
            await client.send("15550001111@s.whatsapp.net", Text("after logout"))
        again, again_recorder = open_client(tmp_path)
        await again.start()
        await again_recorder.wait_for(QRCode)
        assert not again_recorder.of_type(Connected)
        await again.stop()

    asyncio.run(scenario())


def test_pairing_code_flow_links_the_given_phone(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, recorder = open_client(tmp_path)
        await client.start()
        code = await client.pair_phone("+447700900123")
        assert code == await client.pair_phone("447700900123")
        assert len(code) == 8 and code.isalnum() and code.isupper()
        paired_event = await client.simulate_scan()
        assert paired_event.phone == "447700900123"
        assert await recorder.wait_for(PairSuccess) == paired_event
        with pytest.raises(EngineNotConnectedError):
            await client.pair_phone("+447700900123")
        await client.stop()

    asyncio.run(scenario())


def test_operations_need_a_connected_session(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = open_client(tmp_path)
        with pytest.raises(EngineNotConnectedError):
            await client.pair_phone("+15550001111")
        await client.start()
        for operation in (
            client.send("15550001111@s.whatsapp.net", Text("x")),
            client.check_phones(["+15550001111"]),
            client.mark_read("15550001111@s.whatsapp.net", ["3A01"]),
            client.send_presence("15550001111@s.whatsapp.net", "composing"),
            client.inject_inbound("+15550001111", "x"),
            client.logout(),
        ):
            with pytest.raises(EngineNotConnectedError):
                await operation
        await client.stop()

    asyncio.run(scenario())


def test_contacts_presence_and_read_marks(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        client, _ = await paired(tmp_path)
        assert [c.on_whatsapp for c in await client.check_phones(["+15550001111", "15550001110"])] == [True, False]
        with pytest.raises(EngineError):
            await client.check_phones(["not a phone"])
        await client.mark_read("120363000000000001@g.us", ["3A01", "3A02"], sender_jid="15550001111@s.whatsapp.net")
        await client.send_presence("15550001111@s.whatsapp.net", "recording")
        with pytest.raises(EngineError):
            await client.send_presence("15550001111@s.whatsapp.net", "dancing")  # type: ignore[arg-type]
        with pytest.raises(EngineError):
            await client.send("15550001111", Text("no server part"))
        assert client.read_marks[0].message_ids == ("3A01", "3A02")
        assert client.read_marks[0].sender_jid == "15550001111@s.whatsapp.net"
        assert client.presences[0].state == "recording"
        await client.stop()

    asyncio.run(scenario())


def test_unscanned_qr_gives_up_after_configured_rotations(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        options = SimulatedOptions(qr_interval=0.02, qr_rotations=3)
        client, recorder = open_client(tmp_path, options=options)
        await client.start()
        disconnected = await recorder.wait_for(Disconnected)
        assert disconnected == Disconnected("qr_timeout", will_reconnect=False)
        assert len(recorder.of_type(QRCode)) == 3
        assert client.phase is SimulatedPhase.IDLE
        assert running_client("sess-1") is None

    asyncio.run(scenario())


def test_one_session_cannot_run_twice_in_a_process(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        first, _ = open_client(tmp_path, store_name="a.db")
        second, _ = open_client(tmp_path, store_name="b.db")
        await first.start()
        with pytest.raises(EngineError):
            await first.start()
        with pytest.raises(EngineError):
            await second.start()
        await first.stop()
        await second.start()
        assert running_client("sess-1") is second
        await second.stop()

    asyncio.run(scenario())
