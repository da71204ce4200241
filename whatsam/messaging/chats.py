"""Chat operations that go straight to the session's worker: mark read, typing presence, and
"is this number on WhatsApp?" (a request/reply with a timeout)."""

from __future__ import annotations

import uuid

from whatsam.adapters.chats import ChatRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.contracts.commands import CheckContact, MarkRead, SendPresence, SessionCommand
from whatsam.domain.model import SessionCard, SessionStatus, utcnow
from whatsam.errors import Conflict, NotFound
from whatsam.messaging import recipients
from whatsam.services.lifecycle import REPLY_TIMEOUT_SECONDS, WorkerTimeout, e164_digits
from whatsam.services.routing import CommandRouter


class ChatService:
    def __init__(self, sessions: SessionRepository, router: CommandRouter, cache: SessionCache,
                 chat_store: ChatRepository | None = None, reply_timeout: float = REPLY_TIMEOUT_SECONDS):
        self._sessions = sessions
        self._router = router
        self._cache = cache
        self._timeout = reply_timeout
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

    def exists(self, session_id: str, phone: str) -> dict[str, object]:
        card = self._connected(session_id)
        digits = e164_digits(phone)
        reply_to = f"whatsam:reply:{uuid.uuid4().hex}"
        self._send(card, CheckContact(session_id=session_id, tenant_id=card.tenant_id, phone=digits,
                                      reply_to=reply_to))
        reply = self._cache.wait_reply(reply_to, self._timeout)
        if reply is None:
            raise WorkerTimeout("The session's worker did not answer in time.")
        if not reply.get("ok"):
            raise Conflict(str(reply.get("error", "The worker could not check the number.")),
                           code=str(reply.get("code", "check_failed")))
        exists = bool(reply["exists"])
        return {"phone": digits, "exists": exists, "jid": f"{digits}@{recipients.USER_SERVER}" if exists else None}

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
