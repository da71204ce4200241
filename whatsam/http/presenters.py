"""How entities look on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whatsam.adapters.workers import WorkerInfo
from whatsam.domain.model import ApiKey, SessionCard, User
from whatsam.domain.tiers import limits_for


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user_view(user: User) -> dict[str, Any]:
    limits = limits_for(user.tier)
    return {
        "id": user.user_id, "email": user.email, "name": user.name, "role": user.role.value,
        "tier": user.tier.value, "active": user.active, "created_at": iso(user.created_at),
        "limits": {"sessions": limits.sessions, "messages_per_hour": limits.messages_per_hour,
                   "api_calls_per_hour": limits.api_calls_per_hour},
    }


def session_view(card: SessionCard) -> dict[str, Any]:
    return {
        "id": card.session_id, "name": card.name, "description": card.description,
        "status": card.status.value, "status_version": card.status_version, "phone": card.phone,
        "worker_id": card.worker_id, "created_at": iso(card.created_at), "updated_at": iso(card.updated_at),
    }


def api_key_view(key: ApiKey, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": key.key_id, "session_id": key.session_id, "name": key.name, "prefix": key.prefix,
        "created_at": iso(key.created_at), "last_used_at": iso(key.last_used_at),
        "revoked_at": iso(key.revoked_at), "active": key.active,
    }
    if secret is not None:
        view["key"] = secret
    return view


def worker_view(worker: WorkerInfo) -> dict[str, Any]:
    return {
        "id": worker.worker_id, "status": worker.status, "endpoint": worker.endpoint, "capacity": worker.capacity,
        "version": worker.version, "engine": worker.engine, "started_at": iso(worker.started_at),
        "last_heartbeat": iso(worker.last_heartbeat), "stats": worker.stats,
    }
