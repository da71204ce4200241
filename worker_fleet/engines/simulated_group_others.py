"""What other people do in the simulated WhatsApp's groups, for dev tooling and tests
(``POST /v1/dev/sessions/{id}/simulate``): someone adds this session to a group, a member joins,
leaves, is promoted or demoted, renames the group, asks to join, removes this session, or posts."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from worker_fleet.engines.base import MessageReceived
from worker_fleet.engines.errors import EngineError
from worker_fleet.engines.groups import (
    GroupJoined,
    GroupLeft,
    GroupParticipant,
    GroupParticipantsChanged,
    GroupRefusedError,
    GroupUpdated,
    MembershipChange,
)
from worker_fleet.engines.simulated_groups import (
    SimulatedGroups,
    check_subject,
    group_info_of,
    member,
    new_group_jid,
    new_invite_code,
    phone_jid,
)

# What `simulate_group` can make happen; dev tooling lists these.
SIMULATED_GROUP_EVENTS: tuple[str, ...] = (
    "group.added", "group.join", "group.leave", "group.promote", "group.demote", "group.subject", "group.announce",
    "group.removed", "group.request", "group.message",
)


class SimulatedGroupOthers(SimulatedGroups):
    """`SimulatedGroups` plus what the other members do."""

    async def simulate_group(self, kind: str, *, group_jid: str | None = None, phone: str | None = None,
                             subject: str | None = None, participants: Sequence[str] = (),
                             text: str | None = None) -> dict[str, Any]:
        """Someone else acts in a group. `phone` is who acts (or, for promote/demote/removed, the
        admin who does it to `participants` or to this session); answers what changed."""
        me = self._own_jid()
        if kind not in SIMULATED_GROUP_EVENTS:
            raise EngineError(f"unknown group simulation {kind!r}; one of {', '.join(SIMULATED_GROUP_EVENTS)}")
        actor = member(phone_jid(phone)) if phone else None
        if kind == "group.added":
            return self._simulate_added(me, actor, subject, participants)
        if group_jid is None:
            raise EngineError(f"{kind} needs a group")
        body = self._store.group(group_jid)
        if body is None or me not in body["members"]:
            raise GroupRefusedError("group_not_found", f"this session is not in {group_jid}")
        if actor is None:
            raise EngineError(f"{kind} needs the phone of who acts")
        if kind == "group.removed":
            del body["members"][me]
            self._store.save_group(group_jid, body)
            self._push(GroupLeft(group_jid, by=actor, reason="removed"))
        elif kind == "group.subject":
            check_subject(subject or "")
            body["subject"] = subject
            self._store.save_group(group_jid, body)
            self._push(GroupUpdated(group_jid, {"subject": subject}, by=actor))
        elif kind == "group.announce":
            # An admin toggles announce mode: from now on only admins may send.
            body["announce"] = not body["announce"]
            self._store.save_group(group_jid, body)
            self._push(GroupUpdated(group_jid, {"announce": body["announce"]}, by=actor))
        elif kind == "group.request":
            body["requests"][actor.jid] = time.time()
            self._store.save_group(group_jid, body)
        elif kind == "group.message":
            self._push(_group_message(group_jid, actor, text or ""))
        else:
            self._simulate_membership(body, kind, actor, participants)
        return {"group": group_jid, "type": kind}

    def _simulate_added(self, me: str, actor: GroupParticipant | None, subject: str | None,
                        participants: Sequence[str]) -> dict[str, Any]:
        if actor is None:
            raise EngineError("group.added needs the phone of who adds this session")
        check_subject(subject or "")
        body: dict[str, Any] = {
            "jid": new_group_jid(), "subject": subject, "description": "", "owner": actor.jid,
            "created_at": time.time(), "announce": False, "locked": False, "join_approval": False,
            "is_community": False, "parent_jid": None,
            "members": {actor.jid: "superadmin", me: "member", **{phone_jid(p): "member" for p in participants}},
            "invite_code": new_invite_code(), "revoked_codes": [], "requests": {}, "picture_id": None,
        }
        self._store.save_group(body["jid"], body)
        self._push(GroupJoined(group_info_of(body), by=member(actor.jid, "superadmin"), reason="added"))
        return {"group": body["jid"], "type": "group.added"}

    def _simulate_membership(self, body: dict[str, Any], kind: str, actor: GroupParticipant,
                             participants: Sequence[str]) -> None:
        members: dict[str, str] = body["members"]
        if kind in ("group.join", "group.leave"):
            who = [actor]
            if kind == "group.join":
                members[actor.jid] = "member"
            else:
                members.pop(actor.jid, None)
            action: MembershipChange = "join" if kind == "group.join" else "leave"
        else:
            role = "admin" if kind == "group.promote" else "member"
            who = [member(phone_jid(p), role) for p in participants] or [member(actor.jid, role)]
            for person in who:
                if person.jid in members and members[person.jid] != "superadmin":
                    members[person.jid] = role
            action = "promote" if kind == "group.promote" else "demote"
        self._store.save_group(body["jid"], body)
        self._push(GroupParticipantsChanged(body["jid"], action, tuple(who), by=actor))


def _group_message(group_jid: str, author: GroupParticipant, text: str) -> MessageReceived:
    if not text:
        raise EngineError("group.message needs text")
    return MessageReceived(
        message_id="3A" + secrets.token_hex(9).upper(), chat_jid=group_jid, sender_jid=author.jid,
        sender_phone=author.phone, sender_lid=author.lid, timestamp=datetime.now(UTC), is_from_me=False,
        is_group=True, kind="text", text=text, raw={"conversation": text},
    )
