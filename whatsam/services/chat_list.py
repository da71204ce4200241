"""The chat list and chat settings (spec §3.9), with the session API key.

The list is read from the store ingestion keeps (`adapters.chats`); a chat's history is the
message log's (`MessagingService.history` with the chat). Archive, pin, mute and the
disappearing timer go to WhatsApp through the session's worker (`EngineCalls`), and only once
WhatsApp took them does the stored chat show them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from whatsam.adapters.chats import Chat, ChatRepository
from whatsam.adapters.cursors import decode_cursor, encode_cursor
from whatsam.domain.model import iso_z
from whatsam.errors import Unprocessable
from whatsam.messaging import recipients
from whatsam.services.engine_calls import EngineCalls

_CURSOR_KEYS = ("chat_jid", "activity_key")


def chat_view(chat: Chat) -> dict[str, Any]:
    last = chat.last_message
    return {
        "chat": chat.chat_jid, "kind": chat.kind, "name": chat.name,
        "last_message": None if last is None else {"id": last.message_id, "type": last.type,
                                                   "preview": last.preview, "from_me": last.from_me,
                                                   "at": iso_z(last.at)},
        "unread_count": chat.unread_count, "archived": chat.archived, "pinned": chat.pinned, "muted": chat.muted,
        "muted_until": iso_z(chat.muted_until) if chat.muted and chat.muted_until else None,
        "disappearing_seconds": chat.disappearing_seconds,
    }


class ChatListService:
    def __init__(self, chats: ChatRepository, engine_calls: EngineCalls):
        self._chats = chats
        self._calls = engine_calls

    def list(self, session_id: str, *, kind: str | None, cursor: str | None,
             limit: int) -> tuple[list[dict[str, Any]], str | None]:
        after = decode_cursor(cursor, _CURSOR_KEYS) if cursor else None
        chats, last = self._chats.page(session_id, kind=kind, after=after, limit=limit)
        return [chat_view(chat) for chat in chats], encode_cursor(last) if last else None

    def set_archived(self, session_id: str, chat: str, archived: bool) -> dict[str, Any]:
        return self._change(session_id, chat, "set_chat_archived", {"archived": archived}, archived=archived)

    def set_pinned(self, session_id: str, chat: str, pinned: bool) -> dict[str, Any]:
        return self._change(session_id, chat, "set_chat_pinned", {"pinned": pinned}, pinned=pinned)

    def set_muted(self, session_id: str, chat: str, muted: bool, until: datetime | None = None) -> dict[str, Any]:
        if until is not None and until <= datetime.now(UTC):
            raise Unprocessable("`until` must be in the future.", code="invalid_mute_until")
        args = {"muted": muted, "until": iso_z(until) if until else None}
        return self._change(session_id, chat, "set_chat_muted", args, muted=muted, muted_until=until if muted else None)

    def set_disappearing(self, session_id: str, chat: str, seconds: int) -> dict[str, Any]:
        return self._change(session_id, chat, "set_disappearing_timer", {"seconds": seconds},
                            disappearing_seconds=seconds)

    def _change(self, session_id: str, chat: str, operation: str, args: dict[str, Any],
                **state: Any) -> dict[str, Any]:
        chat_jid = recipients.to_jid(chat)
        card = self._calls.connected_card(session_id)
        self._calls.ask(session_id, operation, chat_jid=chat_jid, **args)
        return chat_view(self._chats.set_state(session_id, card.tenant_id, chat_jid, **state))
