"""The one engine interface the worker talks to.

An engine opens one client per WhatsApp session. The client reports everything that happens as
small typed events through the `emit` callback it was opened with; the host never needs to know
which engine produced them.

Conventions shared by every engine:
- phone numbers are E.164 digits without the leading "+" (``"15551234567"``);
- JIDs are strings in WhatsApp's form: ``"15551234567@s.whatsapp.net"``, ``"123456789@lid"``,
  ``"120363...@g.us"``; a linked device's own JID may carry a device suffix (``"1555...:12@..."``).
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from worker_fleet.engines.channels import ChannelOperations
from worker_fleet.engines.chats import ChatEvent, ChatOperations

# Re-exported: the engine's exceptions live in `errors`, shared with `groups`.
from worker_fleet.engines.contacts import ContactOperations
from worker_fleet.engines.errors import EngineError as EngineError
from worker_fleet.engines.errors import EngineNotConnectedError as EngineNotConnectedError
from worker_fleet.engines.groups import GroupEvent, GroupOperations
from worker_fleet.engines.outgoing import Media, Outgoing
from worker_fleet.engines.profile import ContactEvent


@dataclass(frozen=True, slots=True)
class QRCode:
    """A code to show as a QR image; the phone scans it to link this session."""

    code: str
    expires_in: float


@dataclass(frozen=True, slots=True)
class PairSuccess:
    """The phone linked this session. `jid` is the linked device's own JID."""

    phone: str
    jid: str
    lid: str | None
    platform: str | None


@dataclass(frozen=True, slots=True)
class Connected:
    """The socket is up and authenticated; sends are possible."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The socket is down.

    `will_reconnect` tells the host whether the engine is already retrying on its own (with backoff)
    or has given up, so the session needs the host to act.
    """

    reason: str
    will_reconnect: bool = False


@dataclass(frozen=True, slots=True)
class LoggedOut:
    """The device was unlinked. The engine never reconnects; the host deletes the auth state."""

    reason: str


@dataclass(frozen=True, slots=True)
class StreamReplaced:
    """Another client took over this session's socket. The engine stopped and will not fight back."""


@dataclass(frozen=True, slots=True)
class TemporaryBan:
    """WhatsApp banned the number for a while. The engine stopped; `expires_in` is in seconds."""

    code: str
    expires_in: float | None


@dataclass(frozen=True, slots=True)
class AuthStateChanged:
    """The engine's store changed (keys, identities). The host debounces and snapshots it."""


MessageKind = Literal[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contact",
    "poll",
    "poll_vote",
    "reaction",
    "edit",
    "revoke",
    "protocol",
    "unknown",
]


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A message in one of the session's chats (including ones this account sent from another device).

    `text` is the body, caption, poll question, reaction emoji or new text of an edit. `raw` holds
    JSON-safe details, never media content; every engine uses these keys, each only when it applies:

    - ``media``: ``{"mimetype", "file_length", "filename", "caption", "seconds", "voice_note",
      "animated", "width", "height"}`` for image, video, audio, document and sticker messages
      (the bytes come from `EngineClient.download_media`);
    - ``location``: ``{"latitude", "longitude", "name", "address", "live"}``;
    - ``contacts``: a list of ``{"display_name", "vcard"}``;
    - ``poll``: ``{"name", "options", "selectable_count"}``; ``poll_vote``: ``{"poll_id"}``;
    - ``reaction``: ``{"target": TARGET, "emoji"}`` (an empty emoji removes the reaction);
    - ``edit``: ``{"target_id", "text"}``; ``revoke``: ``{"target": TARGET}``;
    - ``quote``: ``{"message_id", "sender_jid"}`` when the message replies to another one.

    TARGET is ``{"message_id", "sender_jid", "from_me"}`` with the fields of `outgoing.MessageRef`,
    from this account's point of view (``from_me``: this account wrote the target; ``sender_jid``
    may be None when unknown). The neonize engine adds ``info`` and ``message`` (its protobufs as
    dicts, with bytes fields such as keys and thumbnails left out) and ``is_ephemeral``,
    ``is_view_once``, ``is_edit``.
    """

    message_id: str
    chat_jid: str
    sender_jid: str
    sender_phone: str | None
    sender_lid: str | None
    timestamp: datetime
    is_from_me: bool
    is_group: bool
    kind: MessageKind
    text: str | None
    raw: dict[str, Any] = field(default_factory=dict, hash=False)


ReceiptKind = Literal["delivered", "read", "played"]


@dataclass(frozen=True, slots=True)
class Receipt:
    """Recipients' acknowledgement of messages this session sent."""

    message_ids: tuple[str, ...]
    chat_jid: str
    kind: ReceiptKind
    timestamp: datetime
    # Who acknowledged (the recipient), by phone digits and LID JID wherever WhatsApp named them.
    sender_phone: str | None = None
    sender_lid: str | None = None


