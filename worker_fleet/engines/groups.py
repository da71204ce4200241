"""Groups and communities in the engine interface: what a group looks like, what WhatsApp
answers per participant, the group events, and the operations every engine offers.

Conventions (shared with `base`): group ids are ``…@g.us`` JIDs; a participant is named by the
JID the group addresses them with (a phone-number JID, or a LID in LID-addressed groups), and
carries the phone digits and the LID JID wherever the engine knows them. A community is a group
whose `is_community` is set; its linked groups point back at it with `parent_jid`.

WhatsApp's refusals (not an admin, group full, invite revoked, …) are raised as
`GroupRefusedError` (an `EngineRefusedError`) with a stable `code`, which survives the shard's
process boundary (see `EngineRefusedError.parse`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from whatsam.contracts.groups import invite_code_of
from worker_fleet.engines.errors import EngineRefusedError

ParticipantRole = Literal["member", "admin", "superadmin"]
ParticipantAction = Literal["add", "remove", "promote", "demote"]
PARTICIPANT_ACTIONS: tuple[ParticipantAction, ...] = ("add", "remove", "promote", "demote")
# What happened to members, as reported by a `GroupParticipantsChanged` event.
MembershipChange = Literal["join", "leave", "promote", "demote"]

# WhatsApp's limit on members of one group (including the creator).
GROUP_SIZE_LIMIT = 1024

# Per-participant outcomes of `update_group_participants` and `answer_join_requests`.
ParticipantStatus = Literal[
    "ok",
    "not_authorized",
    "not_on_whatsapp",
    "already_in_group",
    "not_in_group",
    "recently_left",
    "invite_required",
    "group_full",
    "no_request",  # answering a join request nobody made
    "failed",
]

# Codes of `GroupRefusedError`: WhatsApp refused the whole operation.
GroupRefusal = Literal[
    "group_not_found",
    "not_group_admin",
    "group_full",
    "invite_invalid",
    "invite_revoked",
    "join_approval_required",
    "not_a_community",
    "not_supported_by_engine",
    "group_operation_failed",
]


class GroupRefusedError(EngineRefusedError):
    """WhatsApp (or the engine) refused a group operation; `code` says why."""

    def __init__(self, code: GroupRefusal, message: str) -> None:
        super().__init__(code, message)


@dataclass(frozen=True, slots=True)
class GroupParticipant:
    jid: str
    phone: str | None
    lid: str | None
    role: ParticipantRole = "member"


@dataclass(frozen=True, slots=True)
class GroupInfo:
    jid: str
    subject: str
    description: str | None = None
    owner_jid: str | None = None
    created_at: datetime | None = None
    announce: bool = False  # only admins may send
    locked: bool = False  # only admins may edit the group's info
    # Admins approve who joins by link; None where the engine cannot tell.
    join_approval: bool | None = None
    is_community: bool = False
    parent_jid: str | None = None  # the community this group is linked to
    participants: tuple[GroupParticipant, ...] = ()


@dataclass(frozen=True, slots=True)
class ParticipantResult:
    jid: str
    phone: str | None
    lid: str | None
    status: ParticipantStatus


@dataclass(frozen=True, slots=True)
class JoinRequest:
    jid: str
    phone: str | None
    lid: str | None
    requested_at: datetime | None


@dataclass(frozen=True, slots=True)
class LinkedGroup:
    jid: str
    subject: str
    is_default_subgroup: bool = False


# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupJoined:
    """This account became a member: it created the group, was added, or joined by invite."""

    group: GroupInfo
    by: GroupParticipant | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class GroupUpdated:
    """The group's info changed. `changes` holds the new values, each key only when it changed:
    ``subject``, ``description``, ``announce``, ``locked``, ``join_approval``, ``invite_link_reset``
    (True), ``linked_group`` / ``unlinked_group`` (a JID), ``deleted`` (True)."""

    group_jid: str
    changes: dict[str, Any] = field(hash=False)
    by: GroupParticipant | None = None


@dataclass(frozen=True, slots=True)
class GroupParticipantsChanged:
    """Other members joined, left, or were promoted or demoted; `by` made the change (for a join
    by invite link or a leave of one's own, `by` is the member or unknown)."""

    group_jid: str
    action: MembershipChange
    participants: tuple[GroupParticipant, ...]
    by: GroupParticipant | None = None


@dataclass(frozen=True, slots=True)
class GroupLeft:
    """This account is no longer a member: it left, was removed, or the group was deleted."""

    group_jid: str
    by: GroupParticipant | None = None
    reason: str | None = None


GroupEvent = GroupJoined | GroupUpdated | GroupParticipantsChanged | GroupLeft


# -- operations -------------------------------------------------------------------------------


class GroupOperations(Protocol):
    """Group calls of an `EngineClient`. All need a connected session (`EngineNotConnectedError`
    otherwise) and raise `GroupRefusedError` when WhatsApp refuses."""

    async def create_group(self, subject: str, participants: Sequence[str], *, community: bool = False) -> GroupInfo:
        """A new group (or community) with this account as super-admin and `participants` (JIDs)."""
        ...

    async def joined_groups(self) -> list[GroupInfo]: ...

    async def group_info(self, group_jid: str) -> GroupInfo: ...

    async def set_group_subject(self, group_jid: str, subject: str) -> None: ...

    async def set_group_description(self, group_jid: str, description: str) -> None:
        """An empty description removes it."""
        ...

    async def set_group_announce(self, group_jid: str, announce: bool) -> None: ...

    async def set_group_locked(self, group_jid: str, locked: bool) -> None: ...

    async def set_group_join_approval(self, group_jid: str, enabled: bool) -> None: ...

    async def set_group_picture(self, group_jid: str, jpeg: bytes) -> str:
        """Set the group's picture; answers WhatsApp's picture id."""
        ...

    async def remove_group_picture(self, group_jid: str) -> None: ...

    async def leave_group(self, group_jid: str) -> None: ...

    async def update_group_participants(
        self, group_jid: str, action: ParticipantAction, participants: Sequence[str]
    ) -> list[ParticipantResult]: ...

    async def group_invite_link(self, group_jid: str, *, revoke: bool = False) -> str:
        """The group's invite link (``https://chat.whatsapp.com/CODE``); `revoke` makes a new one."""
        ...

    async def group_invite_preview(self, code: str) -> GroupInfo:
        """The group an invite code leads to, without joining it."""
        ...

    async def join_group(self, code: str) -> str:
        """Join by invite code; answers the group's JID."""
        ...

    async def group_join_requests(self, group_jid: str) -> list[JoinRequest]: ...

    async def answer_join_requests(
        self, group_jid: str, participants: Sequence[str], *, approve: bool
    ) -> list[ParticipantResult]: ...

    async def linked_groups(self, community_jid: str) -> list[LinkedGroup]: ...

    async def link_group(self, community_jid: str, group_jid: str) -> None: ...

    async def unlink_group(self, community_jid: str, group_jid: str) -> None: ...


# The group calls a worker may make through a shard's pipe (`simulate_group`: the simulated engine only).
GROUP_OPERATIONS = frozenset({
    "create_group", "joined_groups", "group_info", "set_group_subject", "set_group_description",
    "set_group_announce", "set_group_locked", "set_group_join_approval", "set_group_picture",
    "remove_group_picture", "leave_group", "update_group_participants", "group_invite_link",
    "group_invite_preview", "join_group", "group_join_requests", "answer_join_requests", "linked_groups",
    "link_group", "unlink_group", "simulate_group",
})

def invite_code(invite: str) -> str:
    """The code of an invite given as a code or a link; `GroupRefusedError` when it is neither."""
    code = invite_code_of(invite)
    if code is None:
        raise GroupRefusedError("invite_invalid", f"not an invite code or link: {invite!r}")
    return code
