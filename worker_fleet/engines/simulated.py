"""A deterministic, in-process WhatsApp for local development and tests.

It behaves like the neonize engine from the host's side: rotating QR codes until "scanned",
credentials kept in a SQLite file at the store path (so a restored store reconnects without a QR,
which is how session migration between workers is exercised), receipts after sends, inbound
messages on demand. What a real phone would do is triggered through `simulate_scan()` and
`inject_inbound()`; the module-level registry lets dev tooling find a running client by session.

Deterministic rules, so tests and dev scripts can rely on them:
- QR codes are ``2@sim,<session_id>,<n>`` with n counting from 0 per start;
- the phone that links is the one given to `pair_phone`, else ``1555`` + 7 digits derived from
  the session id; the LID is 15 digits derived from the phone;
- numbers ending in 0 are not on WhatsApp.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import pathlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from worker_fleet.engines.base import (
    CHAT_PRESENCE_STATES,
    AuthStateChanged,
    ChatPresenceState,
    Connected,
    Disconnected,
    Emit,
    EngineError,
    EngineEvent,
    EngineNotConnectedError,
    LoggedOut,
    MessageReceived,
    PairSuccess,
    QRCode,
    Receipt,
    SendResult,
    e164_digits,
    split_jid,
)
from worker_fleet.engines.event_sink import EventSink
from worker_fleet.engines.simulated_store import LinkedDevice, SimulatedCredentialStore

PLATFORM = "simulated"
# The alphabet WhatsApp uses for linking codes: no 0/O, 1/I confusion.
_PAIRING_CODE_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"


@dataclass(frozen=True, slots=True)
class SimulatedOptions:
    qr_interval: float = 20.0
    # After this many codes without a scan the session gives up, as WhatsApp does; None: never.
    qr_rotations: int | None = None
    delivered_after: float = 0.5
    read_after: float = 1.0


@dataclass(frozen=True, slots=True)
class SentText:
    to_jid: str
    text: str
    quoted_id: str | None
    message_id: str


@dataclass(frozen=True, slots=True)
class ReadMark:
    chat_jid: str
    message_ids: tuple[str, ...]
    sender_jid: str


@dataclass(frozen=True, slots=True)
class PresenceSent:
    chat_jid: str
    state: ChatPresenceState


class SimulatedPhase(Enum):
    IDLE = "idle"
    AWAITING_PAIRING = "awaiting_pairing"
    CONNECTED = "connected"


def _digits_from(seed: str, count: int) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(str(byte % 10) for byte in digest[:count])


def simulated_phone(session_id: str) -> str:
    return "1555" + _digits_from(f"phone:{session_id}", 7)


def simulated_lid(phone: str) -> str:
    return "1" + _digits_from(f"lid:{phone}", 14) + "@lid"


def simulated_pairing_code(session_id: str, phone: str) -> str:
    digest = hashlib.sha256(f"pairing:{session_id}:{phone}".encode()).digest()
    return "".join(_PAIRING_CODE_ALPHABET[byte % len(_PAIRING_CODE_ALPHABET)] for byte in digest[:8])


def simulated_qr_code(session_id: str, rotation: int) -> str:
    return f"2@sim,{session_id},{rotation}"


def simulated_is_on_whatsapp(phone: str) -> bool:
    return not e164_digits(phone).endswith("0")


def _new_message_id(prefix: str) -> str:
    # Unique rather than deterministic: a restarted session must never reuse an id the host has seen.
    return prefix + secrets.token_hex(9).upper()


_RUNNING: dict[str, SimulatedClient] = {}


def running_client(session_id: str) -> SimulatedClient | None:
    """The started simulated client of `session_id` in this process, if any."""
    return _RUNNING.get(session_id)


class SimulatedEngine:
    def __init__(self, options: SimulatedOptions | None = None) -> None:
        self.options = options or SimulatedOptions()

    @property
    def name(self) -> str:
        return "simulated"

    def open(self, session_id: str, store_path: pathlib.Path, emit: Emit) -> SimulatedClient:
        return SimulatedClient(session_id, store_path, emit, self.options)


class SimulatedClient:
    def __init__(self, session_id: str, store_path: pathlib.Path, emit: Emit, options: SimulatedOptions) -> None:
        self._session_id = session_id
        self._store = SimulatedCredentialStore(store_path)
        self._emit = emit
        self._options = options
        self._phase = SimulatedPhase.IDLE
        self._sink: EventSink | None = None
        self._qr_task: asyncio.Task[None] | None = None
        self._receipt_tasks: set[asyncio.Task[None]] = set()
        self._pairing_phone: str | None = None
        self._sent: list[SentText] = []
        self._read_marks: list[ReadMark] = []
        self._presences: list[PresenceSent] = []

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def phase(self) -> SimulatedPhase:
        return self._phase

    @property
    def sent(self) -> tuple[SentText, ...]:
        return tuple(self._sent)

    @property
    def read_marks(self) -> tuple[ReadMark, ...]:
        return tuple(self._read_marks)

    @property
    def presences(self) -> tuple[PresenceSent, ...]:
        return tuple(self._presences)

    async def start(self) -> None:
        if self._phase is not SimulatedPhase.IDLE:
            raise EngineError(f"session {self._session_id} is already started")
        holder = _RUNNING.get(self._session_id)
        if holder is not None and holder is not self:
            raise EngineError(f"session {self._session_id} is already running in this process")
        _RUNNING[self._session_id] = self
        self._sink = EventSink(self._emit, session_id=self._session_id)
        if self._store.load() is not None:
            self._phase = SimulatedPhase.CONNECTED
            self._push(Connected())
            return
        self._phase = SimulatedPhase.AWAITING_PAIRING
        self._pairing_phone = None
        self._push(QRCode(simulated_qr_code(self._session_id, 0), self._options.qr_interval))
        self._qr_task = asyncio.get_running_loop().create_task(self._rotate_qr_codes())

    async def stop(self) -> None:
        await self._halt()

    async def logout(self) -> None:
        self._require(SimulatedPhase.CONNECTED)
        self._store.clear()
        self._push(LoggedOut("logout_requested"))
        await self._halt()

    async def pair_phone(self, phone_e164: str) -> str:
        self._require(SimulatedPhase.AWAITING_PAIRING)
        self._pairing_phone = e164_digits(phone_e164)
        return simulated_pairing_code(self._session_id, self._pairing_phone)

    async def simulate_scan(self) -> PairSuccess:
        """The phone links: scans the current QR code, or enters the pairing code."""
        self._require(SimulatedPhase.AWAITING_PAIRING)
        phone = self._pairing_phone or simulated_phone(self._session_id)
        device = LinkedDevice(phone=phone, jid=f"{phone}:1@s.whatsapp.net", lid=simulated_lid(phone), platform=PLATFORM)
        self._store.save(device)
        await self._cancel_qr_rotation()
        self._phase = SimulatedPhase.CONNECTED
        paired = PairSuccess(phone=device.phone, jid=device.jid, lid=device.lid, platform=device.platform)
        self._push(paired)
        self._push(AuthStateChanged())
        self._push(Connected())
        return paired

    async def send_text(self, to_jid: str, text: str, *, quoted_id: str | None = None) -> SendResult:
        self._require(SimulatedPhase.CONNECTED)
        split_jid(to_jid)
        result = SendResult(message_id=_new_message_id("3EB0"), timestamp=datetime.now(UTC))
        self._sent.append(SentText(to_jid=to_jid, text=text, quoted_id=quoted_id, message_id=result.message_id))
        task = asyncio.get_running_loop().create_task(self._acknowledge(result.message_id, to_jid))
        self._receipt_tasks.add(task)
        task.add_done_callback(self._receipt_tasks.discard)
        return result

    async def inject_inbound(self, from_phone: str, text: str) -> MessageReceived:
        """A contact writes to this session."""
        self._require(SimulatedPhase.CONNECTED)
        phone = e164_digits(from_phone)
        jid = f"{phone}@s.whatsapp.net"
        message = MessageReceived(
            message_id=_new_message_id("3A"),
            chat_jid=jid,
            sender_jid=jid,
            sender_phone=phone,
            sender_lid=simulated_lid(phone),
            timestamp=datetime.now(UTC),
            is_from_me=False,
            is_group=False,
            kind="text",
            text=text,
            raw={"conversation": text},
        )
        self._push(message)
        return message

    async def is_on_whatsapp(self, phone: str) -> bool:
        self._require(SimulatedPhase.CONNECTED)
        return simulated_is_on_whatsapp(phone)

    async def mark_read(self, chat_jid: str, message_ids: Sequence[str], *, sender_jid: str | None = None) -> None:
        self._require(SimulatedPhase.CONNECTED)
        split_jid(chat_jid)
        self._read_marks.append(ReadMark(chat_jid, tuple(message_ids), sender_jid or chat_jid))

    async def send_presence(self, chat_jid: str, state: ChatPresenceState) -> None:
        self._require(SimulatedPhase.CONNECTED)
        split_jid(chat_jid)
        if state not in CHAT_PRESENCE_STATES:
            raise EngineError(f"unknown chat presence {state!r}")
        self._presences.append(PresenceSent(chat_jid, state))

    async def _rotate_qr_codes(self) -> None:
        rotation = 0
        while True:
            await asyncio.sleep(self._options.qr_interval)
            rotation += 1
            if self._options.qr_rotations is not None and rotation >= self._options.qr_rotations:
                self._push(Disconnected("qr_timeout", will_reconnect=False))
                await self._halt()
                return
            self._push(QRCode(simulated_qr_code(self._session_id, rotation), self._options.qr_interval))

    async def _acknowledge(self, message_id: str, chat_jid: str) -> None:
        await asyncio.sleep(self._options.delivered_after)
        self._push(Receipt((message_id,), chat_jid, "delivered", datetime.now(UTC)))
        await asyncio.sleep(self._options.read_after)
        self._push(Receipt((message_id,), chat_jid, "read", datetime.now(UTC)))

    async def _halt(self) -> None:
        self._phase = SimulatedPhase.IDLE
        self._unregister()
        await self._cancel_qr_rotation()
        for task in list(self._receipt_tasks):
            task.cancel()
        await asyncio.gather(*self._receipt_tasks, return_exceptions=True)
        if self._sink is not None:
            await self._sink.close()
            self._sink = None

    async def _cancel_qr_rotation(self) -> None:
        if self._qr_task is not None and self._qr_task is not asyncio.current_task():
            self._qr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._qr_task
        self._qr_task = None

    def _unregister(self) -> None:
        if _RUNNING.get(self._session_id) is self:
            del _RUNNING[self._session_id]

    def _require(self, phase: SimulatedPhase) -> None:
        if self._phase is not phase:
            raise EngineNotConnectedError(
                f"session {self._session_id} is {self._phase.value}, this needs it {phase.value}"
            )

    def _push(self, event: EngineEvent) -> None:
        if self._sink is None:
            raise EngineError(f"session {self._session_id} is not started")
        self._sink.push(event)