EngineEvent = (
    QRCode
    | PairSuccess
    | Connected
    | Disconnected
    | LoggedOut
    | StreamReplaced
    | TemporaryBan
    | AuthStateChanged
    | MessageReceived
    | Receipt
    | GroupEvent
    | ContactEvent
    | ChatEvent
)

Emit = Callable[[EngineEvent], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: str
    timestamp: datetime


ChatPresenceState = Literal["composing", "recording", "paused"]
CHAT_PRESENCE_STATES: tuple[ChatPresenceState, ...] = ("composing", "recording", "paused")


@runtime_checkable
class EngineClient(GroupOperations, ContactOperations, ChannelOperations, ChatOperations, Protocol):
    """One WhatsApp session held by this worker (its group calls: `groups.GroupOperations`, its
    contact and identity calls: `contacts.ContactOperations`, its channel calls:
    `channels.ChannelOperations`, its chat settings: `chats.ChatOperations`)."""

    @property
    def session_id(self) -> str: ...

    async def start(self) -> None:
        """Connect. With paired credentials in the store it reconnects without a QR code;
        otherwise it emits `QRCode` events until the phone links. Connection failures are
        reported as `Disconnected` events, not raised."""
        ...

    async def stop(self) -> None:
        """Close the socket and keep the credentials."""
        ...

    async def logout(self) -> None:
        """Unlink the device from the account; emits `LoggedOut`."""
        ...

    async def pair_phone(self, phone_e164: str) -> str:
        """Ask WhatsApp for an 8-character code the user types on the phone instead of scanning."""
        ...

    async def send(self, to_jid: str, message: Outgoing) -> SendResult:
        """Send `message` to a chat. Raises `EngineError` when WhatsApp would refuse it (see
        `outgoing_rules`) or the send fails, `EngineNotConnectedError` when not connected.
        Messages that appear in the chat (not reactions, edits, revokes) are later acknowledged
        by `Receipt` events naming the returned id."""
        ...

    async def download_media(self, message: MessageReceived) -> Media | None:
        """The media of an inbound image, video, audio, document or sticker message; None for
        messages without media. Raises `EngineError` when the media cannot be fetched."""
        ...

    async def mark_read(self, chat_jid: str, message_ids: Sequence[str], *, sender_jid: str | None = None) -> None:
        """`sender_jid` is the author of the messages; needed in groups, defaults to the chat."""
        ...

    async def send_presence(self, chat_jid: str, state: ChatPresenceState) -> None: ...


@runtime_checkable
class Engine(Protocol):
    @property
    def name(self) -> str: ...

    def open(self, session_id: str, store_path: pathlib.Path, emit: Emit, *,
             proxy_url: str | None = None) -> EngineClient:
        """A client for the session; `proxy_url` (``http(s)://`` or ``socks5://``) is the
        session's own proxy, used by every connect of this client."""
        ...


ENGINE_NAMES: tuple[str, ...] = ("neonize", "simulated")


def get_engine(name: str) -> Engine:
    """The engine called `name`, with default options.

    Imports are deferred so that the simulated engine works where neonize (an optional extra that
    loads a Go runtime into the process) is not installed.
    """
    if name == "simulated":
        from worker_fleet.engines.simulated import SimulatedEngine

        return SimulatedEngine()
    if name == "neonize":
        from worker_fleet.engines.neonize_engine import NeonizeEngine

        return NeonizeEngine()
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")


_E164_DIGITS = re.compile(r"[1-9]\d{6,14}")


def split_jid(jid: str) -> tuple[str, str]:
    """(user, server) of a JID string; raises `EngineError` if it is not one."""
    user, at, server = jid.strip().rpartition("@")
    if not at or not user or not server:
        raise EngineError(f"not a JID: {jid!r}")
    return user, server


def e164_digits(phone: str) -> str:
    """`phone` as E.164 digits without "+"; raises `EngineError` if it is not one."""
    digits = phone.strip().removeprefix("+")
    if not _E164_DIGITS.fullmatch(digits):
        raise EngineError(f"not an E.164 phone number: {phone!r}")
    return digits
