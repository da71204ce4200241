"""The groups each session is in, kept in Redis from group events and refreshed from WhatsApp.

One hash per session: group JID → ``{"group": Group, "seq": N}``, where N is the sequence number
of the last event applied to that group. An event older than what a group has seen changes
nothing, so a redelivered or reordered event never rolls a group back; a refresh from WhatsApp
replaces the whole list with sequence 0, and every later event applies on top of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis

from whatsam.contracts.events import (
    GroupEvent,
    GroupJoinedEvent,
    GroupLeftEvent,
    GroupParticipantsEvent,
    GroupUpdatedEvent,
)
from whatsam.contracts.groups import Group

_PREFIX = "whatsam:groups"
_INFO_FIELDS = frozenset({"subject", "description", "announce", "locked", "join_approval"})
_ROLE_AFTER = {"promote": "admin", "demote": "member"}


def _key(session_id: str) -> str:
    return f"{_PREFIX}:{session_id}"


class JoinedGroups:
    def __init__(self, client: redis.Redis):
        self._redis = client

    def groups(self, session_id: str) -> list[Group]:
        stored = self._redis.hvals(_key(session_id))
        groups = [_group_of(json.loads(raw)) for raw in stored]
        return sorted((group for group in groups if group is not None), key=lambda group: group.jid)

    def get(self, session_id: str, group_jid: str) -> Group | None:
        raw = self._redis.hget(_key(session_id), group_jid)
        return _group_of(json.loads(raw)) if raw else None

    def replace_all(self, session_id: str, groups: list[Group]) -> None:
        pipe = self._redis.pipeline()
        pipe.delete(_key(session_id))
        for group in groups:
            pipe.hset(_key(session_id), group.jid, _entry(group, 0))
        pipe.execute()

    def put(self, session_id: str, group: Group) -> None:
        """A group as an API call just learnt it (created, read, joined): newer than any event so far."""
        self._update(session_id, group.jid, None, lambda _: group)

    def forget(self, session_id: str, group_jid: str) -> None:
        self._redis.hdel(_key(session_id), group_jid)

    def forget_session(self, session_id: str) -> None:
        """The whole list: the session was deleted or unlinked."""
        self._redis.delete(_key(session_id))

    def apply(self, event: GroupEvent) -> None:
        """Fold one group event into the session's list (idempotent; stale events change nothing)."""
        if isinstance(event, GroupJoinedEvent):
            self._update(event.session_id, event.group.jid, event.seq, lambda _: event.group)
        elif isinstance(event, GroupLeftEvent):
            self._update(event.session_id, event.group_jid, event.seq, lambda _: None)
        elif isinstance(event, GroupUpdatedEvent):
            self._update(event.session_id, event.group_jid, event.seq, lambda group: _updated(group, event))
            for key, parent in (("linked_group", event.group_jid), ("unlinked_group", None)):
                if isinstance(event.changes.get(key), str):
                    self._update(event.session_id, event.changes[key], event.seq,
                                 lambda group, parent=parent: _linked(group, parent))  # type: ignore[misc]
        elif isinstance(event, GroupParticipantsEvent):
            self._update(event.session_id, event.group_jid, event.seq, lambda group: _with_members(group, event))

    def _update(self, session_id: str, group_jid: str, seq: int | None,
                change: Callable[[Group | None], Group | None]) -> None:
        """Apply `change` to one group atomically; `seq` None: an API answer, always applied."""
        key = _key(session_id)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.hget(key, group_jid)
                    entry: dict[str, Any] | None = json.loads(raw) if raw else None
                    if seq is not None and entry is not None and entry["seq"] >= seq:
                        pipe.unwatch()
                        return
                    after = change(_group_of(entry) if entry else None)
                    stored_seq = seq if seq is not None else (entry["seq"] if entry else 0)
                    pipe.multi()
                    if after is None and seq is None:
                        pipe.hdel(key, group_jid)
                    elif after is None:
                        # Remember that the group is gone as of `seq`, so an older join cannot revive it.
                        pipe.hset(key, group_jid, json.dumps({"group": None, "seq": seq}))
                    else:
                        pipe.hset(key, group_jid, _entry(after, stored_seq))
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue


def _group_of(entry: dict[str, Any]) -> Group | None:
    return Group.model_validate(entry["group"]) if entry["group"] is not None else None


def _entry(group: Group, seq: int) -> str:
    return json.dumps({"group": group.model_dump(mode="json"), "seq": seq})


def _updated(group: Group | None, event: GroupUpdatedEvent) -> Group | None:
    if group is None or event.changes.get("deleted"):
        return None
    changes = {key: value for key, value in event.changes.items() if key in _INFO_FIELDS}
    return group.model_copy(update=changes)


def _linked(group: Group | None, parent: str | None) -> Group | None:
    return None if group is None else group.model_copy(update={"parent_jid": parent})


def _with_members(group: Group | None, event: GroupParticipantsEvent) -> Group | None:
    if group is None:
        return None
    members = {member.jid: member for member in group.participants}
    for person in event.participants:
        if event.action == "join":
            members.setdefault(person.jid, person.model_copy(update={"role": "member"}))
        elif event.action == "leave":
            members.pop(person.jid, None)
        elif person.jid in members and members[person.jid].role != "superadmin":
            members[person.jid] = members[person.jid].model_copy(update={"role": _ROLE_AFTER[event.action]})
    return group.model_copy(update={"participants": list(members.values())})
