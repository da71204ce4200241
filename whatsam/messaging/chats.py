"""Chat operations that go straight to the session's worker: mark read and typing presence
(fire and forget; number checks are engine calls, `services.contacts`)."""

from __future__ import annotations

from whatsam.adapters.chats import ChatRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.commands import MarkRead, SendPresence, SessionCommand
from whatsam.domain.model import SessionCard, SessionStatus, utcnow
from whatsam.errors import Conflict, NotFound
from whatsam.messaging import recipients
from whatsam.services.routing import CommandRouter


class ChatService:
    def __init__(self, sessions: SessionRepository, router: CommandRouter, chat_store: ChatRepository | None = None):
        self._sessions = sessions
        self._router = router
        self._chat_store = chat_store

    def mark_read(self, session_id: str, chat: str, message_ids: list[str], sender: str | None) -> None:
        card = self._connected(session_id)
        chat_jid = recipients.to_jid(chat)
        self._send(card, MarkRead(session_id=session_id, tenant_id=card.tenant_id, chat_jid=chat_jid,
                                  message_ids=message_ids,
                                  sender_jid=recipients.to_jid(sender) if sender else None))
        if self._chat_store is not None:
            # Read here: what arrived until now is read (a message older than this arriving late too).
            self._chat_store.mark_read(session_id, card.tenant_id, chat_jid, utcnow())

    def presence(self, session_id: str, chat: str, state: str) -> None:
        card = self._connected(session_id)
        self._send(card, SendPresence(session_id=session_id, tenant_id=card.tenant_id,
                                      chat_jid=recipients.to_jid(chat), state=state))  # type: ignore[arg-type]

    def _connected(self, session_id: str) -> SessionCard:
        card = self._sessions.get(session_id)
        if card is None:
            raise NotFound("No such session.", code="session_not_found")
        if card.status is not SessionStatus.CONNECTED:
            raise Conflict("The session is not connected.", code="session_not_connected",
                           details={"status": card.status.value})
        return card

    def _send(self, card: SessionCard, command: SessionCommand) -> None:
        if self._router.send_to_owner(card.session_id, command) is None:
            raise Conflict("No worker holds this session right now; try again shortly.",
                           code="session_not_connected")
