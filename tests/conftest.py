"""Shared fixtures: a private redis-server (unless REDIS_URL is set) and a moto *server*
over HTTP, so every process in a test talks to one emulated AWS, as they would to AWS."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator

import pytest

from whatsam.config import Settings
from whatsam.dev.processes import aws_test_credentials, start_moto_server, start_redis_server

# Every in-process test client is 127.0.0.1 (Chalice's local gateway), so the per-address
# login/register limits are widened for the test stack; per-user, per-key and per-account
# limits stay as in production.
LOOPBACK_RATE_LIMITS = "login-ip=100000/864000,register-ip=100000/864000"

# A test's folder is its kind: `-m "not integration and not e2e"` leaves only tests that start
# nothing (no Redis, no moto server, no neonize, no subprocess), whatever a file declares.
_MARKER_OF_FOLDER = {"integration": "integration", "e2e": "e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.relative_to(item.config.rootpath).parts
        marker = _MARKER_OF_FOLDER.get(parts[1]) if len(parts) > 2 and parts[0] == "tests" else None
        if marker and item.get_closest_marker(marker) is None:
            item.add_marker(marker)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    server = start_redis_server()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    # Never the developer's AWS_ENDPOINT_URL: tests want an emulator they own and can throw away.
    server = start_moto_server()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def stack_env(redis_url: str, aws_endpoint: str) -> Iterator[dict[str, str]]:
    """Process environment for a provisioned test stack (what `whatsam dev` sets up)."""
    from whatsam.resources import provision

    env = {
        **aws_test_credentials(),
        "AWS_ENDPOINT_URL": aws_endpoint,
        "REDIS_URL": redis_url,
        "WHATSAM_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        # Secret values given directly; `whatsam dev` and AWS read them from Secrets Manager.
        "WHATSAM_JWT_SECRET": secrets.token_urlsafe(48),
        "WHATSAM_REFRESH_TOKEN_KEY": secrets.token_urlsafe(48),
        "WHATSAM_API_KEY_PEPPER": secrets.token_urlsafe(48),
        "WHATSAM_WORKER_TOKEN": secrets.token_urlsafe(48),
        "WHATSAM_DEV_MODE": "1",
        "WHATSAM_RATE_LIMITS": LOOPBACK_RATE_LIMITS,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    provision(Settings.from_env())
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def settings(stack_env: dict[str, str]) -> Settings:
    return Settings.from_env()
