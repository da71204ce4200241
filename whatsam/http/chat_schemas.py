"""Bodies and answers of the chat routes (spec §3.9); each is its route's OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from whatsam.contracts.chats import DISAPPEARING_TIMERS
from whatsam.http.schemas import Body


class LastMessageView(BaseModel):
    id: str = Field(description="The message's id (ours): GET /v1/messages/{id}")
    type: str
    preview: str = Field(description="Its text, cut to 100 characters, or `[kind]`")
    from_me: bool
    at: datetime


class ChatView(BaseModel):
    chat: str = Field(description="The chat's JID")
    kind: Literal["direct", "group", "channel"]
    name: str | None = None
    last_message: LastMessageView | None = None
    unread_count: int
    archived: bool
    pinned: bool
    muted: bool
    muted_until: datetime | None = Field(default=None, description="While `muted`: until when; null: for good")
    disappearing_seconds: int | None = None


class ChatList(BaseModel):
    chats: list[ChatView]
    next_cursor: str | None = None


class MessageView(BaseModel):
    """A message as `GET /v1/messages/{id}` shows it."""

    id: str
    session_id: str
    direction: Literal["in", "out"]
    chat: str
    type: str
    status: str
    wa_id: str | None = None
    created_at: datetime
    timeline: list[dict[str, Any]]
    error: str | None = None
    revoked: bool
    source: Literal["live", "history"] = Field(description="`history`: it came with the history sync after linking")
    content: dict[str, Any]
    from_: dict[str, Any] | None = Field(default=None, alias="from",
                                         description="Inbound: the sender's jid, phone, lid")
    to: str | None = None
    phone: str | None = None


class MessageHistory(BaseModel):
    messages: list[MessageView]
    next_cursor: str | None = None


class MuteRequest(Body):
    until: AwareDatetime | None = Field(default=None, description="ISO 8601 with a time zone, in the future; "
                                                                  "omitted: muted until unmuted")


class DisappearingRequest(Body):
    seconds: int = Field(description="0 (off), 86400 (24 hours), 604800 (7 days) or 7776000 (90 days)")

    @field_validator("seconds")
    @classmethod
    def _a_timer_whatsapp_offers(cls, value: int) -> int:
        if value not in DISAPPEARING_TIMERS:
            raise ValueError("must be 0, 86400, 604800 or 7776000")
        return value
