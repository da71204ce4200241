"""Dev only: the simulated phone of `whatsam dev` scans a session's QR, or a simulated contact
writes to it. Each sends the session's worker a command; with `wait`, the answer says what
came of it (the card after the scan, the message once stored) rather than what was true before."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from whatsam.adapters.messages import MessageRepository
from whatsam.adapters.repositories import SessionRepository
from whatsam.contracts.commands import DevInbound, DevScan, SessionCommand
from whatsam.domain.model import SessionCard, SessionStatus, User
from whatsam.errors import Conflict, NotFound
from whatsam.messaging.record import inbound_message_id
from whatsam.services.lifecycle import e164_digits
from whatsam.services.routing import CommandRouter
from whatsam.services.session_status import MAX_WAIT_SECONDS, SessionStatusService
from whatsam.services.sessions import SessionService

# How often a waiting inbound call looks for its message in the log (dev only: no channel
# announces stored messages).
_MESSAGE_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class InjectedMessage:
    """The message a simulated contact wrote, named before the worker stores it; `stored`:
    whether the message log holds it yet."""

    message_id: str
    wa_id: str
    session_id: str
    from_phone: str
    text: str
    stored: bool


class DevPhone:
    def __init__(self, sessions: SessionService, repository: SessionRepository, router: CommandRouter,
                 status: SessionStatusService, messages: MessageRepository):
        self._sessions = sessions
        self._repository = repository
        self._router = router
        self._status = status
        self._messages = messages

    def scan(self, owner: User | None, session_id: str, *, wait: int = 0) -> SessionCard:
        card = self.card(owner, session_id)
        if card.status is not SessionStatus.QR:
            # Only a phone looking at a QR (or a pairing code) can scan: say so now rather
            # than send the worker a command its engine must refuse.
            raise Conflict("There is no QR code to scan: connect the session and wait for status `qr`.",
                           code="session_not_awaiting_scan", details={"status": card.status.value})
        self._require_worker(card, DevScan(session_id=card.session_id, tenant_id=card.tenant_id))
        return self._status.wait_past(lambda: self.card(owner, session_id), since=card.status_version, wait=wait)

    def inbound(self, owner: User | None, session_id: str, from_phone: str, text: str, *,
                wait: int = 0) -> InjectedMessage:
        card = self.card(owner, session_id)
        phone = e164_digits(from_phone)
        # Shaped like the simulated engine's own ids; chosen here so the answer can name the message.
        wa_id = "3A" + secrets.token_hex(9).upper()
        self._require_worker(card, DevInbound(session_id=card.session_id, tenant_id=card.tenant_id,
                                              from_phone=phone, text=text, wa_id=wa_id))
        message_id = inbound_message_id(card.session_id, wa_id)
        return InjectedMessage(message_id=message_id, wa_id=wa_id, session_id=card.session_id, from_phone=phone,
                               text=text, stored=self._stored(message_id, wait))

    def _stored(self, message_id: str, wait: int) -> bool:
        deadline = time.monotonic() + min(wait, MAX_WAIT_SECONDS)
        while self._messages.get(message_id) is None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_MESSAGE_POLL_SECONDS)
        return True

    def card(self, owner: User | None, session_id: str) -> SessionCard:
        """The owner's card, or for the dev operator (owner None) any card."""
        if owner is not None:
            return self._sessions.get(owner, session_id)
        card = self._repository.get(session_id)
        if card is None:
            raise NotFound("No such session.", code="session_not_found")
        return card

    def _require_worker(self, card: SessionCard, command: SessionCommand) -> None:
        if self._router.send_to_owner(card.session_id, command) is None:
            raise Conflict("No worker holds this session: connect it first.", code="session_not_connecting")
