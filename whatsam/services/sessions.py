"""Session cards: create within the tier's limit, list, read, rename, delete, connect."""

from __future__ import annotations

import logging
from dataclasses import replace

from whatsam.adapters.queues import QueuePublisher
from whatsam.adapters.repositories import SessionRepository
from whatsam.config import Settings
from whatsam.contracts.commands import ConnectSession
from whatsam.domain.ids import new_id
from whatsam.domain.model import ApiKey, SessionCard, User, utcnow
from whatsam.errors import NotFound
from whatsam.services.api_keys import ApiKeyService
from whatsam.services.routing import CommandRouter
from whatsam.services.teardown import SessionTeardown

log = logging.getLogger(__name__)

CONNECT_QUEUE = "connect"


class SessionService:
    def __init__(self, settings: Settings, sessions: SessionRepository, key_service: ApiKeyService,
                 queues: QueuePublisher, teardown: SessionTeardown, router: CommandRouter):
        self._settings = settings
        self._sessions = sessions
        self._key_service = key_service
        self._queues = queues
        self._teardown = teardown
        self._router = router

    def create(self, owner: User, *, name: str, description: str) -> tuple[SessionCard, ApiKey, str]:
        """The new card, its first API key and that key's secret (shown to the caller once)."""
        card = SessionCard(session_id=new_id("ses"), tenant_id=owner.user_id, name=name,
                           description=description)
        key, secret = self._key_service.new_key(card, name="default")
        self._sessions.add(card, owner.tier, key)
        return card, key, secret

    def list(self, owner: User) -> list[SessionCard]:
        return self._sessions.list_for_tenant(owner.user_id)

    def get(self, owner: User, session_id: str) -> SessionCard:
        """The owner's card; another tenant's id is indistinguishable from a missing one."""
        card = self._sessions.get(session_id)
        if card is None or card.tenant_id != owner.user_id:
            raise NotFound("No such session.", code="session_not_found")
        return card

    def rename(self, owner: User, session_id: str, *, name: str | None, description: str | None) -> SessionCard:
        return self._sessions.rename(self.get(owner, session_id), name=name, description=description)

    def delete(self, owner: User, session_id: str) -> None:
        """Log the device out, stop the session on its worker, and forget everything about it."""
        self._teardown.delete(self.get(owner, session_id))

    def connect(self, owner: User, session_id: str) -> SessionCard:
        card = self.get(owner, session_id)
        connecting = card.request_connect()
        if connecting is None:
            return card
        if not self._sessions.save_status(card, connecting):
            # Another request moved the card first; whatever it did is the answer.
            return self.get(owner, session_id)
        command = ConnectSession(session_id=card.session_id, tenant_id=card.tenant_id,
                                 status_version=connecting.status_version, requested_at=utcnow())
        try:
            # A worker still holds the session (a disconnect or logout is on its way to it): the
            # connect goes behind that command in the worker's inbox, so it cannot overtake it.
            if self._router.send_to_owner(card.session_id, command.model_copy(update={"via_holder": True})) is None:
                self._queues.publish(CONNECT_QUEUE, command)
        except Exception:
            # Without its command the card would sit in `connecting`; put its status back,
            # with a newer version (versions only grow: long-polls compare against them).
            self._sessions.save_status(connecting, replace(card, status_version=connecting.status_version + 1,
                                                           updated_at=utcnow()))
            raise
        return connecting
