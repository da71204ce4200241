"""Endpoint signing secrets at rest: encrypted with KMS under an encryption context that
names the tenant and the endpoint, so a ciphertext copied onto another endpoint does not
decrypt. They must be usable for signing, so they are encrypted, not hashed.

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


def _context(tenant_id: str, endpoint_id: str) -> dict[str, str]:
    return {"purpose": "webhook-secret", "tenant": tenant_id, "endpoint": endpoint_id}


class SecretBox:
    def __init__(self, settings: Settings):
        self._settings = settings
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    @property
    def _kms(self) -> Any:
        return client("kms", self._settings)

    def seal(self, secret: str, *, tenant_id: str, endpoint_id: str) -> str:
        blob = self._kms.encrypt(KeyId=self._settings.webhook_secret_key_id, Plaintext=secret.encode(),
                                 EncryptionContext=_context(tenant_id, endpoint_id))["CiphertextBlob"]
        return base64.b64encode(blob).decode()

    def open(self, sealed: str, *, tenant_id: str, endpoint_id: str) -> str:
        cache_key = hashlib.sha256(f"{tenant_id}|{endpoint_id}|{sealed}".encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(cache_key)
            if hit is not None and hit[0] > now:
                return hit[1]
        plaintext = self._kms.decrypt(CiphertextBlob=base64.b64decode(sealed),
                                      EncryptionContext=_context(tenant_id, endpoint_id))["Plaintext"]
        secret = bytes(plaintext).decode()
        with self._lock:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                if len(self._cache) >= _CACHE_SIZE:
                    self._cache.clear()
            self._cache[cache_key] = (now + _CACHE_SECONDS, secret)
        return secret
