"""Channels (WhatsApp newsletters) as every engine offers them (spec §3.10): the calls
`ChannelOperations` and the dataclasses they answer with.

A channel is named by its JID, ``<digits>@newsletter``. This account may own a channel (it created
it: it can post to it) or follow one (it reads it). Refusals carry a code: ``channel_not_found``
(no such channel), ``not_channel_owner`` (posting to a channel this account does not own),
``channel_request_invalid`` (a name WhatsApp refuses) and ``channel_operation_failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from worker_fleet.engines.errors import EngineRefusedError

NEWSLETTER_SERVER = "newsletter"
CHANNEL_NAME_MAX = 100
CHANNEL_DESCRIPTION_MAX = 2048
CHANNEL_MESSAGES_MAX = 100

ChannelRole = Literal["owner", "admin", "subscriber", "guest"]


class ChannelRefusedError(EngineRefusedError):
    """WhatsApp (or the engine) refused a channel operation; `code` says why."""


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    jid: str
    name: str
    description: str | None
    invite_code: str | None
    subscribers: int
    role: ChannelRole | None  # this account's; None for a channel it neither owns nor follows
    muted: bool
    verified: bool
    created_at: datetime | None
    picture_url: str | None


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """A post in a channel. `server_id` is the channel's own running number of the post."""

    server_id: int
    kind: str
    text: str | None
    views: int
    timestamp: datetime | None


class ChannelOperations(Protocol):
    async def create_channel(self, name: str, description: str | None = None) -> ChannelInfo: ...

    async def followed_channels(self) -> list[ChannelInfo]:
        """The channels this account owns or follows."""
        ...

    async def channel_info(self, channel_jid: str) -> ChannelInfo: ...

    async def follow_channel(self, channel_jid: str) -> None: ...

    async def unfollow_channel(self, channel_jid: str) -> None: ...

    async def channel_messages(self, channel_jid: str, count: int = 50,
                               before: int | None = None) -> list[ChannelMessage]:
        """The channel's latest posts (before the post numbered `before`), newest first."""
        ...


def is_channel_jid(jid: str) -> bool:
    user, _, server = jid.partition("@")
    return server == NEWSLETTER_SERVER and user.isdigit() and 5 <= len(user) <= 30
