"""Session lifecycle beyond connect: disconnect, logout, restart, pairing code (the dev-only
simulated phone is whatsam.services.dev_phone). Each goes to the worker that holds the
session; with no worker, the card is settled here.

A disconnect or logout moves the card at once (and its 202 shows the new status), even while
its command waits in the worker's inbox: a connect right after it is then a real request,
which follows the command through that inbox (see SessionService.connect)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TypeVar

import phonenumbers

from whatsam.adapters.auth_state import AuthStateStore
from whatsam.adapters.repositories import SessionRepository
from whatsam.adapters.session_cache import SessionCache
from whatsam.contracts.commands import (
    DisconnectSession,
    LogoutSession,
    RequestPairingCode,
    RestartSession,
    SessionCommand,
)
from whatsam.domain.model import SessionCard, SessionStatus, User, utcnow
from whatsam.errors import AppError, Conflict, ValidationFailed
from whatsam.services.routing import CommandRouter
from whatsam.services.sessions import SessionService

REPLY_TIMEOUT_SECONDS = 20.0

C = TypeVar("C", bound=SessionCommand)


class WorkerTimeout(AppError):
    status = 504
    code = "worker_timeout"


def e164_digits(raw: str) -> str:
    """A phone number as E.164 digits without '+', or a 400 naming the problem."""
    try:
        number = phonenumbers.parse(raw if raw.startswith("+") else f"+{raw}", None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed("Not a phone number.", code="invalid_phone", details={"phone": raw}) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed("Not a valid phone number.", code="invalid_phone", details={"phone": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


class LifecycleService:
    def __init__(self, sessions: SessionService, repository: SessionRepository, router: CommandRouter,
                 cache: SessionCache, auth_state: AuthStateStore):
        self._sessions = sessions
        self._repository = repository
        self._router = router
        self._cache = cache
        self._auth_state = auth_state

    def disconnect(self, owner: User, session_id: str) -> SessionCard:
        card = self._sessions.get(owner, session_id)
        self._router.send_to_owner(card.session_id, _command(DisconnectSession, card))
        return self._settle(card, SessionStatus.DISCONNECTED)

    def logout(self, owner: User, session_id: str) -> SessionCard:
        card = self._sessions.get(owner, session_id)
        if self._router.send_to_owner(card.session_id, _command(LogoutSession, card)) is None:
            # No worker to unlink the device: forget its credentials here. A worker logs out first.
            self._auth_state.delete(card.tenant_id, card.session_id)
        return self._settle(card, SessionStatus.LOGGED_OUT)

    def restart(self, owner: User, session_id: str) -> SessionCard:
        card = self._sessions.get(owner, session_id)
        if self._router.send_to_owner(card.session_id, _command(RestartSession, card)) is None:
            return self._sessions.connect(owner, session_id)
        return card

    def pairing_code(self, owner: User, session_id: str, phone: str) -> dict[str, str]:
        card = self._sessions.get(owner, session_id)
        digits = e164_digits(phone)
        reply_to = f"whatsam:reply:{uuid.uuid4().hex}"
        command = _command(RequestPairingCode, card, phone=digits, reply_to=reply_to)
        if self._router.send_to_owner(card.session_id, command) is None:
            raise Conflict("Connect the session first; the pairing code comes from its worker.",
                           code="session_not_connecting")
        reply = self._cache.wait_reply(reply_to, REPLY_TIMEOUT_SECONDS)
        if reply is None:
            raise WorkerTimeout("The session's worker did not answer in time.")
        if not reply.get("ok"):
            raise Conflict(str(reply.get("error", "The worker could not produce a pairing code.")),
                           code=str(reply.get("code", "pairing_failed")))
        return {"code": str(reply["code"]), "phone": digits}

    def _settle(self, card: SessionCard, status: SessionStatus) -> SessionCard:
        if card.status is status:
            return card
        # Logged out, the device is unlinked: the card names no phone (as when a worker reports it).
        phone = None if status is SessionStatus.LOGGED_OUT else card.phone
        after = replace(card, status=status, phone=phone, status_version=card.status_version + 1, updated_at=utcnow())
        if self._repository.save_status(card, after):
            self._cache.clear_qr(card.session_id)
            self._cache.announce_status(card.session_id, after.status_version)
            return after
        return self._repository.get(card.session_id) or card


def _command(kind: type[C], card: SessionCard, **fields: str) -> C:
    return kind(session_id=card.session_id, tenant_id=card.tenant_id, **fields)
