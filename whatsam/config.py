"""One settings object, read from the environment once per process."""

from __future__ import annotations

import os
from collections.abc import Mapping
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
class SecretSpec:
    """A secret of the stack. In AWS it lives in Secrets Manager as `<prefix>/<name>` (or
    whatever id `id_env` names), read the first time a process needs it and kept for the
    process's life; `value_env` carries the value itself, for tests and hand-run processes."""

    name: str
    value_env: str
    id_env: str
    purpose: str


JWT_KEY = SecretSpec("jwt-secret", "WHATSAM_JWT_SECRET", "WHATSAM_JWT_SECRET_ID",
                     "signing key of access tokens")
REFRESH_TOKEN_KEY = SecretSpec("refresh-token-key", "WHATSAM_REFRESH_TOKEN_KEY", "WHATSAM_REFRESH_TOKEN_KEY_ID",
                               "HMAC key of stored refresh-token hashes")
API_KEY_PEPPER = SecretSpec("api-key-pepper", "WHATSAM_API_KEY_PEPPER", "WHATSAM_API_KEY_PEPPER_ID",
                            "HMAC key of session API-key hashes; a new value revokes every key")
WORKER_TOKEN = SecretSpec("worker-token", "WHATSAM_WORKER_TOKEN", "WHATSAM_WORKER_TOKEN_ID",
                          "token of workers posting to /v1/internal/events")
SECRETS: tuple[SecretSpec, ...] = (JWT_KEY, REFRESH_TOKEN_KEY, API_KEY_PEPPER, WORKER_TOKEN)
# Shorter keys are refused rather than signed with.
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Settings:
    # Every AWS client honours this; unset means real AWS.
    aws_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    # Prefix of every table, queue and bucket name, so stacks can share an account.
    resource_prefix: str = "whatsam-dev"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Secret values given directly, by `SecretSpec.name` (tests, hand-run processes). In AWS
    # this is empty: each secret is read from Secrets Manager when first needed (`secret`).
    secret_values: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Secrets Manager ids (ARN or name) by `SecretSpec.name`; unset means `<prefix>/<name>`.
    secret_ids: Mapping[str, str] = field(default_factory=dict)
    jwt_issuer: str = "whatsam"
    jwt_audience: str = "whatsam-api"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    max_body_bytes: int = 64 * 1024
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

    def secret_id(self, spec: SecretSpec) -> str:
        return self.secret_ids.get(spec.name) or f"{self.resource_prefix}/{spec.name}"

    def secret(self, spec: SecretSpec) -> str:
        """The secret's value: given directly, or read from Secrets Manager (once per process)."""
        value = self.secret_values.get(spec.name)
        if value is None:
            # Imported here: the AWS adapters import this module, and a process that never
            # needs a secret never builds a Secrets Manager client.
            from whatsam.adapters.secrets import read_secret

            value = read_secret(self, self.secret_id(spec))
        if len(value) < MIN_SECRET_LENGTH:
            raise RuntimeError(f"the secret {spec.name} ({spec.value_env} or Secrets Manager "
                               f"{self.secret_id(spec)}) must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @property
    def jwt_secret(self) -> str:
        return self.secret(JWT_KEY)

    @property
    def refresh_token_key(self) -> str:
        return self.secret(REFRESH_TOKEN_KEY)

    @property
    def api_key_pepper(self) -> str:
        """Keyed hash of session API keys; a new value invalidates every key."""
        return self.secret(API_KEY_PEPPER)

    @property
    def worker_token(self) -> str:
        """Shared secret of workers posting events over HTTPS (POST /v1/internal/events)."""
        return self.secret(WORKER_TOKEN)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            resource_prefix=env.get("WHATSAM_PREFIX", "whatsam-dev"),
            redis_url=env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            secret_values={spec.name: env[spec.value_env] for spec in SECRETS if env.get(spec.value_env)},
            secret_ids={spec.name: env[spec.id_env] for spec in SECRETS if env.get(spec.id_env)},
            jwt_issuer=env.get("WHATSAM_JWT_ISSUER", "whatsam"),
            jwt_audience=env.get("WHATSAM_JWT_AUDIENCE", "whatsam-api"),
            access_token_ttl_seconds=min(int(env.get("WHATSAM_ACCESS_TOKEN_TTL", "900")), 900),
            refresh_token_ttl_seconds=int(env.get("WHATSAM_REFRESH_TOKEN_TTL", str(30 * 24 * 3600))),
            max_body_bytes=int(env.get("WHATSAM_MAX_BODY_BYTES", str(64 * 1024))),
            kms_key_id=env.get("WHATSAM_KMS_KEY_ID", ""),
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
