"""Channels (newsletters, spec §3.10): every call is an engine call to the worker holding the
session (`engine_calls.EngineCalls`). A channel id in the path is a ``…@newsletter`` JID or its
digits. WhatsApp's refusals come back with their codes: an unknown channel is a 404, posting or
acting as owner on someone else's channel a 403, a name WhatsApp refuses a 422."""

from __future__ import annotations

from typing import Any

from whatsam.errors import AppError, Forbidden, NotFound, Unprocessable
from whatsam.messaging import recipients
from whatsam.services.engine_calls import EngineCalls, EngineFailed

INVITE_LINK_PREFIX = "https://whatsapp.com/channel/"

_REFUSALS: dict[str, type[AppError]] = {
    "channel_not_found": NotFound,
    "not_channel_owner": Forbidden,
    "channel_request_invalid": Unprocessable,
    "channel_operation_failed": EngineFailed,
}


def channel_jid(raw: str) -> str:
    """A channel id from the path: a ``…@newsletter`` JID, or its digits; else a 400."""
    return recipients.jid_from_path(raw, "newsletter", recipients.is_valid_channel, what="channel",
                                    code="invalid_channel_id")


def channel_view(info: dict[str, Any]) -> dict[str, Any]:
    """A channel as the engine answered it, as the API shows it."""
    code = info.get("invite_code")
    return {"jid": info["jid"], "name": info["name"], "description": info.get("description"),
            "invite_link": f"{INVITE_LINK_PREFIX}{code}" if code else None,
            "subscribers": info.get("subscribers", 0), "role": info.get("role"), "muted": bool(info.get("muted")),
            "verified": bool(info.get("verified")), "created_at": info.get("created_at"),
            "picture_url": info.get("picture_url")}


class ChannelService:
    def __init__(self, calls: EngineCalls):
        self._calls = calls

    def _ask(self, session_id: str, operation: str, **args: Any) -> Any:
        return self._calls.ask(session_id, operation, _REFUSALS, **args)

    def create(self, session_id: str, name: str, description: str | None) -> dict[str, Any]:
        return channel_view(self._ask(session_id, "create_channel", name=name, description=description))

    def followed(self, session_id: str) -> list[dict[str, Any]]:
        return [channel_view(info) for info in self._ask(session_id, "followed_channels")]

    def info(self, session_id: str, channel: str) -> dict[str, Any]:
        return channel_view(self._ask(session_id, "channel_info", channel_jid=channel_jid(channel)))

    def follow(self, session_id: str, channel: str, *, following: bool) -> dict[str, Any]:
        jid = channel_jid(channel)
        self._ask(session_id, "follow_channel" if following else "unfollow_channel", channel_jid=jid)
        return {"channel": jid, "following": following}

    def messages(self, session_id: str, channel: str, *, count: int, before: int | None) -> dict[str, Any]:
        jid = channel_jid(channel)
        posts = self._ask(session_id, "channel_messages", channel_jid=jid, count=count, before=before)
        return {"channel": jid, "messages": posts}
