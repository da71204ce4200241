"""boto3 clients that honour AWS_ENDPOINT_URL (moto server or LocalStack locally)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from whatsam.config import Settings

_lock = threading.Lock()
_clients: dict[tuple[str, str | None, str], Any] = {}
_CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)


def client(service: str, settings: Settings) -> Any:
    """One client per service and endpoint per process: clients are thread-safe and costly to build."""
    key = (service, settings.aws_endpoint_url, settings.aws_region)
    with _lock:
        if key not in _clients:
            _clients[key] = boto3.session.Session().client(
                service, region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url,
                config=_CLIENT_CONFIG,
            )
        return _clients[key]
