"""Profile, presence, calls, blocklist and privacy in the simulated WhatsApp, and the dev
simulations that make contacts act (``call.ring``, ``presence.update``, ``chat.presence``).

WhatsApp's rules, made deterministic: numbers ending in 0 are not on WhatsApp (no picture, no
presence); a contact's presence reaches this session only after it subscribed to it, and a
subscription answers the contact's current presence at once; a call is rejected by its id while
it rings, and a rejected call ends. State lives with the client (a dev session's worker)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from whatsam.contracts.profile import PRIVACY_CHOICES, PRIVACY_NAMES
from worker_fleet.engines.base import EngineEvent, split_jid
from worker_fleet.engines.errors import EngineError, EngineRefusedError
from worker_fleet.engines.profile import (
    CallEnded,
    CallOffered,
    ChatPresenceChanged,
    ContactPresence,
    OfferedCalls,
    OwnPresence,
    PictureInfo,
    PresenceUpdated,
    ProfileInfo,
    TypingState,
)
from worker_fleet.engines.simulated_groups import phone_jid
from worker_fleet.engines.simulated_identity import simulated_is_on_whatsapp
from worker_fleet.engines.simulated_store import LinkedDevice

PICTURE_URL = "https://pps.whatsapp.simulated/v/{user}.jpg"


@dataclass
class SimulatedContactState:
    name: str | None = None
    about: str | None = None
    picture_id: str | None = None
    own_presence: OwnPresence = "unavailable"
    subscribed: set[str] = field(default_factory=set)
    presences: dict[str, tuple[ContactPresence, datetime | None]] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)
    privacy: dict[str, str] = field(default_factory=lambda: dict.fromkeys(PRIVACY_NAMES, "all"))
    calls: OfferedCalls = field(default_factory=OfferedCalls)


def _on_whatsapp_jid(jid: str) -> str:
    user, server = split_jid(jid)
    if server == "s.whatsapp.net" and not simulated_is_on_whatsapp(user):
        raise EngineRefusedError("not_on_whatsapp", f"{user} is not on WhatsApp")
    return jid


class SimulatedProfile:
    """Profile, presence, calls, blocklist and privacy of `SimulatedClient`."""

    _session_id: str
    proxy_url: str | None = None
    _contact_state: SimulatedContactState | None = None

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _connected_device(self) -> LinkedDevice: ...
        def _push(self, event: EngineEvent) -> None: ...

    @property
    def _contacts(self) -> SimulatedContactState:
        self._connected_device()
        if self._contact_state is None:
            self._contact_state = SimulatedContactState()
        return self._contact_state

    # -- profile ----------------------------------------------------------------------------

    async def get_profile(self) -> ProfileInfo:
        state = self._contacts
        return ProfileInfo(state.name, state.about, state.picture_id)

    async def update_profile(self, name: str | None = None, about: str | None = None) -> ProfileInfo:
        state = self._contacts
        if name is not None:
            state.name = name
        if about is not None:
            state.about = about or None  # as WhatsApp answers a cleared about text
        return await self.get_profile()

    async def set_profile_picture(self, media: bytes) -> str:
        if not bytes(media).startswith(b"\xff\xd8"):
            raise EngineError("a profile picture must be a JPEG")
        self._contacts.picture_id = str(int(datetime.now(UTC).timestamp() * 1000))
        return self._contacts.picture_id

    async def remove_profile_picture(self) -> None:
        self._contacts.picture_id = None

    async def contact_picture(self, jid: str) -> PictureInfo:
        self._connected_device()
        user, _server = split_jid(_on_whatsapp_jid(jid))
        picture_id = str(int(hashlib.sha256(user.encode()).hexdigest()[:10], 16))
        return PictureInfo(PICTURE_URL.format(user=user), picture_id)

    # -- presence -------------------------------------------------------------------------------

    async def set_own_presence(self, state: OwnPresence) -> None:
        self._contacts.own_presence = state

    async def subscribe_presence(self, jid: str) -> None:
        state = self._contacts
        _on_whatsapp_jid(jid)
        state.subscribed.add(jid)
        current, last_seen = state.presences.get(jid, ("available", None))
        self._push(PresenceUpdated(jid, current, last_seen))

    # -- calls ------------------------------------------------------------------------------------

    async def reject_call(self, call_id: str) -> None:
        calls = self._contacts.calls
        caller = calls.caller(call_id)
        calls.rejected(call_id)
        self._push(CallEnded(call_id, caller, "rejected"))

    # -- blocklist and privacy --------------------------------------------------------------------

    async def blocklist(self) -> list[str]:
        return list(self._contacts.blocked)

    async def update_blocklist(self, jid: str, block: bool) -> list[str]:
        blocked = self._contacts.blocked
        if block and jid not in blocked:
            blocked.append(_on_whatsapp_jid(jid))
        elif not block and jid in blocked:
            blocked.remove(jid)
        return list(blocked)

    async def privacy_settings(self) -> dict[str, str | None]:
        return dict(self._contacts.privacy)

    async def set_privacy(self, name: str, value: str) -> dict[str, str | None]:
        if value not in PRIVACY_CHOICES.get(name, ()):
            raise EngineError(f"WhatsApp does not accept {value!r} for {name!r}")
        self._contacts.privacy[name] = value
        return await self.privacy_settings()

    # -- dev: what contacts do --------------------------------------------------------------------

    async def dev_call_ring(self, phone: str, video: bool = False, **_: Any) -> dict[str, Any]:
        """`phone` calls this session; the call rings until rejected."""
        caller = _on_whatsapp_jid(phone_jid(phone))
        call_id = secrets.token_hex(16).upper()
        self._contacts.calls.offered(call_id, caller)
        self._push(CallOffered(call_id, caller, bool(video), False))
        return {"call_id": call_id, "from": caller, "video": bool(video)}

    async def dev_presence_update(self, phone: str, state: str = "available", **_: Any) -> dict[str, Any]:
        """`phone` comes online or goes away; news for this session only if it subscribed."""
        if state not in ("available", "unavailable"):
            raise EngineError("a contact's presence is available or unavailable")
        contacts = self._contacts
        jid = _on_whatsapp_jid(phone_jid(phone))
        presence: ContactPresence = "available" if state == "available" else "unavailable"
        last_seen = datetime.now(UTC).replace(microsecond=0) if presence == "unavailable" else None
        contacts.presences[jid] = (presence, last_seen)
        subscribed = jid in contacts.subscribed
        if subscribed:
            self._push(PresenceUpdated(jid, presence, last_seen))
        return {"chat": jid, "state": presence, "subscribed": subscribed}

    async def dev_chat_presence(self, phone: str, state: str = "composing", group: str | None = None,
                                **_: Any) -> dict[str, Any]:
        """`phone` types, records or stops, in its chat with this session (or in `group`)."""
        if state not in ("composing", "recording", "paused"):
            raise EngineError("a chat presence is composing, recording or paused")
        typing: TypingState = state  # type: ignore[assignment]
        jid = _on_whatsapp_jid(phone_jid(phone))
        chat = group or jid
        self._connected_device()
        self._push(ChatPresenceChanged(chat, jid, typing))
        return {"chat": chat, "participant": jid, "state": typing}
