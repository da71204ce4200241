"""Chats in the simulated WhatsApp (mixed into `SimulatedClient`): chat settings kept per chat,
the history burst a phone sends after linking, and the phone reading a chat. Dev tooling
triggers the last two with ``POST /v1/dev/sessions/{id}/simulate`` types ``history.sync
{count}`` and ``chat.read_on_phone {phone}``.

The burst is deterministic: ``count`` messages over ``max(1, count // 25)`` contacts with
phones ``1415556`` + 4 digits, newest chat first; the oldest message of every chat is 45 days old
(older than what `history_sync: recent` keeps), the others from the last hours; every third
message is from this account. It is produced batch by batch (`simulated_history`) and each
batch handed to the host before the next is made, so no sync is ever held whole.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from worker_fleet.engines.base import EngineEvent, e164_digits, split_jid
from worker_fleet.engines.chats import (
    DISAPPEARING_TIMERS,
    HISTORY_BATCH_MESSAGES,
    ChatRead,
    HistoryBatch,
    HistoryChat,
    HistoryMessage,
)
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.simulated_identity import simulated_lid
from worker_fleet.engines.simulated_store import LinkedDevice

_MESSAGES_PER_CHAT = 25
_OLDEST = timedelta(days=45)


def history_phone(index: int) -> str:
    return f"1415556{index:04d}"


def simulated_history(session_id: str, count: int, now: datetime, own_jid: str,
                      batch_size: int = HISTORY_BATCH_MESSAGES) -> Iterator[HistoryBatch]:
    """The burst of `count` messages, batch by batch (made lazily; see the module's docstring)."""
    chats = max(1, count // _MESSAGES_PER_CHAT)
    chat_infos: list[HistoryChat] = []
    messages: list[HistoryMessage] = []
    identities: list[tuple[str, str]] = []
    made = 0
    for index in range(chats):
        phone = history_phone(index)
        jid = f"{phone}@s.whatsapp.net"
        in_chat = count - made if index == chats - 1 else min(_MESSAGES_PER_CHAT, count - made)
        newest = now - timedelta(minutes=index + 1)
        chat_infos.append(HistoryChat(chat_jid=jid, name=f"Contact {index + 1}",
                                      unread_count=1 if index % 5 == 0 else 0, archived=False, pinned=index == 0,
                                      muted_until=None, last_activity=newest))
        identities.append((jid, simulated_lid(phone)))
        for position in range(in_chat):
            oldest = position == in_chat - 1 and in_chat > 1
            from_me = position % 3 == 1
            messages.append(HistoryMessage(
                message_id=f"3AH{session_id[-6:].upper()}{index:06d}{position:05d}", chat_jid=jid,
                sender_jid=own_jid if from_me else jid, from_me=from_me,
                timestamp=now - _OLDEST if oldest else newest - timedelta(minutes=position),
                kind="text", text=f"History message {position + 1} of chat {index + 1}"))
            made += 1
            if len(messages) == batch_size:
                yield HistoryBatch(tuple(chat_infos), tuple(messages), tuple(identities), final=made == count)
                chat_infos, messages, identities = [], [], []
    if messages or chat_infos or made == 0:
        yield HistoryBatch(tuple(chat_infos), tuple(messages), tuple(identities), final=True)


@dataclass
class ChatSettings:
    archived: bool = False
    pinned: bool = False
    muted: bool = False
    muted_until: str | None = None
    disappearing_seconds: int = 0


class SimulatedChats:
    """Chat calls and simulations of `SimulatedClient`."""

    _session_id: str
    _chat_settings: dict[str, ChatSettings]

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _connected_device(self) -> LinkedDevice: ...
        def _push(self, event: EngineEvent) -> None: ...
        async def _flush_events(self) -> None: ...
        def _track(self, work: Coroutine[Any, Any, None]) -> None: ...

    def chat_settings(self, chat_jid: str) -> ChatSettings:
        """What this account set for the chat (dev and tests)."""
        return self._chat_settings.setdefault(chat_jid, ChatSettings())

    def _chat(self, chat_jid: str) -> ChatSettings:
        self._connected_device()
        split_jid(chat_jid)
        return self.chat_settings(chat_jid)

    async def set_chat_archived(self, chat_jid: str, archived: bool) -> None:
        self._chat(chat_jid).archived = archived

    async def set_chat_pinned(self, chat_jid: str, pinned: bool) -> None:
        self._chat(chat_jid).pinned = pinned

    async def set_chat_muted(self, chat_jid: str, muted: bool, until: str | None = None) -> None:
        chat = self._chat(chat_jid)
        if until is not None and datetime.fromisoformat(until) <= datetime.now(UTC):
            raise EngineRefusedError("engine_request_invalid", "a chat can only be muted until a time to come")
        chat.muted, chat.muted_until = muted, until if muted else None

    async def set_disappearing_timer(self, chat_jid: str, seconds: int) -> None:
        chat = self._chat(chat_jid)
        if seconds not in DISAPPEARING_TIMERS:
            raise EngineRefusedError("engine_request_invalid", f"WhatsApp offers no {seconds}-second timer")
        chat.disappearing_seconds = seconds

    async def send_history(self, count: int) -> None:
        """The phone sends `count` messages of history, one batch at a time."""
        own_jid = self._connected_device().jid
        for batch in simulated_history(self._session_id, count, datetime.now(UTC), own_jid):
            self._push(batch)
            await self._flush_events()

    async def dev_history_sync(self, count: int | None = None, **_: Any) -> dict[str, Any]:
        self._connected_device()
        messages = 50 if count is None else count
        self._track(self.send_history(messages))
        return {"messages": messages, "chats": max(1, messages // _MESSAGES_PER_CHAT)}

    async def dev_chat_read_on_phone(self, phone: str | None = None, **_: Any) -> dict[str, Any]:
        self._connected_device()
        if phone is None:
            raise EngineRefusedError("engine_request_invalid", "`chat.read_on_phone` needs `phone`: whose chat")
        chat_jid = f"{e164_digits(phone)}@s.whatsapp.net"
        self._push(ChatRead(chat_jid=chat_jid, timestamp=datetime.now(UTC)))
        return {"chat": chat_jid}
