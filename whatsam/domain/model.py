"""Domain entities and their rules, free of I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from whatsam.domain.tiers import Tier
from whatsam.errors import Conflict


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_z(value: datetime) -> str:
    """ISO 8601 with `Z` for UTC, as every timestamp the API and webhooks show."""
    return value.isoformat().replace("+00:00", "Z")


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class SessionStatus(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    # Its worker died: another worker is taking it over (no new scan); not `connected` meanwhile.
    RECONNECTING = "reconnecting"
    QR = "qr"
    CONNECTED = "connected"
    LOGGED_OUT = "logged_out"
    FAILED = "failed"
    BANNED = "banned"


# Where a session settles when its owner ends it (disconnect, logout): its holder lets it go.
ENDED_BY_OWNER = frozenset({SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT})
# A connect request while in one of these is a no-op: the worker is already on it.
CONNECT_IN_PROGRESS = frozenset({SessionStatus.CONNECTING, SessionStatus.RECONNECTING, SessionStatus.QR,
                                 SessionStatus.CONNECTED})
# A card still `connecting` (or `reconnecting`) this long after the request lost its command
# (no worker took it); asking again re-sends it. The lease keeps a late duplicate from
# opening two sockets.
CONNECT_STALE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    name: str
    password_hash: str
    role: Role = Role.USER
    tier: Tier = Tier.BASIC
    active: bool = True
    created_at: datetime = field(default_factory=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class SessionCard:
    session_id: str
    tenant_id: str
    name: str
    description: str = ""
    status: SessionStatus = SessionStatus.DISCONNECTED
    # Grows on every status change; long-polls and stale-event checks compare against it.
    status_version: int = 0
    phone: str | None = None
    worker_id: str | None = None
    # Sequence number of the last worker event applied to the card.
    event_seq: int = 0
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def request_connect(self, now: datetime | None = None) -> SessionCard | None:
        """The card after a connect request, or None when a connect is already under way."""
        now = now or utcnow()
        stale = (self.status in (SessionStatus.CONNECTING, SessionStatus.RECONNECTING)
                 and now - self.updated_at > CONNECT_STALE_AFTER)
        if self.status in CONNECT_IN_PROGRESS and not stale:
            return None
        if self.status is SessionStatus.BANNED:
            raise Conflict("This number is temporarily banned by WhatsApp; try again later.",
                           code="session_banned")
        # No worker serves it until one claims the connect (and says so in its `connecting`).
        return replace(self, status=SessionStatus.CONNECTING, status_version=self.status_version + 1,
                       worker_id=None, updated_at=now)


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    session_id: str
    tenant_id: str
    key_hash: str
    # The first characters of the secret, safe to show so a user can tell keys apart.
    prefix: str
    name: str = ""
    created_at: datetime = field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
