"""One settings object, read from the environment once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    # Every AWS client honours this; unset means real AWS.
    aws_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    # Prefix of every table, queue and bucket name, so stacks can share an account.
    resource_prefix: str = "whatsam-dev"
    redis_url: str = "redis://127.0.0.1:6379/0"
    jwt_secret: str = field(default="", repr=False)
    jwt_issuer: str = "whatsam"
    jwt_audience: str = "whatsam-api"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # Keyed hash of session API keys; rotating it invalidates every key.
    api_key_pepper: str = field(default="", repr=False)
    max_body_bytes: int = 64 * 1024
    # Shared secret of workers posting events over HTTPS (POST /v1/internal/events).
    worker_token: str = field(default="", repr=False)
    # A worker silent this long (three missed 10 s heartbeats) is declared offline by the reaper.
    worker_stale_seconds: float = 30.0
    # KMS key wrapping the per-object data keys of auth-state snapshots.
    kms_key_id: str = ""
    # Dev mode unlocks /v1/dev routes and plain-http/loopback webhooks; never set in AWS.
    dev_mode: bool = False

    def table_name(self, name: str) -> str:
        return f"{self.resource_prefix}-{name}"

    def queue_name(self, name: str) -> str:
        return f"{self.resource_prefix}-{name}"

    def bucket_name(self, name: str) -> str:
        return f"{self.resource_prefix}-{name}"

    @property
    def auth_state_key_id(self) -> str:
        return self.kms_key_id or f"alias/{self.resource_prefix}-auth-state"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            resource_prefix=env.get("WHATSAM_PREFIX", "whatsam-dev"),
            redis_url=env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            jwt_secret=env.get("WHATSAM_JWT_SECRET", ""),
            jwt_issuer=env.get("WHATSAM_JWT_ISSUER", "whatsam"),
            jwt_audience=env.get("WHATSAM_JWT_AUDIENCE", "whatsam-api"),
            access_token_ttl_seconds=min(int(env.get("WHATSAM_ACCESS_TOKEN_TTL", "900")), 900),
            refresh_token_ttl_seconds=int(env.get("WHATSAM_REFRESH_TOKEN_TTL", str(30 * 24 * 3600))),
            api_key_pepper=env.get("WHATSAM_API_KEY_PEPPER", ""),
            max_body_bytes=int(env.get("WHATSAM_MAX_BODY_BYTES", str(64 * 1024))),
            kms_key_id=env.get("WHATSAM_KMS_KEY_ID", ""),
            worker_token=env.get("WHATSAM_WORKER_TOKEN", ""),
            worker_stale_seconds=float(env.get("WHATSAM_WORKER_STALE_SECONDS", "30")),
            dev_mode=_flag("WHATSAM_DEV_MODE"),
        )

    def require_secrets(self) -> None:
        """Refuse to run with empty or short signing secrets rather than sign with them."""
        for name, value in (("WHATSAM_JWT_SECRET", self.jwt_secret), ("WHATSAM_API_KEY_PEPPER", self.api_key_pepper)):
            if len(value) < 32:
                raise RuntimeError(f"{name} must be set to at least 32 characters")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
