"""Translation between neonize's group protobufs and the engine's group types. Pure functions.

Facts about neonize 0.5.2 (whatsmeow) these rules rely on:
- ``GroupInfo.GroupCreated`` and ``GroupInfoEvent.Timestamp`` are seconds; a participant's
  ``JID`` is a phone JID or a LID depending on the group's addressing mode, and ``PhoneNumber`` /
  ``LID`` hold the other one when WhatsApp sent it;
- ``GroupInfoEvent`` bundles every change of one notification: new name, topic, locked, announce,
  deletion, (un)linked groups, a reset invite link, and who joined, left, was promoted or demoted;
  ``Leave`` naming this account means it was removed (``Sender`` set, not itself) or left;
- ``update_group_participants`` answers one ``GroupParticipant`` per requested JID with WhatsApp's
  status code in ``Error`` (0 = done) and, for 403, an ``AddRequest`` (an invite is needed);
- errors arrive as whatsmeow's texts (``"that group does not exist"``,
  ``"info query returned status 403: forbidden"``, …) in a `NeonizeError`.
"""

from __future__ import annotations

from typing import Any

from worker_fleet.engines.groups import (
    GroupEvent,
    GroupInfo,
    GroupJoined,
    GroupLeft,
    GroupParticipant,
    GroupParticipantsChanged,
    GroupRefusal,
    GroupRefusedError,
    GroupUpdated,
    JoinRequest,
    LinkedGroup,
    MembershipChange,
    ParticipantAction,
    ParticipantResult,
    ParticipantStatus,
)
from worker_fleet.engines.neonize_mapping import LID_SERVER, PHONE_SERVER, _is_set, _timestamp, jid_text

# whatsmeow error texts (lower-cased) → refusal code; the first match wins.
_REFUSALS: tuple[tuple[str, GroupRefusal], ...] = (
    ("invite link has been revoked", "invite_revoked"),
    ("status 410", "invite_revoked"),
    ("invite link is not valid", "invite_invalid"),
    ("status 406", "invite_invalid"),
    ("approval", "join_approval_required"),
    ("group does not exist", "group_not_found"),
    ("not participating in that group", "group_not_found"),
    ("status 404", "group_not_found"),
    ("item-not-found", "group_not_found"),
    ("permission to get the group's invite link", "not_group_admin"),
    ("status 401", "not_group_admin"),
    ("status 403", "not_group_admin"),
    ("forbidden", "not_group_admin"),
    ("not-authorized", "not_group_admin"),
    ("resource-constraint", "group_full"),
    ("status 500", "group_full"),
)


def group_refusal(operation: str, error: Exception) -> GroupRefusedError:
    text = str(error)
    lowered = text.lower()
    code: GroupRefusal = next((code for needle, code in _REFUSALS if needle in lowered), "group_operation_failed")
    return GroupRefusedError(code, f"{operation} failed: {text}")


def participant_from(jid: Any, *, phone_jid: Any | None = None, lid_jid: Any | None = None,
                     role: Any = "member") -> GroupParticipant:
    phone = lid = None
    for candidate in (jid, phone_jid, lid_jid):
        if candidate is None or not _is_set(candidate):
            continue
        if candidate.Server == PHONE_SERVER and phone is None:
            phone = candidate.User
        elif candidate.Server == LID_SERVER and lid is None:
            lid = jid_text(candidate)
    return GroupParticipant(jid_text(jid), phone, lid, role)


def _member_of(participant: Any) -> GroupParticipant:
    role = "superadmin" if participant.IsSuperAdmin else "admin" if participant.IsAdmin else "member"
    return participant_from(participant.JID, phone_jid=participant.PhoneNumber, lid_jid=participant.LID, role=role)


def group_info_from(info: Any) -> GroupInfo:
    topic = info.GroupTopic
    parent = info.GroupLinkedParent.LinkedParentJID
    return GroupInfo(
        jid=jid_text(info.JID),
        subject=info.GroupName.Name,
        description=None if topic.TopicDeleted or not topic.Topic else topic.Topic,
        owner_jid=jid_text(info.OwnerJID) if _is_set(info.OwnerJID) else None,
        created_at=_timestamp(info.GroupCreated) if info.GroupCreated else None,
        announce=info.GroupAnnounce.IsAnnounce,
        locked=info.GroupLocked.isLocked,
        join_approval=None,  # neonize 0.5.2's GroupInfo does not carry the approval mode
        is_community=info.GroupParent.IsParent,
        parent_jid=jid_text(parent) if _is_set(parent) else None,
        participants=tuple(_member_of(participant) for participant in info.Participants),
    )


