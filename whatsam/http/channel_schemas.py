"""Bodies and answers of the status, channel and poll-vote routes (spec §3.10); each is its route's
OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from whatsam.http.schemas import Body

ChannelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class CreateChannelRequest(Body):
    name: ChannelName
    description: Annotated[str, StringConstraints(max_length=2048)] | None = None


class Channel(BaseModel):
    """A channel (newsletter) as WhatsApp describes it; `role` is this session's (none: not followed)."""

    jid: str = Field(description="The channel's id, `…@newsletter`")
    name: str
    description: str | None = None
    invite_link: str | None = Field(default=None, description="https://whatsapp.com/channel/<code>")
    subscribers: int
    role: Literal["owner", "admin", "subscriber", "guest"] | None = None
    muted: bool = False
    verified: bool = False
    created_at: datetime | None = None
    picture_url: str | None = None


class ChannelList(BaseModel):
    channels: list[Channel]


class ChannelPost(BaseModel):
    server_id: int = Field(description="The channel's own number of the post; `?before=` pages on it")
    kind: str
    text: str | None = None
    views: int
    timestamp: datetime | None = None


class ChannelPosts(BaseModel):
    channel: str
    messages: list[ChannelPost]


class ChannelFollow(BaseModel):
    channel: str
    following: bool


class OptionVotes(BaseModel):
    name: str
    count: int
    voters: list[str] = Field(description="Who chose it (JIDs); each voter's latest vote counts")


class PollTally(BaseModel):
    message_id: str
    name: str | None
    selectable_count: int
    options: list[OptionVotes]
    voters: int = Field(description="How many people have a vote in the poll")


class QueuedMessage(BaseModel):
    """A message accepted into the session's outbox (its `status` moves on as it is sent)."""

    id: str
    session_id: str
    chat: str
    type: str
    status: str
    created_at: str
    content: dict[str, Any]
