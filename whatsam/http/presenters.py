"""How entities look on the wire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from whatsam.adapters.workers import WorkerInfo
from whatsam.domain.model import ApiKey, SessionCard, User, iso_z
from whatsam.domain.settings import SessionSettings
from whatsam.domain.tiers import limits_for
from whatsam.messaging.recipients import phone_of
from whatsam.messaging.record import MessageRecord


def iso(value: datetime | None) -> str | None:
    return iso_z(value) if value else None


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.user_id, "email": user.email, "name": user.name, "role": user.role.value,
        "tier": user.tier.value, "active": user.active, "created_at": iso(user.created_at),
        "limits": limits_for(user.tier).public(),
    }


def session_view(card: SessionCard) -> dict[str, Any]:
    return {
        "id": card.session_id, "name": card.name, "description": card.description,
        "status": card.status.value, "status_version": card.status_version, "phone": card.phone,
        "worker_id": card.worker_id, "created_at": iso(card.created_at), "updated_at": iso(card.updated_at),
    }


def settings_view(settings: SessionSettings) -> dict[str, Any]:
    return {"reject_calls": settings.reject_calls, "reject_message": settings.reject_message,
            "history_sync": settings.history_sync, "proxy": settings.proxy}


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


def message_view(record: MessageRecord, media_url: Callable[[str], str]) -> dict[str, Any]:
    """A message as the API shows it; stored media keys become short-lived download links."""
    payload = dict(record.payload)
    media = payload.get("media")
    if isinstance(media, dict) and media.get("key"):
        payload["media"] = {k: v for k, v in media.items() if k != "key"} | {"url": media_url(media["key"])}
    view: dict[str, Any] = {
        "id": record.message_id, "session_id": record.session_id, "direction": record.direction,
        "chat": record.chat_jid, "type": record.type, "status": record.status.value, "wa_id": record.wa_id,
        "created_at": iso(record.created_at), "timeline": record.timeline, "error": record.error,
        "revoked": record.revoked, "source": record.source, "content": payload,
    }
    if record.direction == "in":
        view["from"] = {"jid": payload.get("sender_jid"), "phone": payload.get("sender_phone"),
                        "lid": payload.get("sender_lid")}
    else:
        view["to"] = record.chat_jid
        view["phone"] = phone_of(record.chat_jid)
    return view
