"""Groups and communities (spec §3.8): every call is a `GroupRequest` to the worker holding the
session, answered on a reply list through `engine_calls.EngineCalls`.

The session's joined-group list is kept from group events (ingestion) and from what these calls
learn; `?refresh=true` asks WhatsApp and replaces it. WhatsApp's refusals come back with their
own codes and map to HTTP here: a group the session is not in is a 404, not being an admin a
403, a full group a 409, a revoked invite a 410."""

from __future__ import annotations

import uuid
from typing import Any

from whatsam.adapters.joined_groups import JoinedGroups
from whatsam.contracts.commands import DevSimulateGroup, GroupRequest
from whatsam.contracts.groups import Group, GroupOperation, invite_code_of
from whatsam.domain.model import SessionCard
from whatsam.errors import AppError, Conflict, Forbidden, NotFound, Unprocessable, ValidationFailed
from whatsam.messaging import recipients
from whatsam.messaging.media import MediaStore
from whatsam.services.engine_calls import EngineCalls, new_reply_list
from whatsam.services.lifecycle import e164_digits


class InviteGone(AppError):
    status = 410
    code = "invite_revoked"


class WhatsAppFailed(AppError):
    status = 502
    code = "group_operation_failed"


# Group refusal codes → the error the API answers (on top of `engine_calls.COMMON_REFUSALS`).
_REFUSALS: dict[str, type[AppError]] = {
    "group_not_found": NotFound,
    "not_group_admin": Forbidden,
    "group_full": Conflict,
    "join_approval_required": Conflict,
    "invite_invalid": NotFound,
    "invite_revoked": InviteGone,
    "not_a_community": Unprocessable,
    "group_request_invalid": Unprocessable,
    "group_operation_failed": WhatsAppFailed,
}


def group_jid(raw: str) -> str:
    """A group id from the path: a ``…@g.us`` JID, or its digits; else a 400."""
    return recipients.jid_from_path(raw, "g.us", recipients.is_valid_group, what="group", code="invalid_group_id")


def participant_jids(raw: list[str]) -> list[str]:
    """Participants as JIDs, from E.164 numbers or phone/LID JIDs; duplicates once."""
    jids = [recipients.to_jid(item) for item in raw]
    if any(recipients.is_group(jid) for jid in jids):
        raise ValidationFailed("A participant is a person, not a group.", code="invalid_participant")
    return list(dict.fromkeys(jids))


def invite_code(invite: str) -> str:
    code = invite_code_of(invite)
    if code is None:
        raise ValidationFailed("Not an invite code or https://chat.whatsapp.com/ link.", code="invalid_invite",
                               details={"invite": invite[:100]})
    return code


