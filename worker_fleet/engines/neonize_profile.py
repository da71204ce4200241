"""Profile, presence, calls, blocklist and privacy of the neonize engine (mixed into
`NeonizeClient`), through neonize 0.5.2's own async client as installed: ``get_me``,
``get_user_info``, ``set_profile_name``, ``set_status_message``, ``set_profile_photo``,
``get_profile_picture``, ``send_presence``, ``subscribe_presence``, ``reject_call``,
``get_blocklist``, ``update_blocklist``, ``get_privacy_settings``, ``set_privacy_setting``; and
its ``Presence``, ``ChatPresence``, ``CallOffer``, ``CallOfferNotice`` and ``CallTerminate`` events.

Gaps of neonize 0.5.2, answered ``not_supported_by_engine`` instead of pretended: its
``set_profile_photo`` cannot pass the nil picture whatsmeow needs to remove one. Its
``PrivacySetting.CONTACTS_BLACKLIST`` says ``contacts_blacklist`` where WhatsApp (whatsmeow's
``PrivacySettingContactBlacklist``) says ``contact_blacklist``, so values go out as WhatsApp's own
strings (`_WireValue`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from whatsam.contracts.profile import PRIVACY_NAMES
from worker_fleet.engines.base import EngineError, EngineEvent
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.neonize_mapping import jid_from_text, jid_text
from worker_fleet.engines.neonize_runtime import (
    BlocklistAction,
    NeonizeError,
    Presence,
    PrivacySettingType,
    neonize_proto,
)
from worker_fleet.engines.profile import (
    CallEnded,
    CallOffered,
    ChatPresenceChanged,
    OfferedCalls,
    OwnPresence,
    PictureInfo,
    PresenceUpdated,
    ProfileInfo,
    TypingState,
)

_SETTING_TYPE = {
    "last_seen": PrivacySettingType.LAST_SEEN,
    "online": PrivacySettingType.ONLINE,
    "profile_picture": PrivacySettingType.PROFILE,
    "about": PrivacySettingType.STATUS,
    "read_receipts": PrivacySettingType.READ_RECEIPTS,
    "groups_add": PrivacySettingType.GROUP_ADD,
    "call_add": PrivacySettingType.CALL_ADD,
}
# Our names → the fields of neonize's `PrivacySettings` answer.
_SETTING_FIELD = {"last_seen": "LastSeen", "online": "Online", "profile_picture": "Profile", "about": "Status",
                  "read_receipts": "ReadReceipts", "groups_add": "GroupAdd", "call_add": "CallAdd"}
_PROTO_VALUE = {
    neonize_proto.PrivacySettings.ALL: "all",
    neonize_proto.PrivacySettings.CONTACTS: "contacts",
    neonize_proto.PrivacySettings.CONTACT_BLACKLIST: "contact_blacklist",
    neonize_proto.PrivacySettings.MATCH_LAST_SEEN: "match_last_seen",
    neonize_proto.PrivacySettings.KNOWN: "known",
    neonize_proto.PrivacySettings.NONE: "none",
}


@dataclass(frozen=True)
class _WireValue:
    """What neonize's ``set_privacy_setting`` reads of a value: its ``.value``, sent as is."""

    value: str


def privacy_from(settings: Any) -> dict[str, str | None]:
    return {name: _PROTO_VALUE.get(getattr(settings, field)) for name, field in _SETTING_FIELD.items()}


def presence_updated_from(event: Any) -> PresenceUpdated:
    last_seen = datetime.fromtimestamp(event.LastSeen, UTC) if event.LastSeen > 0 else None
    return PresenceUpdated(jid_text(event.From), "unavailable" if event.Unavailable else "available", last_seen)


def chat_presence_from(event: Any) -> ChatPresenceChanged:
    state: TypingState = "paused"
    if event.State == neonize_proto.ChatPresence.COMPOSING:
        state = "recording" if event.Media == neonize_proto.ChatPresence.AUDIO else "composing"
    source = event.MessageSource
    return ChatPresenceChanged(jid_text(source.Chat), jid_text(source.Sender), state)


def _caller(meta: Any) -> Any:
    creator = meta.callCreator
    return creator if creator.User else getattr(meta, "from")


def call_offered_from(event: Any) -> tuple[CallOffered, str]:
    """The offer, and its caller exactly as delivered (what ``reject_call`` needs)."""
    meta = event.basicCallMeta
    caller = _caller(meta)
    if isinstance(event, neonize_proto.CallOfferNotice):
        video, group = event.media == "video", event.type == "group"
    else:
        video = any(node.Tag == "video" for node in event.data.Nodes)
        group = getattr(meta, "from").Server == "g.us"
    return CallOffered(meta.callID, jid_text(caller), video, group), jid_text(caller, keep_device=True)


def call_ended_from(event: Any) -> CallEnded:
    meta = event.basicCallMeta
    return CallEnded(meta.callID, jid_text(_caller(meta)), event.reason or None)


