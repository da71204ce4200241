"""Groups on the wire: the group and member shapes that group events, worker replies and the
HTTP API share, and the operations a `GroupRequest` command can ask of the session's worker."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from whatsam.contracts.base import Message

ParticipantRole = Literal["member", "admin", "superadmin"]
ParticipantAction = Literal["add", "remove", "promote", "demote"]

GroupOperation = Literal[
    "create", "list", "info", "update", "set_picture", "remove_picture", "leave", "participants",
    "invite_link", "revoke_invite", "invite_preview", "join", "join_requests", "answer_join_requests",
    "linked_groups", "link", "unlink",
]


INVITE_LINK_PREFIX = "https://chat.whatsapp.com/"
_INVITE_PREFIXES = (INVITE_LINK_PREFIX, "http://chat.whatsapp.com/", "chat.whatsapp.com/")
INVITE_CODE_MAX = 64


def invite_code_of(invite: str) -> str | None:
    """The code of an invite given as a code or a ``https://chat.whatsapp.com/CODE`` link; None
    when it is neither."""
    text = invite.strip()
    for prefix in _INVITE_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    code = text.split("?", 1)[0].strip("/")
    if not code or not code.isascii() or not code.isalnum() or len(code) > INVITE_CODE_MAX:
        return None
    return code


class GroupMember(Message):
    """A participant: the JID the group addresses them by, with phone (E.164 digits) and LID
    wherever WhatsApp told them; `role` is None where it does not apply (an event's actor)."""

    jid: str
    phone: str | None = None
    lid: str | None = None
    role: ParticipantRole | None = None


class Group(Message):
    jid: str
    subject: str
    description: str | None = None
    owner_jid: str | None = None
    created_at: datetime | None = None
    announce: bool = False
    locked: bool = False
    join_approval: bool | None = None
    is_community: bool = False
    parent_jid: str | None = None
    participants: list[GroupMember] = []


class ParticipantOutcome(Message):
    jid: str
    phone: str | None = None
    lid: str | None = None
    status: str
