"""Whether a login chain still stands: a refresh-token family and every access token it issued.

Checked on every call made with an access token, so logout or a detected refresh-token reuse
ends the chain's access tokens at once instead of when they expire. The record of truth is
the family's row in DynamoDB; Redis holds each chain's state for as long as one of its access
tokens can live, so a call costs one Redis GET and DynamoDB is read only when Redis has no
answer (a cold key, a flushed or replaced Redis)."""

from __future__ import annotations

import redis

from whatsam.adapters.repositories import RefreshTokenRepository

_PREFIX = "whatsam:chain"
_ACTIVE, _REVOKED = "active", "revoked"
# Past the access token's lifetime: a clock a little ahead must not outlive the cached answer.
_MARGIN_SECONDS = 60


class TokenChains:
    def __init__(self, client: redis.Redis, refresh_tokens: RefreshTokenRepository, access_token_ttl_seconds: int):
        self._redis = client
        self._refresh = refresh_tokens
        self._ttl = access_token_ttl_seconds + _MARGIN_SECONDS

    def started(self, family_id: str) -> None:
        """A new chain (its family row just written): its first calls need not read DynamoDB."""
        self._redis.set(_key(family_id), _ACTIVE, ex=self._ttl, nx=True)

    def is_revoked(self, family_id: str) -> bool:
        key = _key(family_id)
        cached = self._redis.get(key)
        if cached is not None:
            return str(cached) != _ACTIVE
        revoked = self._refresh.family_revoked(family_id)
        # NX: a revocation cached while DynamoDB was being read is newer than this read; keep it.
        self._redis.set(key, _REVOKED if revoked else _ACTIVE, ex=self._ttl, nx=True)
        return revoked

    def revoke(self, family_id: str) -> None:
        """End the chain: its refresh tokens (DynamoDB) and its access tokens (the cached state)."""
        self._refresh.revoke_family(family_id)
        self._redis.set(_key(family_id), _REVOKED, ex=self._ttl)


def _key(family_id: str) -> str:
    return f"{_PREFIX}:{family_id}"
