"""Session API keys: issue (secret shown once), list, revoke."""

from __future__ import annotations

from whatsam.adapters.repositories import ApiKeyRepository
from whatsam.config import Settings
from whatsam.domain.ids import new_id
from whatsam.domain.model import ApiKey, SessionCard
from whatsam.errors import NotFound
from whatsam.security import api_keys


class ApiKeyService:
    def __init__(self, settings: Settings, keys: ApiKeyRepository):
        self._settings = settings
        self._keys = keys

    def new_key(self, card: SessionCard, *, name: str) -> tuple[ApiKey, str]:
        """A key for the card and its secret; the caller stores the key, shows the secret once."""
        secret = api_keys.generate_api_key()
        key = ApiKey(key_id=new_id("key"), session_id=card.session_id, tenant_id=card.tenant_id,
                     key_hash=api_keys.hash_api_key(self._settings.api_key_pepper, secret),
                     prefix=api_keys.display_prefix(secret), name=name)
        return key, secret

    def create(self, card: SessionCard, *, name: str) -> tuple[ApiKey, str]:
        key, secret = self.new_key(card, name=name)
        self._keys.add(key)
        return key, secret

    def list(self, card: SessionCard) -> list[ApiKey]:
        return self._keys.list_for_session(card.session_id)

    def revoke(self, card: SessionCard, key_id: str) -> ApiKey:
        for key in self.list(card):
            if key.key_id == key_id:
                return self._keys.revoke(key) if key.active else key
        raise NotFound("No such API key.", code="api_key_not_found")
