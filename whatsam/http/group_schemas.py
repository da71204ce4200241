"""Request bodies of the group and community routes (spec §3.8); each is its route's OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from whatsam.contracts.groups import Group, ParticipantOutcome
from whatsam.http.schemas import Body

# WhatsApp's limits: 100 characters of subject, 2,048 of description, 1,024 members a group.
GROUP_SIZE_LIMIT = 1024
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
GroupDescription = Annotated[str, StringConstraints(max_length=2048)]
Participant = Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=64)]
Invite = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CreateGroupRequest(Body):
    subject: Subject
    participants: list[Participant] = Field(
        min_length=1, max_length=GROUP_SIZE_LIMIT - 1,
        description="E.164 numbers or JIDs; the session itself is the group's first member")
    description: GroupDescription | None = None


class UpdateGroupRequest(Body):
    subject: Subject | None = None
    description: GroupDescription | None = Field(default=None, description="An empty string removes it")
    announce: bool | None = Field(default=None, description="Only admins may send")
    locked: bool | None = Field(default=None, description="Only admins may edit the group's info")
    join_approval: bool | None = Field(default=None, description="Admins approve who joins by link")

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateGroupRequest:
        if all(value is None for value in self.model_dump().values()):
            raise ValueError("give at least one of subject, description, announce, locked, join_approval")
        return self

    def changes(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True)


class GroupPictureRequest(Body):
    image_base64: str = Field(min_length=4, max_length=2_000_000, description="A JPEG picture, base64-encoded")


class ParticipantsRequest(Body):
    action: Literal["add", "remove", "promote", "demote"]
    participants: list[Participant] = Field(min_length=1, max_length=GROUP_SIZE_LIMIT)


class JoinGroupRequest(Body):
    invite: Invite = Field(description="An invite code or https://chat.whatsapp.com/ link")


class JoinRequestsAnswer(Body):
    action: Literal["approve", "reject"]
    participants: list[Participant] = Field(min_length=1, max_length=GROUP_SIZE_LIMIT)


class CreateCommunityRequest(Body):
    subject: Subject
    description: GroupDescription | None = None


# -- answers (documented in /v1/openapi.json) ---------------------------------------------------


class GroupList(BaseModel):
    groups: list[Group]


class ParticipantResults(BaseModel):
    group: str
    action: str
    results: list[ParticipantOutcome] = Field(description="One per participant asked for, in order")


class InviteLink(BaseModel):
    group: str
    invite_link: str
    code: str


class JoinedGroup(BaseModel):
    group: str


class GroupPicture(BaseModel):
    group: str
    picture_id: str


class JoinRequestView(BaseModel):
    jid: str
    phone: str | None = None
    lid: str | None = None
    requested_at: datetime | None = None


class JoinRequestList(BaseModel):
    group: str
    requests: list[JoinRequestView]


class LinkedGroupView(BaseModel):
    jid: str
    subject: str
    is_default_subgroup: bool = False


class LinkedGroups(BaseModel):
    community: str
    groups: list[LinkedGroupView]


class CommunityLink(BaseModel):
    community: str
    group: str
    linked: bool
