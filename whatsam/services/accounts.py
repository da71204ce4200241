"""Accounts: register, login, refresh with rotation and reuse detection, logout."""

from __future__ import annotations

import time
from dataclasses import dataclass

from whatsam.adapters.repositories import RefreshTokenRepository, UserRepository
from whatsam.adapters.token_chains import TokenChains
from whatsam.config import Settings
from whatsam.domain.ids import new_id
from whatsam.domain.model import User
from whatsam.errors import Forbidden, Unauthorized
from whatsam.security import passwords, tokens


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int

    def to_dict(self) -> dict[str, object]:
        return {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.expires_in,
                "refresh_token": self.refresh_token, "refresh_expires_in": self.refresh_expires_in}


class AccountService:
    def __init__(self, settings: Settings, users: UserRepository, refresh_tokens: RefreshTokenRepository,
                 chains: TokenChains):
        self._settings = settings
        self._users = users
        self._refresh = refresh_tokens
        self._chains = chains

    def register(self, *, email: str, password: str, name: str) -> tuple[User, TokenPair]:
        user = User(user_id=new_id("usr"), email=email, name=name,
                    password_hash=passwords.hash_password(password))
        self._users.add(user)
        return user, self._start_chain(user)

    def login(self, *, email: str, password: str) -> tuple[User, TokenPair]:
        user = self._users.get_by_email(email)
        if not passwords.verify_password(user.password_hash if user else None, password) or user is None:
            raise Unauthorized("Email or password is incorrect.", code="invalid_credentials")
        if not user.active:
            raise Forbidden("This account is deactivated.", code="account_inactive")
        if passwords.needs_rehash(user.password_hash):
            self._users.set_password_hash(user.user_id, passwords.hash_password(password))
        return user, self._start_chain(user)

    def refresh(self, refresh_token: str) -> TokenPair:
        invalid = Unauthorized("The refresh token is not valid.", code="invalid_refresh_token")
        if not refresh_token.startswith(tokens.REFRESH_PREFIX):
            raise invalid
        token_hash = tokens.refresh_token_hash(self._settings, refresh_token)
        record = self._refresh.get(token_hash)
        if record is None or record.expires_at < time.time() or self._refresh.family_revoked(record.family_id):
            raise invalid
        if not self._refresh.mark_used(token_hash):
            # A spent token came back: someone holds a copy. End the whole chain, the
            # legitimate holder logs in again (OAuth 2.0 Security BCP, refresh token rotation).
            self._chains.revoke(record.family_id)
            raise Unauthorized("This refresh token was already used; the session has been revoked.",
                               code="refresh_token_reused")
        user = self._users.get(record.user_id)
        if user is None or not user.active:
            self._chains.revoke(record.family_id)
            raise invalid
        return self._issue(user, record.family_id, int(record.expires_at))

    def logout(self, family_id: str) -> None:
        """End this login: its refresh tokens and, at once, the access tokens it issued."""
        self._chains.revoke(family_id)

    def _start_chain(self, user: User) -> TokenPair:
        family_id = new_id("fam")
        # The chain's lifetime is fixed at login: rotation does not extend it forever.
        chain_expires_at = int(time.time()) + self._settings.refresh_token_ttl_seconds
        self._refresh.start_family(family_id, user.user_id, chain_expires_at)
        self._chains.started(family_id)
        return self._issue(user, family_id, chain_expires_at)

    def _issue(self, user: User, family_id: str, chain_expires_at: int) -> TokenPair:
        access, ttl = tokens.issue_access_token(self._settings, user_id=user.user_id, role=user.role.value,
                                                family_id=family_id)
        refresh = tokens.new_refresh_token()
        self._refresh.add(tokens.refresh_token_hash(self._settings, refresh), family_id, user.user_id,
                          chain_expires_at)
        return TokenPair(access_token=access, expires_in=ttl, refresh_token=refresh,
                         refresh_expires_in=max(0, chain_expires_at - int(time.time())))