_ADD_STATUS: dict[int, ParticipantStatus] = {
    401: "not_authorized", 404: "not_on_whatsapp", 408: "recently_left", 409: "already_in_group", 500: "group_full",
}
_CHANGE_STATUS: dict[int, ParticipantStatus] = {401: "not_authorized", 403: "not_authorized", 404: "not_in_group"}


def participant_results_from(action: ParticipantAction, answered: Any) -> list[ParticipantResult]:
    results = []
    for participant in answered:
        who = _member_of(participant)
        code = participant.Error
        status: ParticipantStatus
        if code in (0, 200):
            status = "ok"
        elif action == "add" and code == 403:
            status = "invite_required" if participant.AddRequest.Code else "not_authorized"
        else:
            status = (_ADD_STATUS if action == "add" else _CHANGE_STATUS).get(code, "failed")
        results.append(ParticipantResult(who.jid, who.phone, who.lid, status))
    return results


def join_request_from(request: Any) -> JoinRequest:
    who = participant_from(request.Participant)
    return JoinRequest(who.jid, who.phone, who.lid, _timestamp(request.TimeAt) if request.TimeAt else None)


def linked_group_from(target: Any) -> LinkedGroup:
    return LinkedGroup(jid_text(target.JID), target.GroupName.Name, target.GroupIsDefaultSub.IsDefaultSubGroup)


def group_joined_from(event: Any) -> GroupJoined:
    by = participant_from(event.Sender, phone_jid=event.SenderPN) if _is_set(event.Sender) else None
    return GroupJoined(group_info_from(event.GroupInfo), by=by, reason=event.Reason or event.Type or None)


def own_jids(own: Any | None) -> frozenset[str]:
    if own is None:
        return frozenset()
    return frozenset(jid_text(jid) for jid in (own.JID, own.LID) if _is_set(jid))


def group_events_from(event: Any, own: Any | None) -> list[GroupEvent]:
    """The engine events of one ``GroupInfoEvent`` (`own` is neonize's ``Device`` of this account)."""
    group = jid_text(event.JID)
    by = participant_from(event.Sender) if _is_set(event.Sender) else None
    mine = own_jids(own)
    events: list[GroupEvent] = []
    changes = _info_changes(event)
    if changes:
        events.append(GroupUpdated(group, changes, by=by))
    for field_name, action in (("Join", "join"), ("Leave", "leave"), ("Promote", "promote"), ("Demote", "demote")):
        jids = list(getattr(event, field_name))
        others = tuple(participant_from(jid) for jid in jids if jid_text(jid) not in mine)
        if others:
            membership: MembershipChange = action  # type: ignore[assignment]
            events.append(GroupParticipantsChanged(group, membership, others, by=by))
        if field_name == "Leave" and len(others) < len(jids):
            removed = by is not None and by.jid not in mine
            events.append(GroupLeft(group, by=by, reason="removed" if removed else "left"))
    if event.Delete.Deleted and not any(isinstance(item, GroupLeft) for item in events):
        events.append(GroupLeft(group, by=by, reason=event.Delete.DeletedReason or "deleted"))
    return events


def _info_changes(event: Any) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if event.HasField("Name"):
        changes["subject"] = event.Name.Name
    if event.HasField("Topic"):
        changes["description"] = None if event.Topic.TopicDeleted else event.Topic.Topic
    if event.HasField("Locked"):
        changes["locked"] = event.Locked.isLocked
    if event.HasField("Announce"):
        changes["announce"] = event.Announce.IsAnnounce
    if event.NewInviteLink:
        changes["invite_link_reset"] = True
    if event.HasField("Link") and _is_set(event.Link.Group.JID):
        changes["linked_group"] = jid_text(event.Link.Group.JID)
    if event.HasField("Unlink") and _is_set(event.Unlink.Group.JID):
        changes["unlinked_group"] = jid_text(event.Unlink.Group.JID)
    if event.Delete.Deleted:
        changes["deleted"] = True
    return changes