class NeonizeProfile:
    """Profile, presence, calls, blocklist and privacy of `NeonizeClient`."""

    _session_id: str
    _offered_calls: OfferedCalls

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _connected_native(self) -> contextlib.AbstractAsyncContextManager[Any]: ...
        def _push(self, event: EngineEvent) -> None: ...

    @contextlib.asynccontextmanager
    async def _profile_call(self, operation: str) -> AsyncIterator[Any]:
        async with self._connected_native() as native:
            try:
                yield native
            except NeonizeError as exc:
                raise EngineError(f"{operation} failed: {exc}") from exc

    # -- profile ----------------------------------------------------------------------------

    async def get_profile(self) -> ProfileInfo:
        async with self._profile_call("get_me") as native:
            me = await native.get_me()
            infos = await native.get_user_info(jid_from_text(jid_text(me.JID)))
        info = infos[0].UserInfo if infos else None
        return ProfileInfo(me.PushName or None, (info.Status or None) if info else None,
                           (info.PictureID or None) if info else None)

    async def update_profile(self, name: str | None = None, about: str | None = None) -> ProfileInfo:
        async with self._profile_call("set_profile_name") as native:
            if name is not None:
                await native.set_profile_name(name)
            if about is not None:
                await native.set_status_message(about)
        return await self.get_profile()

    async def set_profile_picture(self, media: bytes) -> str:
        async with self._profile_call("set_profile_photo") as native:
            return str(await native.set_profile_photo(bytes(media)))

    async def remove_profile_picture(self) -> None:
        raise EngineRefusedError("not_supported_by_engine", "neonize 0.5.2 cannot remove a profile picture")

    async def contact_picture(self, jid: str) -> PictureInfo:
        async with self._connected_native() as native:
            try:
                picture = await native.get_profile_picture(jid_from_text(jid))
            except NeonizeError as exc:
                # whatsmeow: no picture set, or hidden from this account by the contact's privacy.
                raise EngineRefusedError("no_profile_picture", f"no picture of {jid} to show: {exc}") from exc
        if not picture.URL:
            raise EngineRefusedError("no_profile_picture", f"{jid} has no profile picture")
        return PictureInfo(picture.URL, picture.ID)

    # -- presence -----------------------------------------------------------------------------

    async def set_own_presence(self, state: OwnPresence) -> None:
        async with self._profile_call("send_presence") as native:
            await native.send_presence(Presence.AVAILABLE if state == "available" else Presence.UNAVAILABLE)

    async def subscribe_presence(self, jid: str) -> None:
        async with self._profile_call("subscribe_presence") as native:
            await native.subscribe_presence(jid_from_text(jid))

    # -- calls ----------------------------------------------------------------------------------

    async def reject_call(self, call_id: str) -> None:
        caller = self._offered_calls.caller(call_id)
        async with self._profile_call("reject_call") as native:
            await native.reject_call(jid_from_text(caller), call_id)
        self._offered_calls.rejected(call_id)
        self._push(CallEnded(call_id, jid_text(jid_from_text(caller)), "rejected"))

    # -- blocklist and privacy --------------------------------------------------------------------

    async def blocklist(self) -> list[str]:
        async with self._profile_call("get_blocklist") as native:
            blocked = await native.get_blocklist()
        return [jid_text(jid) for jid in blocked.JIDs]

    async def update_blocklist(self, jid: str, block: bool) -> list[str]:
        action = BlocklistAction.BLOCK if block else BlocklistAction.UNBLOCK
        async with self._profile_call("update_blocklist") as native:
            blocked = await native.update_blocklist(jid_from_text(jid), action)
        return [jid_text(item) for item in blocked.JIDs]

    async def privacy_settings(self) -> dict[str, str | None]:
        async with self._profile_call("get_privacy_settings") as native:
            return privacy_from(await native.get_privacy_settings())

    async def set_privacy(self, name: str, value: str) -> dict[str, str | None]:
        if name not in PRIVACY_NAMES:
            raise EngineError(f"unknown privacy setting {name!r}")
        async with self._profile_call("set_privacy_setting") as native:
            await native.set_privacy_setting(_SETTING_TYPE[name], _WireValue(value))
            return privacy_from(await native.get_privacy_settings())

    # -- events ---------------------------------------------------------------------------------

    def _on_presence(self, _attempt: Any, event: Any) -> None:
        self._push(presence_updated_from(event))

    def _on_chat_presence(self, _attempt: Any, event: Any) -> None:
        self._push(chat_presence_from(event))

    def _on_call_offer(self, _attempt: Any, event: Any) -> None:
        offered, caller = call_offered_from(event)
        self._offered_calls.offered(offered.call_id, caller)
        self._push(offered)

    def _on_call_terminate(self, _attempt: Any, event: Any) -> None:
        ended = call_ended_from(event)
        if self._offered_calls.ended(ended.call_id):
            self._push(ended)

    def _contact_handlers(self) -> dict[Any, Any]:
        return {
            neonize_proto.Presence: self._on_presence,
            neonize_proto.ChatPresence: self._on_chat_presence,
            neonize_proto.CallOffer: self._on_call_offer,
            neonize_proto.CallOfferNotice: self._on_call_offer,
            neonize_proto.CallTerminate: self._on_call_terminate,
        }