class GroupService:
    def __init__(self, calls: EngineCalls, groups: JoinedGroups, media: MediaStore):
        self._calls = calls
        self._groups = groups
        self._media = media

    # -- groups -----------------------------------------------------------------------------

    def create(self, session_id: str, subject: str, participants: list[str], description: str | None = None,
               *, community: bool = False) -> dict[str, Any]:
        members = participant_jids(participants)
        created = Group.model_validate(self._ask(session_id, "create", subject=subject, participants=members,
                                                 description=description, community=community))
        self._groups.put(session_id, created)
        return created.model_dump(mode="json")

    def joined(self, session_id: str, *, refresh: bool) -> list[dict[str, Any]]:
        if refresh:
            groups = [Group.model_validate(item) for item in self._ask(session_id, "list")]
            self._groups.replace_all(session_id, groups)
        else:
            self._calls.card(session_id)
            groups = self._groups.groups(session_id)
        return [group.model_dump(mode="json") for group in groups]

    def info(self, session_id: str, group: str) -> dict[str, Any]:
        return self._learn(session_id, self._ask(session_id, "info", group_jid=group_jid(group)))

    def update(self, session_id: str, group: str, changes: dict[str, Any]) -> dict[str, Any]:
        jid = group_jid(group)
        return self._learn(session_id, self._ask(session_id, "update", group_jid=jid, **changes))

    def set_picture(self, session_id: str, group: str, jpeg: bytes) -> dict[str, Any]:
        jid = group_jid(group)
        card = self._calls.card(session_id)
        key = f"groups/{card.tenant_id}/{session_id}/{uuid.uuid4().hex}.jpg"
        self._media.put(key, jpeg, "image/jpeg")
        result: dict[str, Any] = self._ask(session_id, "set_picture", group_jid=jid, picture_key=key)
        return {"group": jid, **result}

    def remove_picture(self, session_id: str, group: str) -> None:
        self._ask(session_id, "remove_picture", group_jid=group_jid(group))

    def leave(self, session_id: str, group: str) -> None:
        jid = group_jid(group)
        self._ask(session_id, "leave", group_jid=jid)
        self._groups.forget(session_id, jid)

    def participants(self, session_id: str, group: str, action: str, participants: list[str]) -> dict[str, Any]:
        jid = group_jid(group)
        results = self._ask(session_id, "participants", group_jid=jid, action=action,
                            participants=participant_jids(participants))
        return {"group": jid, "action": action, "results": results}

    # -- invites and join requests ----------------------------------------------------------

    def invite_link(self, session_id: str, group: str, *, revoke: bool = False) -> dict[str, Any]:
        jid = group_jid(group)
        result: dict[str, Any] = self._ask(session_id, "revoke_invite" if revoke else "invite_link", group_jid=jid)
        return {"group": jid, **result}

    def preview(self, session_id: str, invite: str) -> dict[str, Any]:
        preview: dict[str, Any] = self._ask(session_id, "invite_preview", invite=invite_code(invite))
        return preview

    def join(self, session_id: str, invite: str) -> dict[str, Any]:
        joined = self._ask(session_id, "join", invite=invite_code(invite))
        return {"group": joined["jid"]}

    def join_requests(self, session_id: str, group: str) -> dict[str, Any]:
        jid = group_jid(group)
        return {"group": jid, "requests": self._ask(session_id, "join_requests", group_jid=jid)}

    def answer_join_requests(self, session_id: str, group: str, action: str,
                             participants: list[str]) -> dict[str, Any]:
        jid = group_jid(group)
        results = self._ask(session_id, "answer_join_requests", group_jid=jid, approve=action == "approve",
                            participants=participant_jids(participants))
        return {"group": jid, "action": action, "results": results}

    # -- communities ------------------------------------------------------------------------

    def linked_groups(self, session_id: str, community: str) -> dict[str, Any]:
        jid = group_jid(community)
        return {"community": jid, "groups": self._ask(session_id, "linked_groups", community_jid=jid)}

    def link(self, session_id: str, community: str, group: str, *, unlink: bool = False) -> dict[str, Any]:
        community_jid, jid = group_jid(community), group_jid(group)
        self._ask(session_id, "unlink" if unlink else "link", community_jid=community_jid, group_jid=jid)
        return {"community": community_jid, "group": jid, "linked": not unlink}

    # -- dev ----------------------------------------------------------------------------------

    def simulate(self, card: SessionCard, kind: str, *, phone: str, group: str | None = None,
                 subject: str | None = None, participants: list[str] | None = None, text: str | None = None) -> Any:
        """Dev only: someone else (`phone`) acts in one of the session's simulated groups."""
        card = self._calls.connected_card(card.session_id)
        reply_to = new_reply_list()
        return self._calls.request(card, DevSimulateGroup(
            session_id=card.session_id, tenant_id=card.tenant_id, kind=kind, reply_to=reply_to,
            group_jid=group_jid(group) if group else None, phone=e164_digits(phone), subject=subject,
            participants=[e164_digits(item) for item in participants or []], text=text), reply_to, _REFUSALS)

    # -- the round trip -----------------------------------------------------------------------

    def _ask(self, session_id: str, operation: GroupOperation, **fields: Any) -> Any:
        card = self._calls.connected_card(session_id)
        reply_to = new_reply_list()
        set_fields = {name: value for name, value in fields.items() if value is not None}
        return self._calls.request(card, GroupRequest(session_id=session_id, tenant_id=card.tenant_id,
                                                      operation=operation, reply_to=reply_to, **set_fields),
                                   reply_to, _REFUSALS)

    def _learn(self, session_id: str, answer: Any) -> dict[str, Any]:
        group = Group.model_validate(answer)
        self._groups.put(session_id, group)
        return group.model_dump(mode="json")
