"""The neonize engine against the real neonize library, without a network.

Events are fed through the exact callbacks neonize hands to its Go side in `connect()`
(`NewAClient._connect_refs`: the QR callback, the login-status callback and `Event.execute` for
event code + serialized protobuf), called from another thread as Go does.

Every client dials WhatsApp through a proxy address nobody listens on, so the Go side's connect
fails fast ("failed to dial whatsapp web websocket") whether or not the machine has internet.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import pathlib
import socket
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from worker_fleet.engines.base import (
    AuthStateChanged,
    Connected,
    Disconnected,
    Engine,
    EngineClient,
    EngineNotConnectedError,
    LoggedOut,
    MessageReceived,
    PairSuccess,
    QRCode,
    Receipt,
    StreamReplaced,
    TemporaryBan,
    get_engine,
)
from worker_fleet.engines.neonize_engine import NeonizeClient, NeonizeEngine, NeonizeOptions, NeonizePhase
from worker_fleet.engines.neonize_runtime import neonize_events, neonize_proto, wa_e2e
from worker_fleet.engines.outgoing import Text
from worker_fleet.engines.reconnect import ReconnectPolicy
from worker_fleet.engines.recording import EventRecorder

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
QUIET = 0.3  # how long to watch for events that must not come


class ManualReconnectClock:
    """Stands in for asyncio.sleep before reconnects: records each delay, waits until released."""

    def __init__(self) -> None:
        self.requested: list[float] = []
        self._waiters: list[asyncio.Future[None]] = []

    async def __call__(self, delay: float) -> None:
        self.requested.append(delay)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    @property
    def pending(self) -> int:
        return sum(not waiter.done() for waiter in self._waiters)

    def release(self) -> None:
        next(waiter for waiter in self._waiters if not waiter.done()).set_result(None)


class GoSide:
    """Plays neonize's Go side for one client: calls the callbacks it was given, from a thread."""

    def __init__(self, client: NeonizeClient) -> None:
        native = client.native_client
        assert native is not None
        self._qr, self._login_status, self._event = native._connect_refs[:3]
        self._go_id = native.uuid

    async def qr(self, code: str) -> None:
        await asyncio.to_thread(self._qr, None, code.encode())

    async def login_status(self, status: str) -> None:
        await asyncio.to_thread(self._login_status, None, status.encode())

    async def event(self, message: Any) -> None:
        payload = message.SerializeToString()
        buffer = ctypes.create_string_buffer(payload, len(payload) + 1)
        code = neonize_events.EVENT_TO_INT[type(message)]
        await asyncio.to_thread(self._event, self._go_id, ctypes.addressof(buffer), len(payload), code)


def unreachable_proxy() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def go_id(client: NeonizeClient) -> bytes:
    """The id neonize's Go side knows the client's current attempt by."""
    native = client.native_client
    assert native is not None
    return bytes(native.uuid)


def jid(user: str, server: str, device: int = 0) -> Any:
    return neonize_proto.JID(User=user, Server=server, Device=device, RawAgent=0, Integrator=0, IsEmpty=False)


NO_JID = jid("", "")


def device_event(phone: str, lid_user: str) -> Any:
    return neonize_proto.Device(JID=jid(phone, "s.whatsapp.net", 7), LID=jid(lid_user, "lid", 7), Platform="",
                                BussinessName="", PushName="", Initialized=True)


def message_event(*, message_id: str, chat: Any, sender: Any, sender_alt: Any, body: Any, sent_ms: int,
                  is_group: bool = False, addressing: int | None = None) -> Any:
    source = neonize_proto.MessageSource(Chat=chat, Sender=sender, SenderAlt=sender_alt, IsFromMe=False,
                                         IsGroup=is_group, RecipientAlt=NO_JID, BroadcastListOwner=NO_JID)
    if addressing is not None:
        source.AddressingMode = addressing
    info = neonize_proto.MessageInfo(MessageSource=source, ID=message_id, ServerID=0, Type="text", Pushname="Ann",
                                     Timestamp=sent_ms, Category="", Multicast=False, MediaType="", Edit="")
    return neonize_proto.Message(Info=info, Message=body, IsEphemeral=False, IsViewOnce=False, IsViewOnceV2=False,
                                 IsViewOnceV2Extension=False, IsDocumentWithCaption=False, IsLottieSticker=False,
                                 IsEdit=False, UnavailableRequestID="", RetryCount=0)


