"""Who is calling: a dashboard user (JWT) or an integration (session API key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from whatsam.adapters.repositories import ApiKeyRepository, UserRepository
from whatsam.adapters.token_chains import TokenChains
from whatsam.config import Settings
from whatsam.domain.model import ApiKey, User, utcnow
from whatsam.errors import Forbidden, Unauthorized
from whatsam.security import api_keys, tokens

# Writing last_used_at on every call would double the cost of each request; a minute's
# precision is what a "last used" column needs.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class UserPrincipal:
    user: User
    family_id: str


@dataclass(frozen=True)
class KeyPrincipal:
    user: User
    api_key: ApiKey

    @property
    def session_id(self) -> str:
        return self.api_key.session_id


class Authenticator:
    def __init__(self, settings: Settings, users: UserRepository, keys: ApiKeyRepository,
                 chains: TokenChains):
        self._settings = settings
        self._users = users
        self._keys = keys
        self._chains = chains

    def user_from_token(self, token: str) -> UserPrincipal:
        claims = tokens.verify_access_token(self._settings, token)
        # A token of a chain ended by logout or refresh-token reuse stops here, not at its expiry.
        if not claims.family_id or self._chains.is_revoked(claims.family_id):
            raise Unauthorized("The access token has been revoked; log in again.", code="token_revoked")
        user = self._users.get(claims.user_id)
        if user is None:
            raise Unauthorized("The access token is not valid.", code="invalid_token")
        if not user.active:
            raise Forbidden("This account is deactivated.", code="account_inactive")
        return UserPrincipal(user=user, family_id=claims.family_id)

    def from_api_key(self, key: str) -> KeyPrincipal:
        invalid = Unauthorized("The API key is not valid.", code="invalid_api_key")
        if not api_keys.is_well_formed(key):
            raise invalid
        record = self._keys.get_by_hash(api_keys.hash_api_key(self._settings.api_key_pepper, key))
        if record is None or not record.active:
            raise invalid
        user = self._users.get(record.tenant_id)
        if user is None or not user.active:
            raise Forbidden("This account is deactivated.", code="account_inactive")
        now = utcnow()
        if record.last_used_at is None or now - record.last_used_at > _TOUCH_EVERY:
            self._keys.touch(record, now)
        return KeyPrincipal(user=user, api_key=record)
