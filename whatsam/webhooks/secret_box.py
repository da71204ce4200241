"""Secrets at rest that must be usable again (so encrypted, not hashed): webhook endpoints'
signing secrets and sessions' proxy URLs. Encrypted with KMS under an encryption context that
names what it is for, the tenant and the owning item, so a ciphertext copied onto another
endpoint or session does not decrypt.

Decrypted secrets are kept in memory for a few minutes: a busy endpoint costs one KMS call
per container every few minutes, not one per delivery."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from typing import Any

from whatsam.adapters.aws import client
from whatsam.config import Settings

_CACHE_SECONDS = 300.0
_CACHE_SIZE = 512


WEBHOOK_SECRET = "webhook-secret"  # noqa: S105 - what a sealed value is for, not a secret
SESSION_PROXY = "session-proxy"


def _context(purpose: str, tenant_id: str, owner_id: str) -> dict[str, str]:
    # Webhook secrets sealed before proxies existed name their owner "endpoint".
    return {"purpose": purpose, "tenant": tenant_id, "endpoint" if purpose == WEBHOOK_SECRET else "owner": owner_id}


class SecretBox:
    def __init__(self, settings: Settings):
        self._settings = settings
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    @property
    def _kms(self) -> Any:
        return client("kms", self._settings)

    def seal(self, secret: str, *, tenant_id: str, endpoint_id: str, purpose: str = WEBHOOK_SECRET) -> str:
        blob = self._kms.encrypt(KeyId=self._settings.webhook_secret_key_id, Plaintext=secret.encode(),
                                 EncryptionContext=_context(purpose, tenant_id, endpoint_id))["CiphertextBlob"]
        return base64.b64encode(blob).decode()

    def open(self, sealed: str, *, tenant_id: str, endpoint_id: str, purpose: str = WEBHOOK_SECRET) -> str:
        cache_key = hashlib.sha256(f"{purpose}|{tenant_id}|{endpoint_id}|{sealed}".encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(cache_key)
            if hit is not None and hit[0] > now:
                return hit[1]
        plaintext = self._kms.decrypt(CiphertextBlob=base64.b64decode(sealed),
                                      EncryptionContext=_context(purpose, tenant_id, endpoint_id))["Plaintext"]
        secret = bytes(plaintext).decode()
        with self._lock:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                if len(self._cache) >= _CACHE_SIZE:
                    self._cache.clear()
            self._cache[cache_key] = (now + _CACHE_SECONDS, secret)
        return secret
