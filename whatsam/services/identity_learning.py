"""Ingestion's part of the identity map (spec §3.9): every pair an event names is learnt, and a
message (or receipt) whose sender the worker could name by one identity only gets the other from
the map, so the stored message and its webhook carry both wherever the session knows them.

Where a sender's pair comes from, first to last: the message itself (WhatsApp's `SenderAlt`), the
engine's own LID store (the worker asks it at receive time, `worker_fleet.inbound`), and this map
(pairs learnt from group lists, lookups through the API and history sync)."""

from __future__ import annotations

from whatsam.adapters.identity_map import Identity, IdentityMap
from whatsam.contracts.events import GroupEvent, GroupJoinedEvent, MessageReceivedEvent, MessageStatusEvent
from whatsam.contracts.groups import GroupMember


class IdentityLearning:
    def __init__(self, identities: IdentityMap):
        self._identities = identities

    def received(self, event: MessageReceivedEvent) -> MessageReceivedEvent:
        """`event` with the sender's both identities where known; what it teaches is learnt."""
        known = self._completed(event.session_id, event.sender_phone, event.sender_lid)
        if (known.phone, known.lid) == (event.sender_phone, event.sender_lid):
            return event
        return event.model_copy(update={"sender_phone": known.phone, "sender_lid": known.lid})

    def receipt(self, event: MessageStatusEvent) -> MessageStatusEvent:
        """A receipt with the recipient's both identities where known; what it teaches is learnt."""
        known = self._completed(event.session_id, event.phone, event.lid)
        if (known.phone, known.lid) == (event.phone, event.lid):
            return event
        return event.model_copy(update={"phone": known.phone, "lid": known.lid})

    def _completed(self, session_id: str, phone: str | None, lid: str | None) -> Identity:
        """Learn a pair; complete a single identity from the map, or remember it as it is."""
        if phone and lid:
            self._identities.learn(session_id, [(phone, lid)])
            return Identity(phone, lid)
        if not phone and not lid:
            return Identity(phone, lid)
        known = self._identities.complete(session_id, phone, lid)
        if not (known.phone and known.lid):
            self._identities.note(session_id, phone=phone, lid=lid)
        return known

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
