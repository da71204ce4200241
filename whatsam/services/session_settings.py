"""Reading and changing a session's settings (spec §3.10), for the card's owner."""

from __future__ import annotations

from typing import Any

from whatsam.adapters.session_settings import SessionSettingsRepository
from whatsam.domain.model import User
from whatsam.domain.settings import SessionSettings
from whatsam.errors import NotFound
from whatsam.services.sessions import SessionService


class SessionSettingsService:
    def __init__(self, sessions: SessionService, settings: SessionSettingsRepository):
        self._sessions = sessions
        self._settings = settings

    def get(self, owner: User, session_id: str) -> SessionSettings:
        self._sessions.get(owner, session_id)
        return self._found(self._settings.get(session_id))

    def change(self, owner: User, session_id: str, changes: dict[str, Any]) -> SessionSettings:
        """Apply `changes` (setting name → value; None clears it back to its default)."""
        self._sessions.get(owner, session_id)
        return self._found(self._settings.change(session_id, changes))

    @staticmethod
    def _found(settings: SessionSettings | None) -> SessionSettings:
        if settings is None:  # deleted between the ownership check and the read
            raise NotFound("No such session.", code="session_not_found")
        return settings
