"""Session cards: create within the tier's limit, list, read, rename, delete, connect."""

from __future__ import annotations

import logging

from whatsam.adapters.aws import client
from whatsam.adapters.queues import QueuePublisher
from whatsam.adapters.repositories import ApiKeyRepository, SessionRepository
from whatsam.config import Settings
from whatsam.contracts.commands import ConnectSession
from whatsam.domain.ids import new_id
from whatsam.domain.model import ApiKey, SessionCard, User, utcnow
from whatsam.errors import NotFound
from whatsam.services.api_keys import ApiKeyService

log = logging.getLogger(__name__)

CONNECT_QUEUE = "connect"


def auth_state_prefix(tenant_id: str, session_id: str) -> str:
    return f"{tenant_id}/{session_id}/"


class SessionService:
    def __init__(self, settings: Settings, sessions: SessionRepository, keys: ApiKeyRepository,
                 key_service: ApiKeyService, queues: QueuePublisher):
        self._settings = settings
        self._sessions = sessions
        self._keys = keys
        self._key_service = key_service
        self._queues = queues

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
        card = self.get(owner, session_id)
        self._keys.delete_for_session(card.session_id)
        self._delete_auth_state(card)
        self._sessions.remove(card)

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
            self._queues.publish(CONNECT_QUEUE, command)
        except Exception:
            # Without its command the card would sit in `connecting`; put it back.
            self._sessions.save_status(connecting, card)
            raise
        return connecting

    def _delete_auth_state(self, card: SessionCard) -> None:
        s3 = client("s3", self._settings)
        bucket = self._settings.bucket_name("auth-state")
        prefix = auth_state_prefix(card.tenant_id, card.session_id)
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                       for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
