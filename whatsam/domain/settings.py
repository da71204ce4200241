"""Per-session settings (spec §3.10): what the session's worker does on its own, without being
asked each time. Read by the worker when it needs them (a call rings, history arrives), so a
change applies from the next such moment; `proxy` applies at the next connect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

HistorySync = Literal["none", "recent", "full"]
HISTORY_SYNC_MODES: tuple[str, ...] = get_args(HistorySync)
REJECT_MESSAGE_MAX = 1000


@dataclass(frozen=True)
class SessionSettings:
    # Reject incoming calls at once, and say `reject_message` (if any) to the caller.
    reject_calls: bool = False
    reject_message: str | None = None
    # What of the history WhatsApp sends when a phone links is kept (chats and messages).
    history_sync: HistorySync = "recent"
    # The session's proxy URL as shown (its password masked) and sealed (`services.session_proxy`).
    proxy: str | None = None
    proxy_sealed: str | None = None
