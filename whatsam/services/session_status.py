"""Reading a session's live state: the current QR (as text and PNG) and the status
long-poll that answers as soon as the status version passes what the client has seen."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from typing import Any

import qrcode
from qrcode.image.pure import PyPNGImage

from whatsam.adapters.session_cache import SessionCache, status_channel
from whatsam.domain.model import SessionCard, User
from whatsam.errors import NotFound
from whatsam.services.sessions import SessionService

MAX_WAIT_SECONDS = 25  # below API Gateway's 29 s integration timeout


def qr_png(data: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(data, image_factory=PyPNGImage, box_size=8, border=2).save(buffer)
    return buffer.getvalue()


class SessionStatusService:
    def __init__(self, sessions: SessionService, cache: SessionCache):
        self._sessions = sessions
        self._cache = cache

    def current_qr(self, owner: User, session_id: str) -> dict[str, Any]:
        card = self._sessions.get(owner, session_id)
        qr = self._cache.get_qr(card.session_id)
        if qr is None or qr["expires_at"] <= time.time():
            raise NotFound("No QR code right now: connect the session, or it is already paired.",
                           code="qr_not_available", details={"status": card.status.value})
        return {"qr": qr["qr"], "expires_at": qr["expires_at"], "status": card.status.value}

    def wait_for_change(self, owner: User, session_id: str, *, since: int | None, wait: int) -> SessionCard:
        return self.wait_past(lambda: self._sessions.get(owner, session_id), since=since, wait=wait)

    def wait_past(self, read: Callable[[], SessionCard], *, since: int | None, wait: int) -> SessionCard:
        """The card `read` returns, as soon as its status version passes `since` (at most `wait` s)."""
        card = read()
        if since is None or wait <= 0 or card.status_version > since:
            return card
        deadline = time.monotonic() + min(wait, MAX_WAIT_SECONDS)
        pubsub = self._cache.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(status_channel(card.session_id))
        try:
            # Re-read after subscribing: a change between the first read and the subscribe is not missed.
            card = read()
            while card.status_version <= since:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if pubsub.get_message(timeout=min(remaining, 1.0)) is not None or remaining < 1.0:
                    card = read()
        finally:
            pubsub.close()
        return card


def qr_view(qr: dict[str, Any]) -> dict[str, Any]:
    png = base64.b64encode(qr_png(qr["qr"])).decode()
    return {**qr, "png": f"data:image/png;base64,{png}"}
