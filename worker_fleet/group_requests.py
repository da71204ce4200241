"""Group calls on the worker: a `GroupRequest` (or the dev-only `DevSimulateGroup`) runs on the
session's engine and its outcome goes back on the command's reply list, as the control plane's
contact check does; and the engine's group events become control-plane events.

Every request is answered, so the API never waits out its timeout for an answer that is not
coming: a refusal carries WhatsApp's code (`GroupRefusedError`), a session whose engine is not
connected answers ``session_not_connected``, bad values the engine rejects
``group_request_invalid``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
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
from whatsam.contracts.groups import Group, GroupMember, GroupRequestResult
from whatsam.messaging.media import MediaStore
from worker_fleet.engines.groups import (
    GroupJoined,
    GroupLeft,
    GroupParticipant,
    GroupParticipantsChanged,
    GroupRefusedError,
    GroupUpdated,
)
from worker_fleet.supervisor import ShardGone, ShardOperationError

log = logging.getLogger("whatsam.groups")

Call = Callable[..., Any]

# Group calls wait on WhatsApp; the control plane gives up sooner (REPLY_TIMEOUT_SECONDS).
ENGINE_CALL_TIMEOUT = 30.0


def _wire(value: Any) -> Any:
    """Engine answers (dataclasses, lists of them) as JSON-safe values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _wire(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_wire(item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _group(info: Any) -> dict[str, Any]:
    return Group.model_validate(_wire(info)).model_dump(mode="json")


class GroupRequests:
    def __init__(self, call: Call, cache: SessionCache, media: MediaStore):
        self._call = call
        self._cache = cache
        self._media = media

    def handle(self, session_id: str, command: GroupRequest | DevSimulateGroup) -> None:
        try:
            if isinstance(command, DevSimulateGroup):
                result = self._engine("simulate_group", session_id, kind=command.kind, group_jid=command.group_jid,
                                      phone=command.phone, subject=command.subject,
                                      participants=command.participants, text=command.text)
            else:
                result = self._run(session_id, command)
            reply = GroupRequestResult(ok=True, result=result)
        except ShardOperationError as exc:
            reply = _refusal(exc)
        except (ShardGone, LookupError) as exc:
            reply = GroupRequestResult(ok=False, code="session_not_connected", error=str(exc))
        except TimeoutError:
            reply = GroupRequestResult(ok=False, code="engine_timeout", error="WhatsApp did not answer in time.")
        except Exception as exc:
            # Answered, not raised: a redelivered request would find its caller gone.
            log.exception("group request %s for %s failed", type(command).__name__, session_id)
            reply = GroupRequestResult(ok=False, code="group_operation_failed", error=type(exc).__name__)
        self._cache.push_reply(command.reply_to, reply.model_dump(mode="json"))

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
            return _wire(engine("update_group_participants", session_id, group_jid=group, action=request.action,
                                participants=request.participants))
        if operation in ("invite_link", "revoke_invite"):
            link = str(engine("group_invite_link", session_id, group_jid=group, revoke=operation == "revoke_invite"))
            return {"invite_link": link, "code": link.rsplit("/", 1)[-1]}
        if operation == "join":
            return {"jid": engine("join_group", session_id, code=request.invite or "")}
        if operation == "answer_join_requests":
            return _wire(engine("answer_join_requests", session_id, group_jid=group,
                                participants=request.participants, approve=bool(request.approve)))
        method, takes_group, takes_community = _SIMPLE_OPERATIONS[operation]
        args = {"group_jid": group} if takes_group else {}
        if takes_community:
            args["community_jid"] = request.community_jid or ""
        return _wire(engine(method, session_id, **args))


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


def _refusal(exc: ShardOperationError) -> GroupRequestResult:
    if exc.kind == "GroupRefusedError":
        parsed = GroupRefusedError.parse(exc.detail)
        if parsed is not None:
            return GroupRequestResult(ok=False, code=parsed[0], error=parsed[1])
    if exc.kind == "EngineNotConnectedError":
        return GroupRequestResult(ok=False, code="session_not_connected", error=exc.detail)
    if exc.kind == "EngineError":
        return GroupRequestResult(ok=False, code="group_request_invalid", error=exc.detail)
    log.warning("group request failed in the engine: %s", exc)
    return GroupRequestResult(ok=False, code="group_operation_failed", error=exc.detail)


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
        return GroupJoinedEvent(**envelope, group=Group.model_validate(_wire(event.group)), by=_member(event.by),
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
