"""Session settings on the session's item: read in one consistent read, changed setting by
setting (an update per attribute, so concurrent changes of different settings both land)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from whatsam.adapters.conditions import conditional_failed
from whatsam.adapters.dynamo_models import SessionModel
from whatsam.domain.settings import SessionSettings


def _settings(item: SessionModel) -> SessionSettings:
    defaults = SessionSettings()
    return SessionSettings(
        reject_calls=bool(item.reject_calls) if item.reject_calls is not None else defaults.reject_calls,
        reject_message=item.reject_message,
        history_sync=item.history_sync or defaults.history_sync,  # type: ignore[arg-type]
        proxy=item.proxy,
        proxy_sealed=item.proxy_sealed,
    )


class SessionSettingsRepository:
    def get(self, session_id: str) -> SessionSettings | None:
        """The session's settings, or None when there is no such session."""
        try:
            return _settings(SessionModel.get(session_id, consistent_read=True))
        except DoesNotExist:
            return None

    def change(self, session_id: str, changes: dict[str, Any]) -> SessionSettings | None:
        """Set the given settings (a None value clears one back to its default); the settings
        after the change, or None when there is no such session."""
        actions: list[Action] = []
        for name, value in changes.items():
            attribute = getattr(SessionModel, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        item = SessionModel(session_id=session_id)
        try:
            if actions:
                item.update(actions=actions, condition=SessionModel.session_id.exists())
        except UpdateError as exc:
            if conditional_failed(exc):
                return None
            raise
        return self.get(session_id)
