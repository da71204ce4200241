"""Group calls on the worker: a `GroupRequest` (or the dev-only `DevSimulateGroup`) runs on the
session's engine and its outcome goes back on the command's reply list through
`engine_calls.answer` (so every request is answered; values the engine rejects answer
``group_request_invalid``); and the engine's group events become control-plane events.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from whatsam.adapters.session_cache import SessionCache
from whatsam.contracts.commands import DevSimulateGroup, GroupRequest
from whatsam.contracts.events import (
    Event,
    GroupJoinedEvent,
    GroupLeftEvent,
    GroupParticipantsEvent,
    GroupUpdatedEvent,
)
from whatsam.contracts.groups import Group, GroupMember
from whatsam.messaging.media import MediaStore
from worker_fleet.engine_calls import ENGINE_CALL_TIMEOUT, Call, answer, wire
from worker_fleet.engines.groups import (
    GroupJoined,
    GroupLeft,
    GroupParticipant,
    GroupParticipantsChanged,
    GroupUpdated,
)


def _group(info: Any) -> dict[str, Any]:
    return Group.model_validate(wire(info)).model_dump(mode="json")


class GroupRequests:
    def __init__(self, call: Call, cache: SessionCache, media: MediaStore):
        self._call = call
        self._cache = cache
        self._media = media

    def handle(self, session_id: str, command: GroupRequest | DevSimulateGroup) -> None:
        answer(self._cache, command.reply_to, lambda: self._answer(session_id, command),
               what=f"group request {type(command).__name__} for {session_id}",
               invalid="group_request_invalid", failed="group_operation_failed")

    def _answer(self, session_id: str, command: GroupRequest | DevSimulateGroup) -> Any:
        if isinstance(command, DevSimulateGroup):
            return self._engine("simulate_group", session_id, kind=command.kind, group_jid=command.group_jid,
                                phone=command.phone, subject=command.subject,
                                participants=command.participants, text=command.text)
        return self._run(session_id, command)

    def _engine(self, operation: str, session_id: str, **args: Any) -> Any:
        return self._call(operation, session_id, timeout=ENGINE_CALL_TIMEOUT, **args)

    def _run(self, session_id: str, request: GroupRequest) -> Any:
        engine = self._engine
        group = request.group_jid or ""
        operation = request.operation
        if operation == "create":
            created = engine("create_group", session_id, subject=request.subject or "",
                             participants=request.participants, community=request.community)
            if request.description:
                engine("set_group_description", session_id, group_jid=created.jid, description=request.description)
                created = dataclasses.replace(created, description=request.description)
            return _group(created)
        if operation == "list":
            return [_group(info) for info in engine("joined_groups", session_id)]
        if operation in ("info", "invite_preview"):
            info = (engine("group_info", session_id, group_jid=group) if operation == "info"
                    else engine("group_invite_preview", session_id, code=request.invite or ""))
            return _group(info)
        if operation == "update":
            for field, method in (("subject", "set_group_subject"), ("description", "set_group_description"),
                                  ("announce", "set_group_announce"), ("locked", "set_group_locked"),
                                  ("join_approval", "set_group_join_approval")):
                value = getattr(request, field)
                if value is not None:
                    engine(method, session_id, group_jid=group, **{_ARG[field]: value})
            return _group(engine("group_info", session_id, group_jid=group))
        if operation == "set_picture":
            picture = self._media.get(request.picture_key or "")
            return {"picture_id": engine("set_group_picture", session_id, group_jid=group, jpeg=picture)}
        if operation == "participants":
            return wire(engine("update_group_participants", session_id, group_jid=group, action=request.action,
                                participants=request.participants))
        if operation in ("invite_link", "revoke_invite"):
            link = str(engine("group_invite_link", session_id, group_jid=group, revoke=operation == "revoke_invite"))
            return {"invite_link": link, "code": link.rsplit("/", 1)[-1]}
        if operation == "join":
            return {"jid": engine("join_group", session_id, code=request.invite or "")}
        if operation == "answer_join_requests":
            return wire(engine("answer_join_requests", session_id, group_jid=group,
                                participants=request.participants, approve=bool(request.approve)))
        method, takes_group, takes_community = _SIMPLE_OPERATIONS[operation]
        args = {"group_jid": group} if takes_group else {}
        if takes_community:
            args["community_jid"] = request.community_jid or ""
        return wire(engine(method, session_id, **args))


_ARG = {"subject": "subject", "description": "description", "announce": "announce", "locked": "locked",
        "join_approval": "enabled"}
# Operations that are one engine call answering its result as is: (method, takes the group,
# takes the community).
_SIMPLE_OPERATIONS: dict[str, tuple[str, bool, bool]] = {
    "remove_picture": ("remove_group_picture", True, False),
    "leave": ("leave_group", True, False),
    "join_requests": ("group_join_requests", True, False),
    "linked_groups": ("linked_groups", False, True),
    "link": ("link_group", True, True),
    "unlink": ("unlink_group", True, True),
}


# -- engine events → control-plane events ----------------------------------------------------

GROUP_ENGINE_EVENTS = (GroupJoined, GroupUpdated, GroupParticipantsChanged, GroupLeft)


def _member(participant: GroupParticipant | None, *, with_role: bool = True) -> GroupMember | None:
    if participant is None:
        return None
    return GroupMember(jid=participant.jid, phone=participant.phone, lid=participant.lid,
                       role=participant.role if with_role else None)


def group_event(envelope: dict[str, Any], event: Any) -> Event:
    """The control-plane event of an engine group event; `envelope` is the host's session fields."""
    if isinstance(event, GroupJoined):
        return GroupJoinedEvent(**envelope, group=Group.model_validate(wire(event.group)), by=_member(event.by),
                                reason=event.reason)
    if isinstance(event, GroupUpdated):
        return GroupUpdatedEvent(**envelope, group_jid=event.group_jid, changes=dict(event.changes),
                                 by=_member(event.by, with_role=False))
    if isinstance(event, GroupParticipantsChanged):
        members = [m for m in (_member(p, with_role=event.action in ("promote", "demote"))
                               for p in event.participants) if m is not None]
        return GroupParticipantsEvent(**envelope, group_jid=event.group_jid, action=event.action,
                                      participants=members, by=_member(event.by, with_role=False))
    if isinstance(event, GroupLeft):
        return GroupLeftEvent(**envelope, group_jid=event.group_jid, by=_member(event.by, with_role=False),
                              reason=event.reason)
    raise TypeError(f"not a group event: {type(event).__name__}")
