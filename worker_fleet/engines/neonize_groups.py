"""The group calls and group events of the neonize engine (mixed into `NeonizeClient`).

Each call goes through neonize 0.5.2's own async client (names and signatures as installed:
``create_group``, ``get_joined_groups``, ``get_group_info``, ``set_group_name``,
``set_group_topic``, ``set_group_announce``, ``set_group_locked``, ``set_group_photo``,
``leave_group``, ``update_group_participants``, ``get_group_invite_link``,
``get_group_info_from_link``, ``join_group_with_link``, ``get_group_request_participants``,
``get_sub_groups``, ``link_group``, ``unlink_group``) while the client is connected, and turns
whatsmeow's refusals into `GroupRefusedError` codes (`neonize_group_mapping.group_refusal`).

Group notifications (``GroupInfoEvent``) name each person by one identity, a phone JID or a LID;
the other comes from whatsmeow's own store (``get_pn_from_lid``, ``get_lid_from_pn``) before the
event goes to the host, so events carry both wherever WhatsApp ever told this device.

What neonize 0.5.2 cannot do, it says so (``not_supported_by_engine``) instead of pretending:
it has no binding for whatsmeow's join-approval mode or for answering join requests, and its
``set_group_photo`` cannot pass the nil picture whatsmeow needs to remove one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from worker_fleet.engines.base import EngineEvent
from worker_fleet.engines.groups import (
    GroupEvent,
    GroupInfo,
    GroupJoined,
    GroupParticipant,
    GroupParticipantsChanged,
    GroupRefusedError,
    JoinRequest,
    LinkedGroup,
    ParticipantAction,
    ParticipantResult,
    invite_code,
)
from worker_fleet.engines.neonize_contacts import NeonizeContacts
from worker_fleet.engines.neonize_group_mapping import (
    group_events_from,
    group_info_from,
    group_joined_from,
    group_refusal,
    join_request_from,
    linked_group_from,
    own_jids,
    participant_results_from,
)
from worker_fleet.engines.neonize_mapping import PHONE_SERVER, jid_from_text, jid_text
from worker_fleet.engines.neonize_runtime import ParticipantChange, neonize_proto
from worker_fleet.engines.outgoing import Mentioning, with_everyone_mentioned

log = logging.getLogger(__name__)

_PARTICIPANT_CHANGE = {
    "add": ParticipantChange.ADD,
    "remove": ParticipantChange.REMOVE,
    "promote": ParticipantChange.PROMOTE,
    "demote": ParticipantChange.DEMOTE,
}


class NeonizeGroups(NeonizeContacts):
    """Group calls and events of `NeonizeClient` (built on its contact calls: group notifications
    name people by one identity, `NeonizeContacts._pair_of` finds the other)."""

    _session_id: str

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _push(self, event: EngineEvent) -> None: ...

    def _group_call(self, operation: str) -> contextlib.AbstractAsyncContextManager[Any]:
        """The connected neonize client; a neonize error inside becomes a `GroupRefusedError`."""
        return self._native_call(operation, group_refusal)

    # -- calls ------------------------------------------------------------------------------

    async def create_group(self, subject: str, participants: Sequence[str], *, community: bool = False) -> GroupInfo:
        members = [jid_from_text(jid) for jid in participants]
        # proto2: GroupParent's approval mode is required; WhatsApp's own default for communities.
        parent = (neonize_proto.GroupParent(IsParent=True, DefaultMembershipApprovalMode="request_required")
                  if community else None)
        async with self._group_call("create_group") as native:
            info = await native.create_group(subject, members, group_parent=parent)
        return group_info_from(info)

    async def joined_groups(self) -> list[GroupInfo]:
        async with self._group_call("get_joined_groups") as native:
            groups = await native.get_joined_groups()
        return [group_info_from(info) for info in groups]

    async def group_info(self, group_jid: str) -> GroupInfo:
        group = jid_from_text(group_jid)
        async with self._group_call("get_group_info") as native:
            info = await native.get_group_info(group)
        return group_info_from(info)

    async def set_group_subject(self, group_jid: str, subject: str) -> None:
        group = jid_from_text(group_jid)
        async with self._group_call("set_group_name") as native:
            await native.set_group_name(group, subject)

    async def set_group_description(self, group_jid: str, description: str) -> None:
        group = jid_from_text(group_jid)
        async with self._group_call("set_group_topic") as native:
            # Empty ids: whatsmeow looks up the previous topic id and makes a new one itself.
            await native.set_group_topic(group, "", "", description)

    async def set_group_announce(self, group_jid: str, announce: bool) -> None:
        group = jid_from_text(group_jid)
        async with self._group_call("set_group_announce") as native:
            await native.set_group_announce(group, announce)

    async def set_group_locked(self, group_jid: str, locked: bool) -> None:
        group = jid_from_text(group_jid)
        async with self._group_call("set_group_locked") as native:
            await native.set_group_locked(group, locked)

    async def set_group_join_approval(self, group_jid: str, enabled: bool) -> None:
        raise GroupRefusedError("not_supported_by_engine", "neonize 0.5.2 cannot set a group's join approval mode")

    async def set_group_picture(self, group_jid: str, jpeg: bytes) -> str:
        group = jid_from_text(group_jid)
        async with self._group_call("set_group_photo") as native:
            return str(await native.set_group_photo(group, bytes(jpeg)))

    async def remove_group_picture(self, group_jid: str) -> None:
        raise GroupRefusedError("not_supported_by_engine", "neonize 0.5.2 cannot remove a group picture")

    async def leave_group(self, group_jid: str) -> None:
        group = jid_from_text(group_jid)
        async with self._group_call("leave_group") as native:
            await native.leave_group(group)

    async def update_group_participants(
        self, group_jid: str, action: ParticipantAction, participants: Sequence[str]
    ) -> list[ParticipantResult]:
        group = jid_from_text(group_jid)
        members = [jid_from_text(jid) for jid in participants]
        async with self._group_call("update_group_participants") as native:
            answered = await native.update_group_participants(group, members, _PARTICIPANT_CHANGE[action])
        return participant_results_from(action, answered)

    async def group_invite_link(self, group_jid: str, *, revoke: bool = False) -> str:
        group = jid_from_text(group_jid)
        async with self._group_call("get_group_invite_link") as native:
            return str(await native.get_group_invite_link(group, revoke))

    async def group_invite_preview(self, code: str) -> GroupInfo:
        checked = invite_code(code)
        async with self._group_call("get_group_info_from_link") as native:
            info = await native.get_group_info_from_link(checked)
        return group_info_from(info)

    async def join_group(self, code: str) -> str:
        checked = invite_code(code)
        async with self._group_call("join_group_with_link") as native:
            joined = await native.join_group_with_link(checked)
        return jid_text(joined)

    async def group_join_requests(self, group_jid: str) -> list[JoinRequest]:
        group = jid_from_text(group_jid)
        async with self._group_call("get_group_request_participants") as native:
            requests = await native.get_group_request_participants(group)
        return [join_request_from(request) for request in requests]

    async def answer_join_requests(
        self, group_jid: str, participants: Sequence[str], *, approve: bool
    ) -> list[ParticipantResult]:
        raise GroupRefusedError("not_supported_by_engine", "neonize 0.5.2 cannot approve or reject join requests")

    async def linked_groups(self, community_jid: str) -> list[LinkedGroup]:
        community = jid_from_text(community_jid)
        async with self._group_call("get_sub_groups") as native:
            targets = await native.get_sub_groups(community)
        return [linked_group_from(target) for target in targets]

    async def link_group(self, community_jid: str, group_jid: str) -> None:
        community, group = jid_from_text(community_jid), jid_from_text(group_jid)
        async with self._group_call("link_group") as native:
            await native.link_group(community, group)

    async def unlink_group(self, community_jid: str, group_jid: str) -> None:
        community, group = jid_from_text(community_jid), jid_from_text(group_jid)
        async with self._group_call("unlink_group") as native:
            await native.unlink_group(community, group)

    async def _everyone_mentioned(self, group_jid: str, message: Mentioning) -> Mentioning:
        """`message` mentioning every participant of the group but this account, as WhatsApp lists them now."""
        info = await self.group_info(group_jid)
        mine = own_jids(self._own_device())
        return with_everyone_mentioned(message, (p.jid for p in info.participants if p.jid not in mine))

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _own_device(self) -> Any:
            """neonize's ``Device`` of this account (None before login)."""

    # -- events -----------------------------------------------------------------------------

    def _on_joined_group(self, _attempt: Any, event: Any) -> None:
        self._push(group_joined_from(event))

    async def _on_group_info(self, attempt: Any, event: Any) -> None:
        for group_event in group_events_from(event, attempt.native.me):
            self._push(await self._with_identities(group_event))

    async def _with_identities(self, event: GroupEvent) -> GroupEvent:
        """`event` with each person's other identity (phone for a LID, LID for a phone) from
        whatsmeow's store where it knows it: group notifications name people by one only."""
        known: dict[str, GroupParticipant] = {}

        async def complete(person: GroupParticipant) -> GroupParticipant:
            if person.jid not in known:
                known[person.jid] = person if person.phone and person.lid else await self._other_identity(person)
            return known[person.jid]

        if isinstance(event, GroupParticipantsChanged):
            event = dataclasses.replace(event, participants=tuple([await complete(p) for p in event.participants]))
        if not isinstance(event, GroupJoined) and event.by is not None:
            event = dataclasses.replace(event, by=await complete(event.by))
        return event

    async def _other_identity(self, person: GroupParticipant) -> GroupParticipant:
        known = person.lid if person.lid and not person.phone else (
            f"{person.phone}@{PHONE_SERVER}" if person.phone and not person.lid else None)
        pair = await self._pair_of(known) if known is not None else None
        return dataclasses.replace(person, phone=pair.phone, lid=pair.lid) if pair is not None else person
