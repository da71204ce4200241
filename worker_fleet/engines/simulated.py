"""A deterministic, in-process WhatsApp for local development and tests.

It behaves like the neonize engine from the host's side: rotating QR codes until "scanned",
credentials kept in a SQLite file at the store path (so a restored store reconnects without a QR,
which is how session migration between workers is exercised), receipts after sends, inbound
messages on demand. What a real phone would do is triggered through `simulate_scan()` and
`inject_inbound()`; the module-level registry lets dev tooling find a running client by session.

Sends are checked as WhatsApp checks them: `outgoing_rules.check_outgoing` for the message itself,
and against the session's own history (kept in the store, so it migrates with the session) for
edits (only this session's text messages, in the same chat, within `edit_window`) and revokes
(only this session's messages, in the same chat, once, within `revoke_window`; others' messages
only in groups). Messages that show in the chat get a delivered, then a read receipt; reactions,
edits and revokes get only their `SendResult`.

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
import json
import os
import pathlib
import secrets
from collections import OrderedDict
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, get_args

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
    MessageKind,
    MessageReceived,
    PairSuccess,
    QRCode,
    Receipt,
    SendResult,
    e164_digits,
    split_jid,
)
from worker_fleet.engines.event_sink import EventSink
from worker_fleet.engines.outgoing import Document, Edit, Image, Media, Outgoing, Revoke, Text, Video
from worker_fleet.engines.outgoing_rules import (
    MEDIA_KINDS,
    base_mimetype,
    check_outgoing,
    outgoing_kind,
    shows_in_chat,
)
from worker_fleet.engines.simulated_channels import SimulatedChannels
from worker_fleet.engines.simulated_chats import ChatSettings, SimulatedChats
from worker_fleet.engines.simulated_contacts import PHONE_SERVER, SimulatedContacts
from worker_fleet.engines.simulated_group_others import SimulatedGroupOthers
from worker_fleet.engines.simulated_identity import simulated_is_on_whatsapp as simulated_is_on_whatsapp
from worker_fleet.engines.simulated_identity import simulated_lid as simulated_lid
from worker_fleet.engines.simulated_identity import simulated_phone as simulated_phone
from worker_fleet.engines.simulated_message_events import SimulatedMessageEvents
from worker_fleet.engines.simulated_profile import SimulatedProfile
from worker_fleet.engines.simulated_store import LinkedDevice, ReceiptLedger, SentRecord, SimulatedCredentialStore
from worker_fleet.engines.simulations import Simulations

PLATFORM = "simulated"
# The alphabet WhatsApp uses for linking codes: no 0/O, 1/I confusion.
_PAIRING_CODE_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
_MESSAGE_KINDS: frozenset[str] = frozenset(get_args(MessageKind))
_CAPTIONED_KINDS = frozenset({"image", "video", "document"})
# Injected media kept for download_media; the oldest go first beyond this many.
_HELD_MEDIA = 256


@dataclass(frozen=True, slots=True)
class SimulatedOptions:
    qr_interval: float = 20.0
    # After this many codes without a scan the session gives up, as WhatsApp does; None: never.
    qr_rotations: int | None = None
    delivered_after: float = 0.5
    read_after: float = 1.0
    # How long after sending WhatsApp lets a message be edited, and deleted for everyone (seconds).
    edit_window: float = 15 * 60
    revoke_window: float = 60 * 60 * 60
    # Dev/test only: append every message that "goes out" to this file (JSON lines), so tests
    # can count sends across worker processes, the way WhatsApp's servers would see them.
    wire_log: str | None = None
    # Dev/test only: WhatsApp's side of receipts, a directory shared by every worker. A session
    # that reconnects (on any worker) is told the receipts it was not told yet, and again those
    # told in the last `receipt_replay` seconds (its worker may have died with them).
    server_dir: str | None = None
    receipt_replay: float = 10.0
    # Messages of history the phone sends right after it links (`simulated_chats`); 0: none.
    history_on_link: int = 0


def _append_wire_log(path: str, session_id: str, to_jid: str, message: Outgoing, message_id: str) -> None:
    line = json.dumps({"session_id": session_id, "to": to_jid, "kind": outgoing_kind(message),
                       "text": getattr(message, "text", None), "message_id": message_id})
    # One write of one line with O_APPEND: lines from several processes never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class SentMessage:
    to_jid: str
    message: Outgoing
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


def simulated_pairing_code(session_id: str, phone: str) -> str:
    digest = hashlib.sha256(f"pairing:{session_id}:{phone}".encode()).digest()
    return "".join(_PAIRING_CODE_ALPHABET[byte % len(_PAIRING_CODE_ALPHABET)] for byte in digest[:8])


def simulated_qr_code(session_id: str, rotation: int) -> str:
    return f"2@sim,{session_id},{rotation}"


def _media_kind(media: Media) -> MessageKind:
    family = base_mimetype(media.mimetype).split("/", 1)[0]
    if family == "image":
        return "image"
    if family == "video":
        return "video"
    if family == "audio":
        return "audio"
    return "document"


def _media_details(kind: MessageKind, media: Media, caption: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"mimetype": media.mimetype, "file_length": len(media.data)}
    if media.filename is not None:
        details["filename"] = media.filename
    if kind in _CAPTIONED_KINDS and caption:
        details["caption"] = caption
    if kind == "audio":
        details["voice_note"] = False
    return details


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

    def open(self, session_id: str, store_path: pathlib.Path, emit: Emit, *,
             proxy_url: str | None = None) -> SimulatedClient:
        client = SimulatedClient(session_id, store_path, emit, self.options)
        client.proxy_url = proxy_url  # the simulated WhatsApp has no network: it records the proxy
        return client


class SimulatedClient(SimulatedGroupOthers, SimulatedProfile, SimulatedContacts, SimulatedChannels, SimulatedChats,
                      SimulatedMessageEvents, Simulations):
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
        self._sent: list[SentMessage] = []
        self._inbound_media: OrderedDict[str, Media] = OrderedDict()
        self._read_marks: list[ReadMark] = []
        self._presences: list[PresenceSent] = []
        self._chat_settings: dict[str, ChatSettings] = {}
        self._ledger = (ReceiptLedger(pathlib.Path(options.server_dir) / f"{session_id}.receipts.sqlite3")
                        if options.server_dir else None)

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def phase(self) -> SimulatedPhase:
        return self._phase

    @property
    def settled(self) -> bool:
        """Nothing is scheduled that could still emit an event: no QR rotation running, no
        receipt on its way. What tests wait for before saying an event did not come."""
        return self._qr_task is None and not self._receipt_tasks

    @property
    def sent(self) -> tuple[SentMessage, ...]:
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
            self._replay_receipts()
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
        if self._options.history_on_link:
            self._track(self.send_history(self._options.history_on_link))
        return paired

    async def send(self, to_jid: str, message: Outgoing) -> SendResult:
        self._require(SimulatedPhase.CONNECTED)
        check_outgoing(to_jid, message)
        self._check_group_send(to_jid)
        self._check_channel_send(to_jid)
        if isinstance(message, Text | Image | Video | Document) and message.mention_all:
            message = await self._everyone_mentioned(to_jid, message)
        now = datetime.now(UTC)
        self._check_history(to_jid, message, now)
        result = SendResult(message_id=_new_message_id("3EB0"), timestamp=now)
        self._store.record_sent(
            SentRecord(result.message_id, to_jid, outgoing_kind(message), now.timestamp(), revoked=False)
        )
        if isinstance(message, Revoke):
            self._store.mark_revoked(message.target.message_id)
        self._sent.append(SentMessage(to_jid=to_jid, message=message, message_id=result.message_id))
        self._record_channel_post(to_jid, outgoing_kind(message), getattr(message, "text", None), now.timestamp())
        if self._options.wire_log:
            _append_wire_log(self._options.wire_log, self._session_id, to_jid, message, result.message_id)
        if shows_in_chat(message):
            if self._ledger is not None:
                delivered_at = now.timestamp() + self._options.delivered_after
                self._ledger.expect(result.message_id, to_jid, delivered_at, delivered_at + self._options.read_after)
            self._track(self._acknowledge(result.message_id, to_jid))
        return result

    def _sent_in_memory(self, message_id: str) -> Outgoing | None:
        return next((sent.message for sent in self._sent if sent.message_id == message_id), None)

    async def download_media(self, message: MessageReceived) -> Media | None:
        self._require(SimulatedPhase.CONNECTED)
        if message.kind not in MEDIA_KINDS:
            return None
        media = self._inbound_media.get(message.message_id)
        if media is None:
            raise EngineError(f"session {self._session_id} holds no media for message {message.message_id}")
        return media

    async def inject_inbound(
        self,
        from_phone: str,
        text: str | None = None,
        *,
        media: Media | None = None,
        kind: MessageKind | None = None,
        details: Mapping[str, Any] | None = None,
        wa_id: str | None = None,
    ) -> MessageReceived:
        """A contact writes to this session.

        `text` is the body, or the caption of media. `kind` defaults to ``"text"``, or with
        `media` to its family by MIME type (image, video, audio, else document; stickers must be
        asked for). `details` is merged into `raw` (see `MessageReceived`), e.g.
        ``{"location": {...}}`` for ``kind="location"``; `download_media` returns `media`.
        `wa_id` is the message's WhatsApp id when the caller chose it (a new one otherwise).
        """
        self._require(SimulatedPhase.CONNECTED)
        phone = e164_digits(from_phone)
        kind = kind or (_media_kind(media) if media is not None else "text")
        if kind not in _MESSAGE_KINDS:
            raise EngineError(f"unknown message kind {kind!r}")
        if (kind in MEDIA_KINDS) != (media is not None):
            raise EngineError(f"a {kind} message needs media" if media is None else f"a {kind} message has no media")
        if kind == "text" and not text:
            raise EngineError("a text message needs text")
        raw: dict[str, Any] = {}
        if kind == "text":
            raw["conversation"] = text
        if media is not None:
            raw["media"] = _media_details(kind, media, text)
        for key, value in (details or {}).items():
            current = raw.get(key)
            raw[key] = {**current, **value} if isinstance(current, dict) and isinstance(value, Mapping) else value
        jid = f"{phone}@s.whatsapp.net"
        message = MessageReceived(
            message_id=wa_id or _new_message_id("3A"),
            chat_jid=jid,
            sender_jid=jid,
            sender_phone=phone,
            sender_lid=simulated_lid(phone),
            timestamp=datetime.now(UTC),
            is_from_me=False,
            is_group=False,
            kind=kind,
            text=text or None,
            raw=raw,
        )
        if media is not None:
            self._inbound_media[message.message_id] = media
            while len(self._inbound_media) > _HELD_MEDIA:
                self._inbound_media.popitem(last=False)
        self._push(message)
        return message

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

    def _check_history(self, to_jid: str, message: Outgoing, now: datetime) -> None:
        """What WhatsApp checks against the messages this account sent before."""
        if isinstance(message, Edit):
            target_id, what, window = message.target_id, "edited", self._options.edit_window
        elif isinstance(message, Revoke) and message.target.from_me:
            target_id, what, window = message.target.message_id, "deleted for everyone", self._options.revoke_window
        else:
            return  # others' messages: only group admins may revoke them, WhatsApp decides
        record = self._store.sent_message(target_id)
        if record is None or record.chat_jid != to_jid:
            raise EngineError(f"message {target_id} was not sent by this session to {to_jid}, so it cannot be {what}")
        if record.kind in ("reaction", "edit", "revoke"):
            raise EngineError(f"message {target_id} is a {record.kind}, which cannot be {what}")
        if isinstance(message, Edit) and record.kind != "text":
            raise EngineError(f"message {target_id} is a {record.kind} message; only text messages can be edited")
        if record.revoked:
            raise EngineError(f"message {target_id} was deleted for everyone and cannot be {what}")
        if now.timestamp() - record.sent_at > window:
            raise EngineError(f"message {target_id} is older than {window:.0f} seconds and can no longer be {what}")

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
        await self._receipt_at(message_id, chat_jid, "delivered", self._options.delivered_after)
        await self._receipt_at(message_id, chat_jid, "read", self._options.read_after)

    def _replay_receipts(self) -> None:
        """On reconnect: the receipts WhatsApp holds for this session (see ReceiptLedger)."""
        if self._ledger is None:
            return
        now = datetime.now(UTC).timestamp()
        for due in self._ledger.missed(told_since=now - self._options.receipt_replay):
            self._track(self._receipt_at(due.message_id, due.chat_jid, due.kind, max(0.0, due.due_at - now)))

    async def _receipt_at(self, message_id: str, chat_jid: str, kind: str, delay: float) -> None:
        await asyncio.sleep(delay)
        now = datetime.now(UTC)
        user, server = split_jid(chat_jid)
        phone = user if server == PHONE_SERVER else None  # in a direct chat, the recipient is the chat
        self._push(Receipt((message_id,), chat_jid, "read" if kind == "read" else "delivered", now,
                           sender_phone=phone, sender_lid=simulated_lid(phone) if phone else None))
        if self._ledger is not None:
            self._ledger.told(message_id, kind, now.timestamp())

    def _track(self, receipts: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(receipts)
        self._receipt_tasks.add(task)
        task.add_done_callback(self._receipt_tasks.discard)

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

    def _connected_device(self) -> LinkedDevice:
        self._require(SimulatedPhase.CONNECTED)
        device = self._store.load()
        if device is None:
            raise EngineNotConnectedError(f"session {self._session_id} is not linked")
        return device

    def _require(self, phase: SimulatedPhase) -> None:
        if self._phase is not phase:
            raise EngineNotConnectedError(
                f"session {self._session_id} is {self._phase.value}, this needs it {phase.value}"
            )

    async def _flush_events(self) -> None:
        if self._sink is not None:
            await self._sink.flush()

    def _push(self, event: EngineEvent) -> None:
        if self._sink is None:
            raise EngineError(f"session {self._session_id} is not started")
        self._sink.push(event)
