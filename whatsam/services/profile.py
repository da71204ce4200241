"""The session's own profile, presence, calls, blocklist and privacy (spec §3.10): each call is an
`EngineCall` to the worker holding the session. Contacts are named by E.164 number or JID; a group
where a person is meant is a 400. A call id the session's worker has not seen ring (or that
stopped ringing) is a 404, as is a contact without a picture this account may see."""

from __future__ import annotations

import uuid
from typing import Any

from whatsam.contracts.profile import PRIVACY_CHOICES
from whatsam.errors import AppError, NotFound, ValidationFailed
from whatsam.messaging import recipients
from whatsam.messaging.media import MediaStore
from whatsam.services.engine_calls import EngineCalls

_REFUSALS: dict[str, type[AppError]] = {
    "call_not_found": NotFound,
    "no_profile_picture": NotFound,
    "not_on_whatsapp": NotFound,
}
CALL_ID_MAX = 64


def contact_jid(raw: str) -> str:
    """A person's JID from an E.164 number or a phone/LID JID; else (a group too) a 400."""
    try:
        jid = recipients.to_jid(raw)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, code="invalid_contact", details={"contact": raw[:100]}) from exc
    if recipients.is_group(jid):
        raise ValidationFailed("A contact is a person, not a group.", code="invalid_contact", details={"contact": raw})
    return jid


def call_id_of(raw: str) -> str:
    value = raw.strip()
    if not value or len(value) > CALL_ID_MAX or not value.isalnum():
        raise ValidationFailed("Not a call id (letters and digits, as `call.received` gives it).",
                               code="invalid_call_id", details={"call_id": raw[:100]})
    return value


class ProfileService:
    def __init__(self, calls: EngineCalls, media: MediaStore):
        self._calls = calls
        self._media = media

    # -- profile ----------------------------------------------------------------------------

    def profile(self, session_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._ask(session_id, "get_profile")
        return answer

    def update_profile(self, session_id: str, *, name: str | None, about: str | None) -> dict[str, Any]:
        answer: dict[str, Any] = self._ask(session_id, "update_profile", name=name, about=about)
        return answer

    def set_picture(self, session_id: str, jpeg: bytes) -> dict[str, Any]:
        card = self._calls.connected_card(session_id)
        key = f"profile/{card.tenant_id}/{session_id}/{uuid.uuid4().hex}.jpg"
        self._media.put(key, jpeg, "image/jpeg")
        return {"picture_id": self._ask(session_id, "set_profile_picture", media_key=key)}

    def remove_picture(self, session_id: str) -> None:
        self._ask(session_id, "remove_profile_picture")

    def contact_picture(self, session_id: str, contact: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._ask(session_id, "contact_picture", jid=contact_jid(contact))
        return answer

    # -- presence and calls -----------------------------------------------------------------------

    def set_presence(self, session_id: str, state: str) -> dict[str, Any]:
        self._ask(session_id, "set_own_presence", state=state)
        return {"state": state}

    def subscribe_presence(self, session_id: str, contact: str) -> dict[str, Any]:
        jid = contact_jid(contact)
        self._ask(session_id, "subscribe_presence", jid=jid)
        return {"contact": jid, "subscribed": True}

    def reject_call(self, session_id: str, call_id: str) -> dict[str, Any]:
        value = call_id_of(call_id)
        self._ask(session_id, "reject_call", call_id=value)
        return {"call_id": value, "rejected": True}

    # -- blocklist and privacy --------------------------------------------------------------------

    def blocklist(self, session_id: str) -> dict[str, Any]:
        return {"blocked": self._ask(session_id, "blocklist")}

    def block(self, session_id: str, contact: str, *, block: bool) -> dict[str, Any]:
        blocked = self._ask(session_id, "update_blocklist", jid=contact_jid(contact), block=block)
        return {"blocked": blocked}

    def privacy(self, session_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._ask(session_id, "privacy_settings")
        return answer

    def update_privacy(self, session_id: str, changes: dict[str, str]) -> dict[str, Any]:
        for name, value in changes.items():
            if value not in PRIVACY_CHOICES[name]:
                raise ValidationFailed(f"WhatsApp does not offer {value!r} for `{name}`.", code="invalid_privacy_value",
                                       details={"setting": name, "allowed": list(PRIVACY_CHOICES[name])})
        self._calls.connected_card(session_id)
        answer: dict[str, Any] = {}
        for name, value in changes.items():
            answer = self._ask(session_id, "set_privacy", name=name, value=value)
        return answer

    def _ask(self, session_id: str, operation: str, **args: Any) -> Any:
        return self._calls.ask(session_id, operation, _REFUSALS, **args)
