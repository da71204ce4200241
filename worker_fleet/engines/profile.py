"""Profile, presence, calls, blocklist and privacy of an engine client (spec §3.10): the
operations the control plane runs through an `EngineCall` and the events an engine reports.

Conventions as in `base`: JIDs are strings; refusals are `EngineRefusedError` codes
(``call_not_found``, ``no_profile_picture``, ``not_supported_by_engine``)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from whatsam.contracts.profile import OwnPresence as OwnPresence
from whatsam.contracts.profile import TypingState as TypingState
from worker_fleet.engines.errors import EngineRefusedError

ContactPresence = OwnPresence

# Calls an engine remembers (to reject them by id) at most, and for how long.
CALLS_REMEMBERED = 256
CALL_MEMORY_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    name: str | None
    about: str | None
    picture_id: str | None = None


@dataclass(frozen=True, slots=True)
class PictureInfo:
    url: str
    id: str


@dataclass(frozen=True, slots=True)
class PresenceUpdated:
    """A contact this session subscribed to came online or went away."""

    chat_jid: str
    state: ContactPresence
    last_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChatPresenceChanged:
    """Someone is typing, recording or stopped, in `chat_jid`."""

    chat_jid: str
    participant_jid: str
    state: TypingState


@dataclass(frozen=True, slots=True)
class CallOffered:
    call_id: str
    from_jid: str
    video: bool
    group: bool


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: str
    from_jid: str
    reason: str | None = None


ContactEvent = PresenceUpdated | ChatPresenceChanged | CallOffered | CallEnded
PROFILE_ENGINE_EVENTS = (PresenceUpdated, ChatPresenceChanged, CallOffered, CallEnded)


class OfferedCalls:
    """The callers of calls offered lately, by call id: WhatsApp rejects a call by id *and*
    caller, and only on the connection that received the offer, so the engine client that saw
    the offer remembers it (bounded, for `CALL_MEMORY_SECONDS`). A call this session rejected
    is reported ended by the engine itself; WhatsApp's own terminate of it is then no news."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._calls: OrderedDict[str, tuple[float, str, bool]] = OrderedDict()

    def offered(self, call_id: str, caller_jid: str) -> None:
        self._remember(call_id, caller_jid, rejected=False)

    def caller(self, call_id: str) -> str:
        """The caller of a call still ringing; else refused ``call_not_found``."""
        entry = self._calls.get(call_id)
        if entry is None or entry[0] < self._clock() or entry[2]:
            raise EngineRefusedError("call_not_found", f"no call {call_id!r} is ringing on this session")
        return entry[1]

    def rejected(self, call_id: str) -> None:
        self._remember(call_id, self.caller(call_id), rejected=True)

    def ended(self, call_id: str) -> bool:
        """Forget the call; False when this session had rejected it (and said so already)."""
        entry = self._calls.pop(call_id, None)
        return entry is None or not entry[2]

    def _remember(self, call_id: str, caller_jid: str, *, rejected: bool) -> None:
        self._calls[call_id] = (self._clock() + CALL_MEMORY_SECONDS, caller_jid, rejected)
        self._calls.move_to_end(call_id)
        while len(self._calls) > CALLS_REMEMBERED:
            self._calls.popitem(last=False)
