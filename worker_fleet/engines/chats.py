"""Chats and history sync in the engine interface (spec §3.9): the chat settings every engine
can change through WhatsApp's app state, the history a phone sends after linking, and the
phone reading a chat.

History arrives as `HistoryBatch` events of at most `HISTORY_BATCH_MESSAGES` messages: an
engine converts what WhatsApp sends piece by piece and never holds a whole sync. The last batch
of a sync says so (`final`), so the host can announce it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from whatsam.contracts.chats import DISAPPEARING_TIMERS as DISAPPEARING_TIMERS

if TYPE_CHECKING:  # `base` imports this module
    from worker_fleet.engines.base import MessageKind

# Messages per `HistoryBatch` event: small enough for one events-queue message (256 KiB) with
# previews of every message, large enough that 50,000 messages are a few hundred events.
HISTORY_BATCH_MESSAGES = 100
# A history message keeps this much of its text (the preview and the history both).
HISTORY_TEXT_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    """One old message of a chat. `message_id` is WhatsApp's id."""

    message_id: str
    chat_jid: str
    sender_jid: str
    from_me: bool
    timestamp: datetime
    kind: MessageKind
    text: str | None


@dataclass(frozen=True, slots=True)
class HistoryChat:
    """A chat as the phone had it when it linked."""

    chat_jid: str
    name: str | None
    unread_count: int
    archived: bool
    pinned: bool
    muted_until: datetime | None
    last_activity: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryBatch:
    """A piece of the history the phone sends after linking. `identities` are the
    (phone JID, LID JID) pairs it names; `final` marks the last batch of the sync."""

    chats: tuple[HistoryChat, ...]
    messages: tuple[HistoryMessage, ...]
    identities: tuple[tuple[str, str], ...] = ()
    final: bool = False


@dataclass(frozen=True, slots=True)
class ChatRead:
    """The account read a chat on another device (its phone): everything up to `timestamp`."""

    chat_jid: str
    timestamp: datetime


ChatEvent = HistoryBatch | ChatRead


class ChatOperations(Protocol):
    """Chat settings kept in WhatsApp's app state (they show on every device of the account),
    and the disappearing timer. All need a connected session."""

    async def set_chat_archived(self, chat_jid: str, archived: bool) -> None: ...

    async def set_chat_pinned(self, chat_jid: str, pinned: bool) -> None: ...

    async def set_chat_muted(self, chat_jid: str, muted: bool, until: str | None = None) -> None:
        """Mute until `until` (ISO 8601, in the future), or for good when None; unmute."""
        ...

    async def set_disappearing_timer(self, chat_jid: str, seconds: int) -> None:
        """One of `DISAPPEARING_TIMERS`."""
        ...


CHAT_OPERATIONS = frozenset({"set_chat_archived", "set_chat_pinned", "set_chat_muted", "set_disappearing_timer"})