def receipt_event(kind: int, chat: Any, ids: list[str], at_seconds: int, sender_alt: Any = NO_JID) -> Any:
    source = neonize_proto.MessageSource(Chat=chat, Sender=chat, SenderAlt=sender_alt, IsFromMe=False, IsGroup=False,
                                         RecipientAlt=NO_JID, BroadcastListOwner=NO_JID)
    return neonize_proto.Receipt(MessageSource=source, MessageIDs=ids, Timestamp=at_seconds, Type=kind)


def open_engine_client(tmp_path: pathlib.Path, clock: ManualReconnectClock, policy: ReconnectPolicy | None = None,
                       session_id: str = "sess-n") -> tuple[NeonizeClient, EventRecorder]:
    options = NeonizeOptions(reconnect=policy or ReconnectPolicy(base=1.0, cap=8.0, max_attempts=5),
                             proxy_url=unreachable_proxy())
    recorder = EventRecorder()
    engine = NeonizeEngine(options, wait_before_reconnect=clock)
    return engine.open(session_id, tmp_path / "neonize.db", recorder), recorder


async def started_offline(tmp_path: pathlib.Path, clock: ManualReconnectClock,
                          policy: ReconnectPolicy | None = None) -> tuple[NeonizeClient, EventRecorder, GoSide]:
    """A started client whose first connect failed offline; it now waits to retry."""
    client, recorder = open_engine_client(tmp_path, clock, policy)
    await asyncio.wait_for(client.start(), timeout=20)
    await recorder.wait_for(Disconnected)
    return client, recorder, GoSide(client)


async def connected(tmp_path: pathlib.Path, clock: ManualReconnectClock,
                    policy: ReconnectPolicy | None = None) -> tuple[NeonizeClient, EventRecorder, GoSide]:
    client, recorder, go = await started_offline(tmp_path, clock, policy)
    await go.event(neonize_proto.Connected(status=True))
    await recorder.wait_for(Connected)
    recorder.events.clear()
    return client, recorder, go


