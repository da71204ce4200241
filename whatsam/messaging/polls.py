"""Poll votes: a vote names the chosen options by hash (`contracts.polls.option_hash`); the poll's
message record keeps its options (a poll this session sent: its payload; one it received: its
details), so ingestion puts the option names into the `message.received` event of the vote and
records each voter's latest choice on the poll's record. `tally` counts them for
GET /v1/messages/{id}/votes."""

from __future__ import annotations

from typing import Any

from whatsam.adapters.messages import MessageRepository
from whatsam.contracts.events import MessageReceivedEvent
from whatsam.contracts.polls import option_hash
from whatsam.errors import Unprocessable
from whatsam.messaging.record import MessageRecord

USER_SERVER = "s.whatsapp.net"


def poll_of(record: MessageRecord) -> dict[str, Any] | None:
    """{name, options, selectable_count} of a poll message, sent or received; None for other messages."""
    if record.type != "poll":
        return None
    poll = record.payload.get("poll") if record.direction == "out" else (record.payload.get("details") or {}).get(
        "poll")
    return poll if isinstance(poll, dict) else None


def voter_of(event: MessageReceivedEvent) -> str:
    """One key per person: the phone JID where known (a voter may write as a LID or a phone)."""
    return f"{event.sender_phone}@{USER_SERVER}" if event.sender_phone else event.sender_jid


class PollVotes:
    def __init__(self, messages: MessageRepository):
        self._messages = messages

    def resolve(self, event: MessageReceivedEvent) -> tuple[MessageReceivedEvent, MessageRecord | None]:
        """The vote with `details.poll_vote.options` (the chosen names) and `poll_message_id`, and
        the poll's record; the event unchanged (and None) for a poll this session does not know."""
        vote = event.details.get("poll_vote") or {}
        poll_record = self._messages.find_by_wa_id(event.session_id, str(vote.get("poll_id") or ""))
        poll = poll_of(poll_record) if poll_record is not None else None
        if poll_record is None or poll is None or vote.get("decrypted") is False:
            return event, None
        names = {option_hash(name): name for name in poll.get("options", [])}
        chosen = [names[digest] for digest in vote.get("selected_hashes", []) if digest in names]
        details = {**event.details, "poll_vote": {**vote, "poll_message_id": poll_record.message_id,
                                                   "options": chosen}}
        return event.model_copy(update={"details": details}), poll_record

    def record(self, event: MessageReceivedEvent, poll_record: MessageRecord) -> None:
        """Keep the voter's latest choice on the poll (idempotent: a redelivered vote changes nothing)."""
        options = list(event.details["poll_vote"]["options"])
        self._messages.record_vote(poll_record, voter_of(event), options, event.timestamp)


def tally(record: MessageRecord) -> dict[str, Any]:
    """Per option of the poll `record`: how many voted for it and who; a 422 for another message."""
    poll = poll_of(record)
    if poll is None:
        raise Unprocessable("This message is not a poll.", code="not_a_poll", details={"message_id": record.message_id})
    voters: dict[str, list[str]] = {name: [] for name in poll.get("options", [])}
    for voter, vote in sorted(record.poll_votes.items()):
        for name in vote.get("options", []):
            if name in voters:
                voters[name].append(voter)
    return {"message_id": record.message_id, "name": poll.get("name"),
            "selectable_count": int(poll.get("selectable_count", 1)),
            "options": [{"name": name, "count": len(who), "voters": who} for name, who in voters.items()],
            "voters": sum(1 for vote in record.poll_votes.values() if vote.get("options"))}
