"""Reading and changing a session's settings (spec §3.10), for the card's owner."""

from __future__ import annotations

from typing import Any

from whatsam.adapters.session_settings import SessionSettingsRepository
from whatsam.domain.model import User
from whatsam.domain.settings import SessionSettings
from whatsam.errors import NotFound
from whatsam.services.session_proxy import ProxySealer
from whatsam.services.sessions import SessionService


class SessionSettingsService:
    def __init__(self, sessions: SessionService, settings: SessionSettingsRepository, proxies: ProxySealer):
        self._sessions = sessions
        self._settings = settings
        self._proxies = proxies

    def get(self, owner: User, session_id: str) -> SessionSettings:
        self._sessions.get(owner, session_id)
        return self._found(self._settings.get(session_id))

    def change(self, owner: User, session_id: str, changes: dict[str, Any]) -> SessionSettings:
        """Apply `changes` (setting name → value; None clears it back to its default)."""
        card = self._sessions.get(owner, session_id)
        if "proxy" in changes:
            changes = dict(changes)
            url = changes.pop("proxy")
            proxy = None if url is None else self._proxies.seal(url, tenant_id=card.tenant_id, session_id=session_id)
            changes["proxy"] = proxy.shown if proxy else None
            changes["proxy_sealed"] = proxy.sealed if proxy else None
        return self._found(self._settings.change(session_id, changes))

    @staticmethod
    def _found(settings: SessionSettings | None) -> SessionSettings:
        if settings is None:  # deleted between the ownership check and the read
            raise NotFound("No such session.", code="session_not_found")
        return settings
