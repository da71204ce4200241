"""What contacts do to this session's messages in the simulated WhatsApp (mixed into
`SimulatedClient`), for `POST /v1/dev/sessions/{id}/simulate`: vote in a poll it sent
(``poll.vote``), post a status (``status.post``), play a voice or video note (``message.played``).

A vote carries the SHA-256 of each chosen option, as WhatsApp's decrypted votes do (see
`neonize_votes`); the simulated WhatsApp checks the options against the poll while the poll is in
this process's memory (a session that moved to another worker checks only that it was a poll)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from whatsam.contracts.polls import option_hash
from worker_fleet.engines.base import EngineEvent, MessageReceived, Receipt, e164_digits, split_jid
from worker_fleet.engines.errors import EngineRefusedError
from worker_fleet.engines.outgoing import Audio, Outgoing, Poll
from worker_fleet.engines.outgoing_rules import STATUS_JID
from worker_fleet.engines.simulated_identity import simulated_lid
from worker_fleet.engines.simulated_store import LinkedDevice, SentRecord, SimulatedCredentialStore

_PHONE_SERVER = "s.whatsapp.net"


def _contact(phone: str) -> tuple[str, str]:
    digits = e164_digits(phone)
    return digits, f"{digits}@{_PHONE_SERVER}"


class SimulatedMessageEvents:
    _store: SimulatedCredentialStore

    if TYPE_CHECKING:  # provided by the client class this mixes into
        def _connected_device(self) -> LinkedDevice: ...
        def _push(self, event: EngineEvent) -> None: ...
        def _sent_in_memory(self, message_id: str) -> Outgoing | None: ...

    def _sent_record(self, message_id: str, kinds: Sequence[str], what: str) -> SentRecord:
        record = self._store.sent_message(message_id)
        if record is None or record.kind not in kinds:
            raise EngineRefusedError("message_not_found", f"this session sent no {what} {message_id}")
        return record

    async def dev_poll_vote(self, phone: str, message_id: str, options: list[str] | None = None) -> dict[str, Any]:
        """`phone` votes `options` (none: takes the vote back) in the poll `message_id` (WhatsApp's id)."""
        self._connected_device()
        chosen = list(dict.fromkeys(options or []))
        record = self._sent_record(message_id, ("poll",), "poll")
        poll = self._sent_in_memory(message_id)
        if isinstance(poll, Poll):
            unknown = [option for option in chosen if option not in poll.options]
            if unknown:
                raise EngineRefusedError("poll_option_unknown", f"the poll has no option {unknown[0]!r}")
            if len(chosen) > poll.selectable_count:
                raise EngineRefusedError("poll_too_many_options",
                                         f"the poll lets a voter choose at most {poll.selectable_count}")
        digits, voter = _contact(phone)
        group = split_jid(record.chat_jid)[1] == "g.us"
        vote = MessageReceived(
            message_id=_new_id(), chat_jid=record.chat_jid if group else voter, sender_jid=voter,
            sender_phone=digits, sender_lid=simulated_lid(digits), timestamp=datetime.now(UTC), is_from_me=False,
            is_group=group, kind="poll_vote", text=None,
            raw={"poll_vote": {"poll_id": message_id, "selected_hashes": [option_hash(o) for o in chosen],
                               "decrypted": True}})
        self._push(vote)
        return {"message_id": vote.message_id, "poll_id": message_id, "voter": voter, "options": chosen}

    async def dev_status_post(self, phone: str, text: str | None = None) -> dict[str, Any]:
        """The contact `phone` posts a text status, which this session sees."""
        self._connected_device()
        if not text:
            raise EngineRefusedError("engine_request_invalid", "a text status needs `text`")
        digits, author = _contact(phone)
        post = MessageReceived(
            message_id=_new_id(), chat_jid=STATUS_JID, sender_jid=author, sender_phone=digits,
            sender_lid=simulated_lid(digits), timestamp=datetime.now(UTC), is_from_me=False, is_group=False,
            kind="text", text=text, raw={"conversation": text})
        self._push(post)
        return {"message_id": post.message_id, "from": author, "text": text}

    async def dev_message_played(self, message_id: str, phone: str | None = None) -> dict[str, Any]:
        """The recipient (`phone`, for the record) plays the voice or video note `message_id`
        (WhatsApp's id) this session sent."""
        self._connected_device()
        record = self._sent_record(message_id, ("audio", "video"), "voice or video note")
        sent = self._sent_in_memory(message_id)
        if isinstance(sent, Audio) and not sent.voice_note:
            raise EngineRefusedError("not_playable", f"message {message_id} is audio, not a voice note")
        self._push(Receipt((message_id,), record.chat_jid, "played", datetime.now(UTC)))
        return {"message_id": message_id, "chat": record.chat_jid}


def _new_id() -> str:
    return "3A" + secrets.token_hex(9).upper()
