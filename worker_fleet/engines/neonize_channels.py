"""Channels (newsletters) on the neonize engine (mixed into `NeonizeClient`).

neonize 0.5.2's own async calls, names and signatures as installed: ``create_newsletter(name,
description, picture)``, ``get_subscribed_newletters()`` (sic), ``get_newsletter_info(jid)``,
``follow_newsletter(jid)``, ``unfollow_newsletter(jid)`` and ``get_newsletter_messages(jid, count,
before)``. whatsmeow's refusals become `ChannelRefusedError` codes (`channel_refusal`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker_fleet.engines.channels import (
    CHANNEL_MESSAGES_MAX,
    ChannelInfo,
    ChannelMessage,
    ChannelRefusedError,
    ChannelRole,
    is_channel_jid,
)
from worker_fleet.engines.neonize_mapping import jid_from_text, jid_text, message_kind, message_text
from worker_fleet.engines.neonize_runtime import NeonizeError, neonize_proto

_ROLES: dict[int, ChannelRole] = {
    neonize_proto.NewsletterRole.OWNER: "owner",
    neonize_proto.NewsletterRole.ADMIN: "admin",
    neonize_proto.NewsletterRole.SUBSCRIBER: "subscriber",
    neonize_proto.NewsletterRole.GUEST: "guest",
}
_VERIFIED = neonize_proto.NewsletterThreadMetadata.NewsletterVerificationState.Value("VERIFIED")
# whatsmeow's error texts (info query status codes) → refusal codes.
_REFUSALS = (
    (("404", "item-not-found", "not-found"), "channel_not_found"),
    (("403", "forbidden", "not-authorized", "401"), "not_channel_owner"),
    (("400", "bad-request", "406", "not-acceptable"), "channel_request_invalid"),
)


def channel_refusal(error: Exception) -> ChannelRefusedError:
    text = str(error)
    lowered = text.lower()
    for needles, code in _REFUSALS:
        if any(needle in lowered for needle in needles):
            return ChannelRefusedError(code, text)
    return ChannelRefusedError("channel_operation_failed", text)


def _seconds(value: int) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value > 0 else None


def channel_info_from(metadata: Any) -> ChannelInfo:
    thread, viewer = metadata.ThreadMeta, metadata.ViewerMeta
    role = _ROLES.get(viewer.Role) if metadata.HasField("ViewerMeta") and viewer.HasField("Role") else None
    return ChannelInfo(
        jid=jid_text(metadata.ID),
        name=thread.Name.Text,
        description=thread.Description.Text or None,
        invite_code=thread.InviteCode or None,
        subscribers=int(thread.SubscriberCount),
        role=role,
        muted=viewer.Mute == neonize_proto.NewsletterMuteState.ON if viewer.HasField("Mute") else False,
        verified=thread.VerificationState == _VERIFIED,
        created_at=_seconds(thread.CreationTime),
        picture_url=thread.Picture.URL or None,
    )


def channel_message_from(post: Any) -> ChannelMessage:
    kind = message_kind(post.Message)
    # whatsmeow's NewsletterMessage carries no time; WhatsApp's order is the server id.
    return ChannelMessage(server_id=int(post.MessageServerID), kind=kind, text=message_text(post.Message, kind),
                          views=int(post.ViewsCount), timestamp=None)


def channel_jid_of(value: str) -> Any:
    if not is_channel_jid(value):
        raise ChannelRefusedError("channel_request_invalid", f"not a channel id: {value!r}")
    return jid_from_text(value)


class NeonizeChannels:
    """Channel calls of `NeonizeClient`."""

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _connected_native(self) -> contextlib.AbstractAsyncContextManager[Any]: ...

    @contextlib.asynccontextmanager
    async def _channel_call(self) -> AsyncIterator[Any]:
        async with self._connected_native() as native:
            try:
                yield native
            except NeonizeError as exc:
                raise channel_refusal(exc) from exc

    async def create_channel(self, name: str, description: str | None = None) -> ChannelInfo:
        async with self._channel_call() as native:
            created = await native.create_newsletter(name, description or "", b"")
        return channel_info_from(created)

    async def followed_channels(self) -> list[ChannelInfo]:
        async with self._channel_call() as native:
            channels = await native.get_subscribed_newletters()
        return [channel_info_from(channel) for channel in channels]

    async def channel_info(self, channel_jid: str) -> ChannelInfo:
        jid = channel_jid_of(channel_jid)
        async with self._channel_call() as native:
            return channel_info_from(await native.get_newsletter_info(jid))

    async def follow_channel(self, channel_jid: str) -> None:
        jid = channel_jid_of(channel_jid)
        async with self._channel_call() as native:
            await native.follow_newsletter(jid)

    async def unfollow_channel(self, channel_jid: str) -> None:
        jid = channel_jid_of(channel_jid)
        async with self._channel_call() as native:
            await native.unfollow_newsletter(jid)

    async def channel_messages(self, channel_jid: str, count: int = 50,
                               before: int | None = None) -> list[ChannelMessage]:
        jid = channel_jid_of(channel_jid)
        count = max(1, min(int(count), CHANNEL_MESSAGES_MAX))
        async with self._channel_call() as native:
            posts = await native.get_newsletter_messages(jid, count, int(before or 0))
        return sorted((channel_message_from(post) for post in posts), key=lambda m: m.server_id, reverse=True)