def test_unreachable_whatsapp_start_fails_fast_as_a_final_disconnect(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        clock = ManualReconnectClock()
        client, recorder = open_engine_client(tmp_path, clock, ReconnectPolicy(max_attempts=0))
        began = time.monotonic()
        await asyncio.wait_for(client.start(), timeout=20)
        disconnected = await recorder.wait_for(Disconnected)
        assert time.monotonic() - began < 10
        assert "websocket" in disconnected.reason
        assert disconnected.will_reconnect is False
        assert client.phase is NeonizePhase.IDLE
        assert clock.requested == []
        assert (tmp_path / "neonize.db").is_file(), "neonize keeps its SQLite store at the given store_path"
        await asyncio.wait_for(client.stop(), timeout=20)

    asyncio.run(scenario())


def test_failed_connects_retry_with_growing_jittered_backoff_then_give_up(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        clock = ManualReconnectClock()
        policy = ReconnectPolicy(base=1.0, cap=8.0, max_attempts=2)
        client, recorder, _ = await started_offline(tmp_path, clock, policy)
        first_go_id = go_id(client)
        (offline,) = recorder.events
        assert isinstance(offline, Disconnected) and offline.will_reconnect is True
        assert client.phase is NeonizePhase.RECONNECT_WAIT
        assert len(clock.requested) == 1 and 0 <= clock.requested[0] < 1.0

        clock.release()
        await recorder.wait_for(Disconnected, count=2)
        assert go_id(client) != first_go_id
        assert len(clock.requested) == 2 and 0 <= clock.requested[1] < 2.0

        clock.release()
        final = await recorder.wait_for(Disconnected, count=3)
        assert final.will_reconnect is False and "websocket" in final.reason
        assert client.phase is NeonizePhase.IDLE
        await asyncio.sleep(QUIET)
        assert len(clock.requested) == 2
        await asyncio.wait_for(client.stop(), timeout=20)

    asyncio.run(scenario())


def test_qr_pairing_and_connect_through_neonize_dispatch(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        clock = ManualReconnectClock()
        client, recorder, go = await started_offline(tmp_path, clock)
        recorder.events.clear()

        await go.qr("2@first,code")
        await go.qr("2@second,code")
        assert [await recorder.wait_for(QRCode, count=n) for n in (1, 2)] == [
            QRCode("2@first,code", 60.0), QRCode("2@second,code", 20.0)]
        assert client.phase is NeonizePhase.AWAITING_PAIRING

        await go.login_status("success")
        await go.event(device_event("15551234567", "98765432109876"))
        await go.event(neonize_proto.PairStatus(ID=jid("15551234567", "s.whatsapp.net", 7), BusinessName="",
                                                Platform="android", Status=neonize_proto.PairStatus.SUCCESS))
        await go.event(neonize_proto.Connected(status=True))
        await recorder.wait_for(Connected)
        assert recorder.events[2:] == [
            PairSuccess(phone="15551234567", jid="15551234567:7@s.whatsapp.net", lid="98765432109876@lid",
                        platform="android"),
            AuthStateChanged(),
            Connected(),
            AuthStateChanged(),
        ]
        assert client.phase is NeonizePhase.CONNECTED
        assert clock.pending == 0, "connecting cancels the retry that the offline failure had scheduled"
        # This attempt's Go client was released after the offline failure: operations must not reach it.
        with pytest.raises(EngineNotConnectedError):
            await client.send("15550001111@s.whatsapp.net", Text("hello"))
        await asyncio.wait_for(client.stop(), timeout=20)

    asyncio.run(scenario())


def test_messages_and_receipts_map_phone_numbers_and_lids(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        clock = ManualReconnectClock()
        client, recorder, go = await connected(tmp_path, clock)
        sent_ms = 1_717_171_717_123
        pn, lid = jid("15550001111", "s.whatsapp.net", 3), jid("12345678901234", "lid", 3)
        group = jid("120363000000000001", "g.us")

        await go.event(message_event(message_id="3A-PN", chat=jid("15550001111", "s.whatsapp.net"), sender=pn,
                                     sender_alt=lid, body=wa_e2e.Message(conversation="hello"), sent_ms=sent_ms,
                                     addressing=neonize_proto.PN))
        await go.event(message_event(
            message_id="3A-LID", chat=group, sender=lid, sender_alt=pn, is_group=True, sent_ms=sent_ms,
            addressing=neonize_proto.LID,
            body=wa_e2e.Message(extendedTextMessage=wa_e2e.ExtendedTextMessage(text="hi group"))))
        await go.event(message_event(
            message_id="3A-IMG", chat=jid("15550001111", "s.whatsapp.net"), sender=pn, sender_alt=NO_JID,
            sent_ms=sent_ms, body=wa_e2e.Message(imageMessage=wa_e2e.ImageMessage(caption="look"))))
        await go.event(receipt_event(neonize_proto.Receipt.READ, jid("15550001111", "s.whatsapp.net"),
                                     ["3EB0AA", "3EB0BB"], 1_717_171_800, sender_alt=jid("12345678901234", "lid")))
        await go.event(receipt_event(neonize_proto.Receipt.SENDER, jid("15550001111", "s.whatsapp.net"),
                                     ["3EB0CC"], 1_717_171_801))
        await go.event(receipt_event(neonize_proto.Receipt.DELIVERED, jid("15550001111", "s.whatsapp.net"),
                                     ["3EB0DD"], 1_717_171_802))
        await recorder.wait_for(Receipt, count=2)

        direct, in_group, image = recorder.of_type(MessageReceived)
        assert (direct.message_id, direct.chat_jid, direct.sender_jid) == (
            "3A-PN", "15550001111@s.whatsapp.net", "15550001111@s.whatsapp.net")
        assert (direct.sender_phone, direct.sender_lid) == ("15550001111", "12345678901234@lid")
        assert (direct.kind, direct.text, direct.is_group, direct.is_from_me) == ("text", "hello", False, False)
        assert direct.timestamp == datetime.fromtimestamp(sent_ms / 1000, UTC)
        assert direct.raw["info"]["ID"] == "3A-PN" and direct.raw["message"] == {"conversation": "hello"}
        assert (in_group.chat_jid, in_group.sender_jid) == ("120363000000000001@g.us", "12345678901234@lid")
        assert (in_group.sender_phone, in_group.sender_lid) == ("15550001111", "12345678901234@lid")
        assert (in_group.is_group, in_group.text) == (True, "hi group")
        assert (image.kind, image.text, image.sender_lid) == ("image", "look", None)
        assert recorder.of_type(Receipt) == [
            Receipt(("3EB0AA", "3EB0BB"), "15550001111@s.whatsapp.net", "read",
                    datetime.fromtimestamp(1_717_171_800, UTC), sender_phone="15550001111",
                    sender_lid="12345678901234@lid"),
            Receipt(("3EB0DD",), "15550001111@s.whatsapp.net", "delivered",
                    datetime.fromtimestamp(1_717_171_802, UTC), sender_phone="15550001111"),
        ]
        assert len(recorder.of_type(AuthStateChanged)) == 3, "each decrypted message changes the key store"
        await asyncio.wait_for(client.stop(), timeout=20)

    asyncio.run(scenario())


def test_disconnect_waits_for_whatsmeow_then_reconnects_with_a_fresh_client(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        clock = ManualReconnectClock()
        client, recorder, go = await connected(tmp_path, clock)
        clock.requested.clear()

        await go.event(neonize_proto.Disconnected(status=True))
        assert await recorder.wait_for(Disconnected) == Disconnected("connection_lost", will_reconnect=True)
        assert client.phase is NeonizePhase.RECONNECT_WAIT
        assert clock.pending == 1 and 0 <= clock.requested[0] < 1.0

        # whatsmeow's own immediate reconnect succeeds: the scheduled one is called off.
        await go.event(neonize_proto.Connected(status=True))
        await recorder.wait_for(Connected)
        assert clock.pending == 0 and client.phase is NeonizePhase.CONNECTED

        node = neonize_proto.Node(Tag="failure")
        await go.event(neonize_proto.ConnectFailure(Reason=neonize_proto.SERVICE_UNAVAILABLE, Message="try later",
                                                    Raw=node))
        await go.event(neonize_proto.Disconnected(status=True))
        dropped = await recorder.wait_for(Disconnected, count=2)
        assert dropped == Disconnected("connect_failure:service_unavailable: try later", will_reconnect=True)
        assert 0 <= clock.requested[1] < 1.0, "a Connected in between resets the backoff"

        first_go_id = go_id(client)
        clock.release()
        retried = await recorder.wait_for(Disconnected, count=3)
        assert go_id(client) != first_go_id, "the retry runs on a fresh Go client"
        assert "websocket" in retried.reason and retried.will_reconnect is True
        assert len(clock.requested) == 3 and 0 <= clock.requested[2] < 2.0

        # Callbacks of the superseded client no longer count.
        await go.event(neonize_proto.Connected(status=True))
        await asyncio.sleep(QUIET)
        assert len(recorder.of_type(Connected)) == 1
        await asyncio.wait_for(client.stop(), timeout=20)
        assert clock.pending == 0

    asyncio.run(scenario())


def test_logged_out_never_reconnects_and_deletes_nothing(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        clock = ManualReconnectClock()
        client, recorder, go = await connected(tmp_path, clock)
        clock.requested.clear()

        await go.event(neonize_proto.LoggedOut(OnConnect=False, Reason=neonize_proto.LOGGED_OUT))
        assert await recorder.wait_for(LoggedOut) == LoggedOut("logged_out")
        await go.event(neonize_proto.Disconnected(status=True))
        await asyncio.sleep(QUIET)
        assert recorder.events == [LoggedOut("logged_out")]
        assert clock.requested == [] and client.phase is NeonizePhase.IDLE
        assert (tmp_path / "neonize.db").is_file()
        await asyncio.wait_for(client.stop(), timeout=20)

    asyncio.run(scenario())


def test_stream_replaced_stops_without_fighting_back(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        clock = ManualReconnectClock()
        client, recorder, go = await connected(tmp_path, clock)
        clock.requested.clear()

        await go.event(neonize_proto.StreamReplaced())
        await recorder.wait_for(StreamReplaced)
        await go.event(neonize_proto.Disconnected(status=True))
        await go.event(neonize_proto.StreamReplaced())
        await asyncio.sleep(QUIET)
        assert recorder.events == [StreamReplaced()]
        assert clock.requested == [] and client.phase is NeonizePhase.IDLE
        await asyncio.wait_for(client.stop(), timeout=20)

    asyncio.run(scenario())


def test_temporary_ban_ends_the_session_with_its_expiry(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        clock = ManualReconnectClock()
        client, recorder, go = await connected(tmp_path, clock)
        clock.requested.clear()

        await go.event(neonize_proto.TemporaryBan(Code=neonize_proto.TemporaryBan.SEND_TO_TOO_MANY_PEOPLE,
                                                  Expire=3600))
        assert await recorder.wait_for(TemporaryBan) == TemporaryBan("send_to_too_many_people", 3600.0)
        await go.event(neonize_proto.Disconnected(status=True))
        await asyncio.sleep(QUIET)
        assert clock.requested == [] and client.phase is NeonizePhase.IDLE
        await asyncio.wait_for(client.stop(), timeout=20)

    asyncio.run(scenario())


def test_unscanned_qr_timeout_ends_the_session(tmp_path: pathlib.Path) -> None:
    async def scenario() -> None:
        clock = ManualReconnectClock()
        client, recorder, go = await started_offline(tmp_path, clock)
        recorder.events.clear()
        await go.qr("2@only,code")
        await recorder.wait_for(QRCode)
        await go.login_status("timeout")
        assert await recorder.wait_for(Disconnected) == Disconnected("qr_timeout", will_reconnect=False)
        assert client.phase is NeonizePhase.IDLE and clock.pending == 0
        await asyncio.wait_for(client.stop(), timeout=20)

    asyncio.run(scenario())


def test_concurrent_starts_in_one_process_do_not_abort_it(tmp_path: pathlib.Path) -> None:
    # Run in a child process: if Go aborted ("concurrent map writes"), only the child would die.
    script = textwrap.dedent(f"""
        import asyncio, json, pathlib
        from worker_fleet.engines.base import Disconnected
        from worker_fleet.engines.neonize_engine import NeonizeEngine, NeonizeOptions
        from worker_fleet.engines.reconnect import ReconnectPolicy
        from worker_fleet.engines.recording import EventRecorder

        async def main():
            options = NeonizeOptions(reconnect=ReconnectPolicy(max_attempts=0), proxy_url={unreachable_proxy()!r})
            engine = NeonizeEngine(options)
            base = pathlib.Path({str(tmp_path)!r})
            recorders = [EventRecorder() for _ in range(20)]
            clients = [engine.open(f"s{{n}}", base / f"s{{n}}.db", rec) for n, rec in enumerate(recorders)]
            await asyncio.wait_for(asyncio.gather(*(c.start() for c in clients)), 60)
            outcomes = [await rec.wait_for(Disconnected, timeout=30) for rec in recorders]
            await asyncio.gather(*(c.stop() for c in clients))
            print(json.dumps([o.will_reconnect for o in outcomes]))

        asyncio.run(main())
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False] * 20


def test_neonize_is_available_by_name_and_implements_the_interface(tmp_path: pathlib.Path) -> None:
    engine = get_engine("neonize")
    assert isinstance(engine, Engine) and engine.name == "neonize"
    assert isinstance(engine.open("sess-i", tmp_path / "neonize.db", EventRecorder()), EngineClient)


def test_loading_the_engine_leaves_the_root_logger_alone() -> None:
    # neonize calls logging.basicConfig(level=INFO) when imported; the engine must undo that.
    script = textwrap.dedent("""
        import json, logging
        import worker_fleet.engines.neonize_engine
        root = logging.getLogger()
        print(json.dumps([len(root.handlers), root.level]))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [0, logging.WARNING]
