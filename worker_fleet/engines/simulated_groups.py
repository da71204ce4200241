"""Groups and communities in the simulated WhatsApp.

Each group this session knows is one JSON document in the session's store (so groups migrate
with the session, like its credentials). The rules are WhatsApp's, made deterministic:
- only admins change participants, settings of a locked group, announce/locked/join approval,
  invite links and join requests; the creator is super-admin and cannot be removed or demoted;
- a group holds at most `GROUP_SIZE_LIMIT` members;
- numbers ending in 0 are not on WhatsApp (``not_on_whatsapp``), numbers ending in 9 only accept
  invites (``invite_required``), as privacy settings make WhatsApp answer;
- invite codes are 22 random letters and digits; a revoked code answers ``invite_revoked``.

What other people do (add this session to a group, join, leave, …) is in `simulated_group_others`.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, get_args

from whatsam.contracts.groups import INVITE_LINK_PREFIX
from worker_fleet.engines.base import EngineEvent, split_jid
from worker_fleet.engines.errors import EngineError
from worker_fleet.engines.groups import (
    GROUP_SIZE_LIMIT,
    GroupInfo,
    GroupJoined,
    GroupLeft,
    GroupParticipant,
    GroupParticipantsChanged,
    GroupRefusedError,
    GroupUpdated,
    JoinRequest,
    LinkedGroup,
    MembershipChange,
    ParticipantAction,
    ParticipantResult,
    ParticipantRole,
    ParticipantStatus,
    invite_code,
)
from worker_fleet.engines.outgoing import Mentioning, with_everyone_mentioned
from worker_fleet.engines.simulated_identity import simulated_is_on_whatsapp, simulated_lid
from worker_fleet.engines.simulated_store import LinkedDevice, SimulatedCredentialStore

PHONE_SERVER = "s.whatsapp.net"
_CODE_ALPHABET = string.ascii_letters + string.digits
SUBJECT_MAX = 100
DESCRIPTION_MAX = 2048
_ROLES: frozenset[str] = frozenset(get_args(ParticipantRole))


def new_group_jid() -> str:
    return "120363" + "".join(secrets.choice(string.digits) for _ in range(12)) + "@g.us"


def new_invite_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(22))


def member(jid: str, role: str = "member") -> GroupParticipant:
    """A participant as the simulated WhatsApp knows them: phone and LID from a phone JID."""
    user, server = split_jid(jid)
    user = user.split(":", 1)[0]
    checked_role: ParticipantRole = role if role in _ROLES else "member"  # type: ignore[assignment]
    if server == PHONE_SERVER:
        return GroupParticipant(f"{user}@{server}", user, simulated_lid(user), checked_role)
    return GroupParticipant(f"{user}@{server}", None, jid if server == "lid" else None, checked_role)


def _result(jid: str, status: ParticipantStatus) -> ParticipantResult:
    who = member(jid)
    return ParticipantResult(who.jid, who.phone, who.lid, status)


def group_info_of(body: dict[str, Any]) -> GroupInfo:
    return GroupInfo(
        jid=body["jid"], subject=body["subject"], description=body.get("description") or None,
        owner_jid=body.get("owner"), created_at=datetime.fromtimestamp(body["created_at"], UTC),
        announce=body["announce"], locked=body["locked"], join_approval=body["join_approval"],
        is_community=body["is_community"], parent_jid=body.get("parent_jid"),
        participants=tuple(member(jid, role) for jid, role in sorted(body["members"].items())),
    )


class SimulatedGroups:
    """The group calls of `SimulatedClient` (mixed into it)."""

    _session_id: str
    _store: SimulatedCredentialStore

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _connected_device(self) -> LinkedDevice: ...
        def _push(self, event: EngineEvent) -> None: ...

    # -- what this session does -------------------------------------------------------------

    async def create_group(self, subject: str, participants: Sequence[str], *, community: bool = False) -> GroupInfo:
        me = self._own_jid()
        check_subject(subject)
        if len(set(participants)) + 1 > GROUP_SIZE_LIMIT:
            raise GroupRefusedError("group_full", f"a group holds at most {GROUP_SIZE_LIMIT} members")
        body: dict[str, Any] = {
            "jid": new_group_jid(), "subject": subject, "description": "", "owner": me,
            "created_at": time.time(), "announce": community, "locked": community, "join_approval": False,
            "is_community": community, "parent_jid": None, "members": {me: "superadmin"},
            "invite_code": new_invite_code(), "revoked_codes": [], "requests": {}, "picture_id": None,
        }
        for jid in participants:
            if _add_refusal(body, jid) is None:
                body["members"][member(jid).jid] = "member"
        self._store.save_group(body["jid"], body)
        info = group_info_of(body)
        self._push(GroupJoined(info, by=member(me, "superadmin"), reason="create"))
        return info

    async def joined_groups(self) -> list[GroupInfo]:
        me = self._own_jid()
        return [group_info_of(body) for body in self._store.groups() if me in body["members"]]

    async def group_info(self, group_jid: str) -> GroupInfo:
        return group_info_of(self._membership(group_jid)[0])

    async def set_group_subject(self, group_jid: str, subject: str) -> None:
        check_subject(subject)
        self._change_info(group_jid, "subject", subject, admin_only=False)

    async def set_group_description(self, group_jid: str, description: str) -> None:
        if len(description) > DESCRIPTION_MAX:
            raise EngineError(f"a group description has at most {DESCRIPTION_MAX} characters")
        self._change_info(group_jid, "description", description, admin_only=False)

    async def set_group_announce(self, group_jid: str, announce: bool) -> None:
        self._change_info(group_jid, "announce", announce, admin_only=True)

    async def set_group_locked(self, group_jid: str, locked: bool) -> None:
        self._change_info(group_jid, "locked", locked, admin_only=True)

    async def set_group_join_approval(self, group_jid: str, enabled: bool) -> None:
        self._change_info(group_jid, "join_approval", enabled, admin_only=True)

    async def set_group_picture(self, group_jid: str, jpeg: bytes) -> str:
        if not jpeg.startswith(b"\xff\xd8"):
            raise EngineError("a group picture must be a JPEG image")
        picture_id = str(int(time.time() * 1000))
        self._change_info(group_jid, "picture_id", picture_id, admin_only=False)
        return picture_id

    async def remove_group_picture(self, group_jid: str) -> None:
        self._change_info(group_jid, "picture_id", None, admin_only=False)

    async def leave_group(self, group_jid: str) -> None:
        body, me = self._membership(group_jid)
        del body["members"][me]
        self._store.save_group(group_jid, body)
        self._push(GroupLeft(group_jid, by=member(me), reason="left"))

    async def update_group_participants(
        self, group_jid: str, action: ParticipantAction, participants: Sequence[str]
    ) -> list[ParticipantResult]:
        body, me = self._as_admin(group_jid)
        results: list[ParticipantResult] = []
        changed: list[GroupParticipant] = []
        for jid in dict.fromkeys(participants):
            status = _participant_change(body, action, member(jid).jid)
            results.append(_result(jid, status))
            if status == "ok":
                changed.append(member(jid, body["members"].get(member(jid).jid, "member")))
        self._store.save_group(group_jid, body)
        if changed:
            kind: MembershipChange = {"add": "join", "remove": "leave"}.get(action, action)  # type: ignore[assignment]
            self._push(GroupParticipantsChanged(group_jid, kind, tuple(changed), by=member(me)))
        return results

    async def group_invite_link(self, group_jid: str, *, revoke: bool = False) -> str:
        body, me = self._as_admin(group_jid)
        if revoke:
            body["revoked_codes"] = [*body["revoked_codes"], body["invite_code"]][-32:]
            body["invite_code"] = new_invite_code()
            self._store.save_group(group_jid, body)
            self._push(GroupUpdated(group_jid, {"invite_link_reset": True}, by=member(me)))
        return INVITE_LINK_PREFIX + body["invite_code"]

    async def group_invite_preview(self, code: str) -> GroupInfo:
        self._own_jid()
        return group_info_of(self._by_invite(invite_code(code)))

    async def join_group(self, code: str) -> str:
        me = self._own_jid()
        body = self._by_invite(invite_code(code))
        if me in body["members"]:
            return str(body["jid"])
        if body["join_approval"]:
            body["requests"][me] = time.time()
            self._store.save_group(body["jid"], body)
            raise GroupRefusedError("join_approval_required", "an admin must approve the request to join")
        if len(body["members"]) >= GROUP_SIZE_LIMIT:
            raise GroupRefusedError("group_full", f"the group already has {GROUP_SIZE_LIMIT} members")
        body["members"][me] = "member"
        self._store.save_group(body["jid"], body)
        self._push(GroupJoined(group_info_of(body), by=None, reason="invite"))
        return str(body["jid"])

    async def group_join_requests(self, group_jid: str) -> list[JoinRequest]:
        body, _ = self._as_admin(group_jid)
        return [JoinRequest(who.jid, who.phone, who.lid, datetime.fromtimestamp(at, UTC))
                for who, at in ((member(jid), at) for jid, at in sorted(body["requests"].items()))]

    async def answer_join_requests(
        self, group_jid: str, participants: Sequence[str], *, approve: bool
    ) -> list[ParticipantResult]:
        body, me = self._as_admin(group_jid)
        results: list[ParticipantResult] = []
        joined: list[GroupParticipant] = []
        for jid in dict.fromkeys(participants):
            who = member(jid)
            if who.jid not in body["requests"]:
                results.append(_result(jid, "no_request"))
                continue
            if approve and len(body["members"]) >= GROUP_SIZE_LIMIT:
                results.append(_result(jid, "group_full"))
                continue
            del body["requests"][who.jid]
            if approve:
                body["members"][who.jid] = "member"
                joined.append(who)
            results.append(_result(jid, "ok"))
        self._store.save_group(group_jid, body)
        if joined:
            self._push(GroupParticipantsChanged(group_jid, "join", tuple(joined), by=member(me)))
        return results

    async def linked_groups(self, community_jid: str) -> list[LinkedGroup]:
        self._community(community_jid)
        return [LinkedGroup(body["jid"], body["subject"]) for body in self._store.groups()
                if body.get("parent_jid") == community_jid]

    async def link_group(self, community_jid: str, group_jid: str) -> None:
        self._relink(community_jid, group_jid, community_jid)

    async def unlink_group(self, community_jid: str, group_jid: str) -> None:
        body, _ = self._as_admin(group_jid)
        if body.get("parent_jid") != community_jid:
            raise GroupRefusedError("group_not_found", f"{group_jid} is not linked to {community_jid}")
        self._relink(community_jid, group_jid, None)

    def _check_group_send(self, to_jid: str) -> None:
        """What WhatsApp refuses for a group this simulated WhatsApp knows: a send after leaving,
        and a plain member's send to an announce-only group. (Groups it never heard of are let
        through, so tests may send to made-up group ids.)"""
        body = self._store.group(to_jid)
        if body is None:
            return
        me = self._own_jid()
        if me not in body["members"]:
            raise GroupRefusedError("group_not_found", f"this session is not in {to_jid}")
        if body["announce"] and body["members"][me] == "member":
            raise GroupRefusedError("not_group_admin", f"only admins may send to {to_jid}")

    async def _everyone_mentioned(self, group_jid: str, message: Mentioning) -> Mentioning:
        body, me = self._membership(group_jid)
        return with_everyone_mentioned(message, (jid for jid in sorted(body["members"]) if jid != me))

    # -- rules ----------------------------------------------------------------------------------

    def _own_jid(self) -> str:
        return f"{self._connected_device().phone}@{PHONE_SERVER}"

    def _membership(self, group_jid: str) -> tuple[dict[str, Any], str]:
        me = self._own_jid()
        split_jid(group_jid)
        body = self._store.group(group_jid)
        if body is None or me not in body["members"]:
            raise GroupRefusedError("group_not_found", f"this session is not in {group_jid}")
        return body, me

    def _as_admin(self, group_jid: str) -> tuple[dict[str, Any], str]:
        body, me = self._membership(group_jid)
        if body["members"][me] == "member":
            raise GroupRefusedError("not_group_admin", f"only admins of {group_jid} may do this")
        return body, me

    def _change_info(self, group_jid: str, key: str, value: Any, *, admin_only: bool) -> None:
        body, me = self._membership(group_jid)
        if body["members"][me] == "member" and (admin_only or body["locked"]):
            raise GroupRefusedError("not_group_admin", f"only admins of {group_jid} may change this")
        if body.get(key) == value:
            return
        body[key] = value
        self._store.save_group(group_jid, body)
        change = {"picture": value} if key == "picture_id" else {key: value}
        self._push(GroupUpdated(group_jid, change, by=member(me)))

    def _by_invite(self, code: str) -> dict[str, Any]:
        for body in self._store.groups():
            if body["invite_code"] == code:
                return body
            if code in body["revoked_codes"]:
                raise GroupRefusedError("invite_revoked", "this invite link was reset by an admin")
        raise GroupRefusedError("invite_invalid", "no group has this invite code")

    def _community(self, community_jid: str) -> dict[str, Any]:
        body, _ = self._membership(community_jid)
        if not body["is_community"]:
            raise GroupRefusedError("not_a_community", f"{community_jid} is a group, not a community")
        return body

    def _relink(self, community_jid: str, group_jid: str, parent: str | None) -> None:
        community = self._community(community_jid)
        if community["members"][self._own_jid()] == "member":
            raise GroupRefusedError("not_group_admin", f"only admins of {community_jid} may link groups")
        body, me = self._as_admin(group_jid)
        if body["is_community"]:
            raise GroupRefusedError("group_operation_failed", "a community cannot be linked to another")
        body["parent_jid"] = parent
        self._store.save_group(group_jid, body)
        change = {"linked_group": group_jid} if parent else {"unlinked_group": group_jid}
        self._push(GroupUpdated(community_jid, change, by=member(me)))


def check_subject(subject: str) -> None:
    if not subject.strip() or len(subject) > SUBJECT_MAX:
        raise EngineError(f"a group subject has 1 to {SUBJECT_MAX} characters")


def phone_jid(phone: str) -> str:
    if "@" in phone:
        return member(phone).jid
    digits = phone.strip().removeprefix("+")
    simulated_is_on_whatsapp(digits)  # validates the digits
    return f"{digits}@{PHONE_SERVER}"


def _add_refusal(body: dict[str, Any], jid: str) -> ParticipantStatus | None:
    who = member(jid)
    if who.jid in body["members"]:
        return "already_in_group"
    if who.phone is not None and not simulated_is_on_whatsapp(who.phone):
        return "not_on_whatsapp"
    if who.phone is not None and who.phone.endswith("9"):
        return "invite_required"
    if len(body["members"]) >= GROUP_SIZE_LIMIT:
        return "group_full"
    return None


def _participant_change(body: dict[str, Any], action: ParticipantAction, jid: str) -> ParticipantStatus:
    members: dict[str, str] = body["members"]
    if action == "add":
        refusal = _add_refusal(body, jid)
        if refusal is not None:
            return refusal
        members[jid] = "member"
        body["requests"].pop(jid, None)
        return "ok"
    if jid not in members:
        return "not_in_group"
    if members[jid] == "superadmin":
        return "not_authorized"  # nobody removes or demotes the group's creator
    if action == "remove":
        del members[jid]
    else:
        members[jid] = "admin" if action == "promote" else "member"
    return "ok"
