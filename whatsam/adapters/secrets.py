"""Secrets Manager reads, once per process and secret: a Lambda container reads each secret
it needs on first use (its cold start) and keeps it; nothing is read that the process never
needs, so each function's role is granted only the secrets it uses.

A new value reaches a process when it starts: after rotating a secret, recycle the functions
and workers (README, "Secrets")."""

from __future__ import annotations

import threading

from whatsam.adapters.aws import client
from whatsam.config import Settings

_lock = threading.Lock()
_values: dict[tuple[str | None, str, str], str] = {}


def read_secret(settings: Settings, secret_id: str) -> str:
    key = (settings.aws_endpoint_url, settings.aws_region, secret_id)
    with _lock:
        if key not in _values:
            _values[key] = str(client("secretsmanager", settings).get_secret_value(SecretId=secret_id)["SecretString"])
        return _values[key]
