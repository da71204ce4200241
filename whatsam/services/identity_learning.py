"""Ingestion's part of the identity map (spec §3.9): every pair an event names is learnt, and a
message whose sender the worker could name by one identity only gets the other from the map, so
the stored message and its `message.received` webhook carry both wherever the session knows them.

Where a sender's pair comes from, first to last: the message itself (WhatsApp's `SenderAlt`), the
engine's own LID store (the worker asks it at receive time, `worker_fleet.inbound`), and this map
(pairs learnt from group lists, lookups through the API and history sync)."""

from __future__ import annotations

from whatsam.adapters.identity_map import IdentityMap
from whatsam.contracts.events import GroupEvent, GroupJoinedEvent, MessageReceivedEvent
from whatsam.contracts.groups import GroupMember


class IdentityLearning:
    def __init__(self, identities: IdentityMap):
        self._identities = identities

    def received(self, event: MessageReceivedEvent) -> MessageReceivedEvent:
        """`event` with the sender's both identities where known; what it teaches is learnt."""
        session_id, phone, lid = event.session_id, event.sender_phone, event.sender_lid
        if phone and lid:
            self._identities.learn(session_id, [(phone, lid)])
            return event
        if not phone and not lid:
            return event
        known = self._identities.complete(session_id, phone, lid)
        if known.phone and known.lid:
            return event.model_copy(update={"sender_phone": known.phone, "sender_lid": known.lid})
        self._identities.note(session_id, phone=phone, lid=lid)
        return event

    def group(self, event: GroupEvent) -> None:
        """The pairs of a group event's participants and actor."""
        people: list[GroupMember] = []
        if isinstance(event, GroupJoinedEvent):
            people.extend(event.group.participants)
        people.extend(getattr(event, "participants", ()))
        if event.by is not None:
            people.append(event.by)
        pairs = [(person.phone, person.lid) for person in people if person.phone and person.lid]
        if pairs:
            self._identities.learn(event.session_id, pairs)
