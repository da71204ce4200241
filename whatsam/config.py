"""One settings object, read from the environment once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from whatsam.domain.pricing import PriceTable, default_price_table, parse_price_table


def _flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


# Seconds between webhook delivery attempts (attempt n+1 waits entry n), each stretched by
# ±`webhook_retry_jitter`. 16 attempts over ~88 h: still ≥ 72 h at the lowest jitter.
DEFAULT_WEBHOOK_RETRY_SCHEDULE: tuple[float, ...] = (
    5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 43200, 43200, 43200, 43200, 43200)


def _floats(raw: str | None, default: tuple[float, ...]) -> tuple[float, ...]:
    if raw is None or not raw.strip():
        return default
    return tuple(float(part) for part in raw.split(",") if part.strip())


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
    # Largest media accepted inline (base64) or by upload.
    max_media_bytes: int = 5 * 1024 * 1024
    message_retention_days: int = 30
    # Anti-ban pacing: least time between two sends of one session, plus up to `jitter` more.
    send_min_gap_seconds: float = 1.5
    send_jitter_seconds: float = 1.0
    # Dev mode unlocks /v1/dev routes and plain-http/loopback webhooks; never set in AWS.
    dev_mode: bool = False
    # Webhooks (spec §3.4). The secret key encrypts endpoint signing secrets (KMS; defaults
    # to the auth-state key). An endpoint with no success for `disable_after` is disabled
    # when one of its deliveries finally fails.
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_WEBHOOK_RETRY_SCHEDULE
    webhook_retry_jitter: float = 0.1
    webhook_timeout_seconds: float = 15.0
    webhook_disable_after_seconds: float = 5 * 86400
    webhook_rotation_overlap_seconds: float = 86400
    webhook_retention_days: int = 30
    webhook_max_endpoints: int = 20
    webhook_kms_key_id: str = ""
    # Rate-limit overrides, `name[.TIER]=LIMIT/WINDOW[/BURST],...` (whatsam.metering.policies);
    # empty means the tier table's numbers.
    rate_limits: str = ""
    # Usage and billing (spec §3.5). The sync folds an hour only this long after it ended, so
    # a count made at the hour's last instant (clock skew, a slow request) lands before it.
    usage_sync_grace_seconds: int = 300
    prices: PriceTable = field(default_factory=default_price_table)

    def table_name(self, name: str) -> str:
        return f"{self.resource_prefix}-{name}"

    def queue_name(self, name: str) -> str:
        return f"{self.resource_prefix}-{name}"

    def bucket_name(self, name: str) -> str:
        return f"{self.resource_prefix}-{name}"

    @property
    def auth_state_key_id(self) -> str:
        return self.kms_key_id or f"alias/{self.resource_prefix}-auth-state"

    @property
    def webhook_secret_key_id(self) -> str:
        return self.webhook_kms_key_id or self.auth_state_key_id

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
            max_media_bytes=int(env.get("WHATSAM_MAX_MEDIA_BYTES", str(5 * 1024 * 1024))),
            message_retention_days=int(env.get("WHATSAM_MESSAGE_RETENTION_DAYS", "30")),
            send_min_gap_seconds=float(env.get("WHATSAM_SEND_MIN_GAP", "1.5")),
            send_jitter_seconds=float(env.get("WHATSAM_SEND_JITTER", "1.0")),
            dev_mode=_flag("WHATSAM_DEV_MODE"),
            webhook_retry_schedule=_floats(env.get("WHATSAM_WEBHOOK_RETRY_SCHEDULE"), DEFAULT_WEBHOOK_RETRY_SCHEDULE),
            webhook_retry_jitter=float(env.get("WHATSAM_WEBHOOK_RETRY_JITTER", "0.1")),
            webhook_timeout_seconds=float(env.get("WHATSAM_WEBHOOK_TIMEOUT", "15")),
            webhook_disable_after_seconds=float(env.get("WHATSAM_WEBHOOK_DISABLE_AFTER", str(5 * 86400))),
            webhook_rotation_overlap_seconds=float(env.get("WHATSAM_WEBHOOK_ROTATION_OVERLAP", "86400")),
            webhook_retention_days=int(env.get("WHATSAM_WEBHOOK_RETENTION_DAYS", "30")),
            webhook_max_endpoints=int(env.get("WHATSAM_WEBHOOK_MAX_ENDPOINTS", "20")),
            webhook_kms_key_id=env.get("WHATSAM_WEBHOOK_KMS_KEY_ID", ""),
            rate_limits=env.get("WHATSAM_RATE_LIMITS", ""),
            usage_sync_grace_seconds=int(env.get("WHATSAM_USAGE_SYNC_GRACE", "300")),
            prices=parse_price_table(env.get("WHATSAM_PRICES"), env.get("WHATSAM_CURRENCY")),
        )

    def require_secrets(self) -> None:
        """Refuse to run with empty or short signing secrets rather than sign with them."""
        for name, value in (("WHATSAM_JWT_SECRET", self.jwt_secret), ("WHATSAM_API_KEY_PEPPER", self.api_key_pepper)):
            if len(value) < 32:
                raise RuntimeError(f"{name} must be set to at least 32 characters")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
